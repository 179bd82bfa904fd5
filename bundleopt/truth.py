"""Score a plan under the TRUE choice model of a synthetic market (:func:`make_market`).

A :class:`~bundleopt.pipeline.Plan` is optimised under *fitted* models and
*estimated* segments; this module asks what it would earn in the market that
generated the data. Each customer ``i`` of true segment ``s`` gets the menu of
their estimated segment ``g(i)`` (customers the plan never segmented, because
they never bought, get the menu of segment 0, the largest), and on each visit
picks one alternative by the market's MNL (:func:`make_market`, step 5):

* single ``j`` at price ``p``: ``u = a[s, j] + beta_s p``;
* bundle ``B`` offered at ``p``: ``u = sum_{j in B} a[s, j] - (|B| - 1) alpha_s
  + sum_{planted pairs in B} gamma + beta_s p`` (the market's rule for a planted
  pair, extended with ``gamma = 0`` to other sets);
* a planted pair whose two components are on the menu can always be bought
  together at the sum of their prices (the shop cannot forbid co-purchase); when the
  menu also offers that pair as a bundle, the cheaper of the two counts;
* no purchase: ``u = 0``.

With ``P`` the resulting MNL probabilities, the expected profit is

    profit = M * sum_{(g, s)} w_{g,s} sum_{alternatives a} (p_a - c_a) P_{g,s}(a),

with ``w_{g,s}`` the share of all visits (sessions) made by customers of estimated
segment g and true segment s, and ``M`` the number of visits, the same scale as
``Plan.profit`` (occasions of the data period). The market's "extra items"
(unrelated second products after a purchase) are outside the choice and left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bundleopt.scenario import NOT_OFFERED, Decision

__all__ = ["shop_decision_truth", "true_profit", "truth_comparison"]


def _cells(plan: Any, market: Any) -> pd.DataFrame:
    """Visits per (estimated segment g, true segment s)."""
    visits = market.sessions.groupby("customer_id").size()
    cust = market.customers.set_index("customer_id")
    est = plan.assignments.copy()
    est.index = est.index.astype(str)
    frame = pd.DataFrame({
        "g": est.reindex(cust.index.astype(str)).fillna(0).astype(int).to_numpy(),
        "s": cust["segment"].to_numpy(dtype=int),
        "n": visits.reindex(cust.index).fillna(0).to_numpy(dtype=float),
    })
    return frame.groupby(["g", "s"], as_index=False)["n"].sum()


def _cell_profit(menu_prices: dict[str, float], costs: dict[str, float],
                 components: dict[str, tuple[str, ...]], s: int, truth: Any) -> float:
    """Expected profit per visit of true segment ``s`` facing ``menu_prices``."""
    asc = truth.asc.loc[s]
    beta, alpha = float(truth.beta[s]), float(truth.alpha[s])
    gamma = {tuple(sorted(k)): float(v) for k, v in truth.synergy.items()}
    alts: dict[tuple[str, ...], tuple[float, float]] = {}  # components -> (price, cost)
    for oid, p in menu_prices.items():
        comp = tuple(sorted(components[oid]))
        if comp not in alts or p < alts[comp][0]:
            alts[comp] = (p, costs[oid])
    singles = {c[0]: alts[c] for c in list(alts) if len(c) == 1}
    for pair in gamma:
        if pair[0] in singles and pair[1] in singles:
            p = singles[pair[0]][0] + singles[pair[1]][0]
            if pair not in alts or p < alts[pair][0]:
                alts[pair] = (p, singles[pair[0]][1] + singles[pair[1]][1])
    if not alts:
        return 0.0
    utils, margins = [], []
    for comp, (p, c) in alts.items():
        u = float(sum(asc[j] for j in comp)) - (len(comp) - 1) * alpha + beta * p
        u += sum(g for pair, g in gamma.items() if set(pair) <= set(comp))
        utils.append(u)
        margins.append(p - c)
    u = np.array(utils)
    top = max(0.0, float(u.max()))
    ex = np.exp(u - top)
    probs = ex / (np.exp(-top) + ex.sum())
    return float(probs @ np.array(margins))


def true_profit(plan: Any, market: Any, decision: Decision | None = None) -> float:
    """Expected profit of ``decision`` (default: the plan's) under the market's truth.

    See the module docstring for the model and the scale.
    """
    sc = plan.scenario
    decision = plan.solution.decision if decision is None else decision
    cells = _cells(plan, market)
    comps = {oid: tuple(c) for oid, c in zip(sc.offer_ids, sc.components, strict=True)}
    costs = {oid: float(c) for oid, c in zip(sc.offer_ids, sc.costs, strict=True)}
    total = 0.0
    for g, s, n in cells.itertuples(index=False):
        levels = decision.menu_of(int(g))
        menu = {sc.offer_ids[o]: float(sc.prices[o, levels[o]])
                for o in np.flatnonzero(levels != NOT_OFFERED)}
        total += n * _cell_profit(menu, costs, comps, int(s), market.truth)
    return total


def shop_decision_truth(plan: Any) -> Decision:
    """Every single product at its list price, no bundle (co-purchase stays possible)."""
    sc = plan.scenario
    levels = np.where(sc.is_bundle, NOT_OFFERED, sc.list_level)
    return Decision(np.tile(levels, (sc.n_menus, 1)))


def truth_comparison(plan: Any, market: Any) -> pd.DataFrame:
    """Optimised plan vs the shop's list prices, under the fitted model and the truth.

    One row per plan (``optimised``, ``shop``): ``model_profit`` (what the plan
    expects), ``true_profit`` and ``true_uplift`` (relative to the shop's true profit).
    """
    comp = plan.comparison.set_index("plan")["profit"]
    rows = [
        {"plan": "optimised", "model_profit": float(comp["optimised"]),
         "true_profit": true_profit(plan, market)},
        {"plan": "shop", "model_profit": float(comp["shop"]),
         "true_profit": true_profit(plan, market, shop_decision_truth(plan))},
    ]
    out = pd.DataFrame(rows)
    out["true_uplift"] = out["true_profit"] / out.loc[1, "true_profit"] - 1.0
    return out
