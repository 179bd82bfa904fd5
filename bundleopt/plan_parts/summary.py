"""The summary a shop owner reads first: what to change, and the assumptions behind it.

* :func:`assumptions`: ``(item, value)`` pairs: the data window, the purchase share
  (or visits), what a unit is, where costs come from, the price ladder and the
  owner's controls, segments and the privacy floor.
* :func:`top_changes`: the plan's changes against the status quo, one row per
  (menu, offer), largest first: products taken off sale, prices moved, bundles added.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bundleopt.scenario import NOT_OFFERED

__all__ = ["assumptions", "top_changes"]


def assumptions(plan: Any) -> list[tuple[str, str]]:
    """What the figures assume, in words (module docstring)."""
    st, summ = plan.settings, plan.data_summary
    lad = st.get("ladder") or []
    share = st.get("purchase_share")
    rows = [
        ("data window", f"{summ['first_day']} to {summ['last_day']}: {summ['transaction_rows']:,} lines, "
                        f"{summ['customers']:,} customers, {summ['products']} products"),
        ("no-purchase", "observed visits (sessions)" if st.get("sessions") else
         f"assumed: {share:.0%} of shop visits end in a purchase (purchase_share); profits scale with it"
         if share is not None else "unknown"),
        ("what a unit is", "one purchase occasion: an order line of a product (its quantity is not "
                           "modelled), a bundle counts once; profits are per period as long as the data's"),
        ("cost", "the catalog's unit_cost per unit; a product whose list price does not cover it loses "
                 "money on every sale"),
        ("prices", f"{min(lad):g} to {max(lad):g} x list price ({len(lad)} levels)" if lad else "?"),
    ]
    if st.get("max_price_change") is not None:
        rows.append(("maximum price change", f"{st['max_price_change']} of the list price"))
    if st.get("price_points") is not None:
        rows.append(("price points", "prices end in .99" if st["price_points"] == ".99"
                     else f"multiples of {st['price_points']:g}"))
    if st.get("keep_on_sale"):
        rows.append(("kept on sale", ", ".join(map(str, st["keep_on_sale"][:10]))
                     + (" ..." if len(st["keep_on_sale"]) > 10 else "")))
    rows.append(("segments", f"{summ['segments']}, one choice model each; menus "
                             f"{'personalised per segment' if st.get('personalised') else 'the same for all'}"))
    if st.get("personalised"):
        rows.append(("privacy", f"no personalised menu for a group of fewer than "
                                f"{st.get('min_segment_size', 50)} customers (smaller segments merged); "
                                "customer ids are written only as keyed pseudonyms"))
    rows.append(("status quo", "every product at its list price, no bundle deal, one menu for all"))
    return rows


def top_changes(plan: Any, k: int = 15) -> pd.DataFrame:
    """Changes against the status quo, largest expected effect first (at most ``k`` rows).

    Columns ``menu``, ``offer``, ``name``, ``change`` (``"stop selling"``, ``"price +10%"``,
    ``"new bundle"``), ``list_price``, ``new_price`` (NaN when taken off sale),
    ``contribution``: the offer's expected profit on that menu in the plan, or, for an
    offer taken off sale, in the status quo (negative: it was losing money). Sorted
    by its size.
    """
    from bundleopt.optimize import evaluate

    sc = plan.scenario
    levels = plan.solution.decision.levels
    sq = sc.status_quo().levels[0]
    list_p = sc.list_prices()
    names = dict(zip(plan.table["offer"], plan.table["name"], strict=False)) if "name" in plan.table else {}
    why = plan.offer_reasons
    sq_ev = evaluate(sc, sc.status_quo())
    menu_of_seg = np.arange(sc.n_segments) if sc.personalised else np.zeros(sc.n_segments, int)
    rows = []
    for g in range(levels.shape[0]):
        menu = sc.segment_ids[g] if sc.personalised else "all"
        for o in range(sc.n_offers):
            now, before = int(levels[g, o]), int(sq[o])
            if now == before:
                continue
            oid = sc.offer_ids[o]
            effect = np.nan
            if why is not None:
                hit = why[(why["menu"] == menu) & (why["offer"] == oid)]
                if len(hit):
                    effect = float(hit["contribution"].iloc[0])
            if now == NOT_OFFERED:
                change, price = "stop selling", np.nan
                segs = menu_of_seg == g
                effect = sc.market_size * float(sc.weights[segs] @ sq_ev.probabilities[segs, o]) * (
                    float(list_p[o]) - float(sc.costs[o]))
            elif before == NOT_OFFERED:
                change, price = "new bundle" if sc.is_bundle[o] else "start selling", float(sc.prices[o, now])
            else:
                price = float(sc.prices[o, now])
                change = f"price {price / list_p[o] - 1:+.0%}"
            rows.append({"menu": menu, "offer": oid, "name": names.get(oid, str(oid)), "change": change,
                         "list_price": float(list_p[o]), "new_price": price, "contribution": effect})
    out = pd.DataFrame(rows, columns=["menu", "offer", "name", "change", "list_price", "new_price",
                                      "contribution"])
    order = out["contribution"].abs().fillna(0).sort_values(ascending=False, kind="stable").index
    return out.loc[order].head(k).reset_index(drop=True)
