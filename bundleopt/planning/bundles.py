"""Stage 3 of the planner: bundle candidates mined from the baskets (FP-growth, lift), and
the choice data grouped by menu per segment built with them (stage 4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from bundleopt.planning.config import PlanConfig

__all__ = ["ChoiceCounts", "build_choices", "mine_candidates"]


def mine_candidates(tx: pd.DataFrame, catalog: pd.DataFrame, config: PlanConfig) -> pd.DataFrame:
    """Bundle candidates (:func:`bundleopt.candidates.mine_bundles`), one row per bundle id."""
    from bundleopt.candidates import mine_bundles

    cands = mine_bundles(tx, catalog, min_support=config.min_support, min_lift=config.min_lift,
                         max_size=config.max_bundle_size, max_candidates=config.max_candidates)
    return cands.drop_duplicates("bundle_id").reset_index(drop=True)


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
