"""Why each offer and each rule is in the plan, by exact re-evaluation and re-solving.

* :func:`offer_reasons`: for every offer on every menu of a decision, its own expected
  profit (its contribution) and the change in the **whole** plan's expected profit if
  it were taken off that menu, or moved one ladder level down or up (the next existing
  price), each scored exactly with :func:`bundleopt.optimize.evaluation.evaluate_many`.
  A change that breaks a rule is marked (``*_feasible``). For an optimal plan every
  feasible move changes profit by ``<= 0``: its size is how much the offer or its
  price matters. (Removing an offer can raise the contribution of others: the change
  is usually smaller than the offer's own contribution, the difference being the
  sales it takes from other offers.)
* :func:`rule_costs`: for each rule family switched on, the plan's profit with that
  family switched off (re-solved) minus the plan's profit: what the rule costs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

__all__ = ["offer_reasons", "rule_costs"]


def _next_level(prices: np.ndarray, k: int, step: int) -> int | None:
    """The next existing level from ``k`` in direction ``step`` (+1 up, -1 down), or None."""
    j = k + step
    while 0 <= j < len(prices):
        if np.isfinite(prices[j]):
            return j
        j += step
    return None


def offer_reasons(scenario: Scenario, decision: Decision) -> pd.DataFrame:
    """One row per (menu, offered offer): contribution and the effect of each move (module docstring).

    Columns: ``menu`` (segment id, or ``"all"`` for one menu), ``offer``, ``price``,
    ``contribution`` (its expected profit on that menu), ``remove`` / ``price_down`` /
    ``price_up`` (change in the plan's profit; NaN where there is no such level) and
    ``remove_feasible`` / ``price_down_feasible`` / ``price_up_feasible``.
    """
    from bundleopt.optimize import evaluate
    from bundleopt.optimize.evaluation import evaluate_many

    base_levels = np.asarray(decision.levels, dtype=int)
    if base_levels.shape[0] != scenario.n_menus:
        base_levels = np.tile(base_levels[:1], (scenario.n_menus, 1))
    ev = evaluate(scenario, Decision(base_levels))
    probs = ev.probabilities
    menu_of_seg = np.arange(scenario.n_segments) if scenario.personalised else np.zeros(scenario.n_segments, int)
    moves, index = [], []
    for g in range(scenario.n_menus):
        for o in np.flatnonzero(base_levels[g] != NOT_OFFERED):
            k = int(base_levels[g, o])
            for name, new in (("remove", NOT_OFFERED), ("price_down", _next_level(scenario.prices[o], k, -1)),
                              ("price_up", _next_level(scenario.prices[o], k, +1))):
                if new is None:
                    continue
                lv = base_levels.copy()
                lv[g, o] = new
                moves.append(lv)
                index.append((g, int(o), name))
    batch = evaluate_many(scenario, np.stack(moves)) if moves else None
    change = {key: (float(batch.profit[i] - ev.profit), bool(batch.feasible[i]))
              for i, key in enumerate(index)} if batch is not None else {}
    rows = []
    for g in range(scenario.n_menus):
        segs = np.flatnonzero(menu_of_seg == g)
        for o in np.flatnonzero(base_levels[g] != NOT_OFFERED):
            price = float(scenario.prices[o, base_levels[g, o]])
            units = scenario.market_size * float(scenario.weights[segs] @ probs[segs, o])
            row = {"menu": scenario.segment_ids[g] if scenario.personalised else "all",
                   "offer": scenario.offer_ids[o], "price": price,
                   "contribution": units * (price - float(scenario.costs[o]))}
            for name in ("remove", "price_down", "price_up"):
                value, ok = change.get((g, int(o), name), (np.nan, False))
                row[name], row[f"{name}_feasible"] = value, ok
            rows.append(row)
    cols = ["menu", "offer", "price", "contribution", "remove", "price_down", "price_up",
            "remove_feasible", "price_down_feasible", "price_up_feasible"]
    return pd.DataFrame(rows, columns=cols)


def rule_costs(scenario: Scenario, profit: float, solve: Callable[[Scenario], Any] | None = None,
               ) -> pd.DataFrame:
    """Per rule family switched on: ``profit_without`` (re-solved without it), ``cost``
    (``profit_without - profit``), ``status`` (the re-solve's). ``cost`` is a lower bound
    when the re-solve is not proved optimal."""
    from bundleopt.optimize import solve as default_solve

    solve = solve or default_solve
    rows = []
    for rule in scenario.constraints.active():
        off = {rule: None}
        if rule == "max_cannibalisation":
            off["protected_products"] = None
        sol = solve(scenario.with_constraints(**off))
        rows.append({"rule": rule, "setting": _setting(getattr(scenario.constraints, rule)),
                     "profit_without": float(sol.profit), "cost": float(sol.profit) - float(profit),
                     "status": sol.status})
    return pd.DataFrame(rows, columns=["rule", "setting", "profit_without", "cost", "status"])


def _setting(value: Any) -> str:
    if isinstance(value, dict) or hasattr(value, "items"):
        return f"{len(value)} product(s)"
    return str(value)
