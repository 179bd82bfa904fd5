"""One segment of a personalised scenario alone, for the decompositions of rules that
couple segments (:mod:`bundleopt.optimize.coupled`): its scenario with only its per-menu
rules (:func:`local_scenario`) and its projected LP as a reusable pricing oracle
(:class:`LpOracle`) that re-solves from the last basis for each new reward."""

from __future__ import annotations

import highspy
import numpy as np

from bundleopt.optimize.columns import X, Z
from bundleopt.optimize.highs_backend import compile_model, new_highs
from bundleopt.optimize.model import build_model
from bundleopt.optimize.rules import active_families, segment_scenario
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

__all__ = ["LpOracle", "local_scenario"]


def local_scenario(scenario: Scenario, s: int) -> Scenario:
    """Segment ``s`` alone (weight 1) with only its per-menu rules: the coupling rules
    (overall margin rate, cannibalisation, stock, fairness) switched off."""
    c = scenario.constraints
    changes: dict[str, object] = {"max_cannibalisation": None, "stock": None, "max_price_spread": None,
                                  "protected_products": None}
    if c.margin_rate_scope == "overall":
        changes["min_margin_rate"] = None
    return segment_scenario(scenario, s).with_constraints(**changes)


class LpOracle:
    """Segment s's projected LP (``build_model(projected=True)``, ``milp.md``), built
    and handed to HiGHS once; each call changes only the objective to the reward and
    re-solves from the last basis. Its value bounds the best menu for any reward
    (every menu maps to a feasible point with the same objective); when the vertex has
    every ``z / x`` in {0, 1} it is that menu. A fractional vertex is rounded
    (``z / x > 0.5``) and the menu kept only when it keeps the segment's rules."""

    def __init__(self, scenario: Scenario, s: int, threads: int | None) -> None:
        from bundleopt.optimize.evaluation import evaluate

        self.sub = local_scenario(scenario, s)
        self._evaluate = evaluate
        # every ladder level kept: dominance holds for the profit, not for a reward with
        # multiplier terms. "fairness" is not dominance-safe and adds no projected rows.
        families = set(active_families(self.sub)) | {"fairness"}
        self.model = build_model(self.sub, families=families, projected=True)
        self.cm = compile_model(self.model)
        lay = self.cm.layout
        self.zcol = np.flatnonzero(lay.role == Z)
        self.zo, self.zk = lay.offer[self.zcol].astype(int), lay.level[self.zcol].astype(int)
        self.xcol = lay.find(X, 0)
        self.n = self.cm.lp.num_col_
        self.h = new_highs(threads)
        self.h.setOptionValue("solver", "simplex")
        self.h.passModel(self.cm.lp)

    def __call__(self, reward: np.ndarray) -> tuple[float, np.ndarray | None]:
        """``(upper bound, levels or None)`` for the per-probability ``reward`` (O, K)."""
        coef = np.nan_to_num(reward[self.zo, self.zk]) * self.sub.v[0, self.zo, self.zk]
        cost = np.zeros(self.n)
        cost[self.zcol] = -coef * self.cm.scaling.col_scale[self.zcol]
        top = float(np.abs(cost).max()) if self.n else 0.0
        unit = 2.0 ** np.round(np.log2(top)) if top > 0 else 1.0
        self.h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost / unit)
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError("segment LP ended with "
                               f"{self.h.modelStatusToString(self.h.getModelStatus())}")
        value = -(self.h.getInfo().objective_function_value - self.cm.lp.offset_) * unit
        values = self.cm.to_model(self.h.getSolution().col_value)
        ratio = values[self.zcol] / values[self.xcol]
        levels = np.full(self.sub.n_offers, NOT_OFFERED, dtype=int)
        on = ratio > 0.5
        levels[self.zo[on]] = self.zk[on]
        if np.all(np.minimum(np.abs(ratio), np.abs(1.0 - ratio)) <= 1e-6):
            return value, levels
        if self._evaluate(self.sub, Decision(levels[None])).feasible:
            return value, levels
        return value, None
