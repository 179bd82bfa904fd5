"""Assemble the :class:`~bundleopt.solution.Solution` of a decision: its expected outcomes
computed exactly by the evaluator (:func:`bundleopt.optimize.evaluation.evaluate`), beside
the solver's figures. Lives in the optimizer's layer so that ``bundleopt.solution`` (plain
data) imports nothing of the optimizer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bundleopt.optimize.evaluation import evaluate
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario
from bundleopt.solution import Solution, StageRecord, chosen_prices

__all__ = ["make_solution"]


def make_solution(
    scenario: Scenario,
    decision: Decision,
    *,
    status: str,
    objective: float,
    best_bound: float,
    gap: float,
    timings: dict[str, float],
    method: str,
    notes: tuple[str, ...] = (),
    tightening_log: tuple[StageRecord, ...] = (),
) -> Solution:
    """Assemble a :class:`Solution`, computing expected outcomes exactly from ``decision``."""
    sc = scenario
    ev = evaluate(sc, decision)
    probs = ev.probabilities
    price = chosen_prices(sc, decision)
    menu_names = list(sc.segment_ids) if sc.personalised else ["all"]
    rows = []
    for g, name in enumerate(menu_names):
        for o in np.flatnonzero(decision.levels[g] != NOT_OFFERED):
            rows.append({"menu": name, "offer": sc.offer_ids[o], "components": sc.components[o],
                         "level": int(decision.levels[g, o]), "price": float(price[g, o]),
                         "cost": float(sc.costs[o])})
    offers = pd.DataFrame(rows, columns=["menu", "offer", "components", "level", "price", "cost"])
    prices = pd.DataFrame(price, index=pd.Index(menu_names, name="menu"),
                          columns=pd.Index(sc.offer_ids, name="offer"))
    per_segment = ev.by_segment.assign(no_purchase=1.0 - ev.by_segment["purchase_probability"])
    probabilities = pd.DataFrame(probs, index=pd.Index(sc.segment_ids, name="segment"),
                                 columns=pd.Index(sc.offer_ids, name="offer"))
    return Solution(
        decision=decision, offers=offers, prices=prices,
        profit=ev.profit, revenue=ev.revenue, units=ev.units, per_segment=per_segment,
        probabilities=probabilities,
        status=status, objective=float(objective), best_bound=float(best_bound), gap=float(gap),
        timings=dict(timings), method=method, notes=tuple(notes),
        tightening_log=tuple(tightening_log),
    )
