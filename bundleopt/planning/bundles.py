"""Stage 3 of the planner: bundle candidates mined from the baskets (FP-growth, lift), and
the choice data grouped by menu per segment built with them (stage 4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from bundleopt.planning.config import PlanConfig

__all__ = ["ChoiceCounts", "build_choices", "mine_candidates"]


def mine_candidates(tx: pd.DataFrame, catalog: pd.DataFrame, config: PlanConfig) -> pd.DataFrame:
    """Bundle candidates (:func:`bundleopt.candidates.mine_bundles`), one row per bundle id, best
    lift first, at most ``config.max_candidates``.

    The support threshold is ``config.min_support`` or, when None, chosen from the data
    (:func:`bundleopt.candidates.choose_min_support`). How it was chosen and how many pairs
    reached it, passed the lift filter and were kept is in ``.attrs["mining"]`` (a dict with
    ``text``, the sentence the report shows).
    """
    from bundleopt.candidates import choose_min_support, mine_bundles

    choice = choose_min_support(tx, min_support=config.min_support, top_pairs=config.top_pairs,
                                min_count=config.min_pair_count)
    # a hair below count / n_baskets: a pair in exactly min_count baskets is in, whatever the rounding;
    # fewer baskets than min_count (a tiny shop): no pair can reach it, and a share is at most 1
    found = mine_bundles(tx, catalog, min_support=min(choice.min_support, 1.0) * (1 - 1e-9),
                         min_lift=config.min_lift, max_size=config.max_bundle_size)
    found = found[found["count"] >= choice.min_count].drop_duplicates("bundle_id")
    cands = (found if config.max_candidates is None else found.head(config.max_candidates)).reset_index(drop=True)
    text = (f"Bundle candidates: {choice.rule}; {len(found):,} with lift >= {config.min_lift:g}; "
            + (f"the {len(cands):,} of highest lift kept" if len(cands) < len(found) else f"all {len(cands):,} kept")
            + ".")
    cands.attrs["mining"] = {"text": text, "min_support": choice.min_support, "min_count": choice.min_count,
                             "n_baskets": choice.n_baskets, "pairs_seen": choice.pairs_seen,
                             "pairs_considered": choice.pairs_considered, "passed_lift": len(found),
                             "kept": len(cands), "chosen_from_data": config.min_support is None}
    return cands


@dataclass(frozen=True)
class ChoiceCounts:
    """Menu-grouped choice data per segment and its counts.

    ``grouped``: :func:`bundleopt.data.choice_data.build_menu_choices` output;
    ``occasions`` / ``purchases``: per segment id (all of ``segment_ids``);
    ``bundles_in_data``: the candidates whose co-purchases are choices (``"copurchase"``),
    else None; ``notes``: occasions left out."""

    grouped: Any
    occasions: pd.Series
    purchases: pd.Series
    bundles_in_data: pd.DataFrame | None
    notes: tuple[str, ...]


def build_choices(tx: pd.DataFrame, catalog: pd.DataFrame, sessions: pd.DataFrame | None,
                  candidates: pd.DataFrame, assignments: pd.Series, segment_ids: list[int],
                  config: PlanConfig) -> ChoiceCounts:
    """Choice occasions grouped by menu, per segment; a segment with fewer than
    ``config.min_occasions`` purchase occasions is an error asking for fewer segments."""
    from bundleopt.data.choice_data import build_menu_choices

    bundles = candidates if config.bundle_utility == "copurchase" and len(candidates) else None
    grouped = build_menu_choices(tx, catalog, sessions=sessions, purchase_share=config.purchase_share,
                                 bundles=bundles, segments=assignments, random_state=config.random_state)
    notes = []
    if grouped.n_unsegmented:
        notes.append(f"{grouped.n_unsegmented} occasion(s) of customers without a purchase (no segment) "
                     "left out")
    occ = grouped.occasions.reindex(segment_ids, fill_value=0).astype(int)
    purchases = grouped.purchases.reindex(segment_ids, fill_value=0).astype(int)
    small = [s for s in segment_ids if purchases[s] < config.min_occasions]
    if small:
        raise ValueError(
            f"segment(s) {small} have fewer than {config.min_occasions} purchase occasions "
            f"({purchases[small].tolist()}); use fewer segments (e.g. --segments "
            f"{max(1, len(segment_ids) - len(small))}) or more data")
    return ChoiceCounts(grouped, occ, purchases, bundles, tuple(notes))
