"""Stages 7 and 8 of the planner: solve the scenario, then compare the plan with the shop's
prices, the status quo and the baselines, and run the checks of
:func:`bundleopt.plan_parts.assess.assess_plan` (headline, backtest, intervals, reasons)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bundleopt.planning.config import PlanConfig
from bundleopt.planning.weights import _utility_design
from bundleopt.scenario import Decision, Scenario
from bundleopt.solution import Solution

__all__ = ["assess", "shop_decision", "solve_plan"]


def solve_plan(scenario: Scenario, config: PlanConfig) -> tuple[Solution, list[str]]:
    """The optimal plan (:func:`bundleopt.optimize.solve`) and notes on it: a solver status
    other than optimal, kept products missing from a menu, prices at the ladder's edge."""
    from bundleopt.optimize import solve
    from bundleopt.plan_parts import controls

    solution = solve(scenario, time_limit=config.time_limit, threads=config.threads)
    notes = []
    if solution.status != "optimal":
        notes.append(f"solver status {solution.status!r}, gap {solution.gap:.2%}")
    notes += controls.ladder_edge_note(scenario, solution.decision.levels)
    return solution, notes


def assess(scenario: Scenario, solution: Solution, *, clean: Any, choices: Any, fitted: Any,
           segments: Any, offers: Any, config: PlanConfig) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """``(comparison, profit_by_segment, extras)``: the plan against the shop and the baselines,
    and the :class:`~bundleopt.pipeline.Plan` fields the checks fill.

    ``clean``, ``choices``, ``fitted``, ``segments``, ``offers``: the outputs of the earlier
    stages (:mod:`bundleopt.planning`). Each re-solve of the checks gets at most
    ``min(time_limit, 20)`` seconds.
    """
    from bundleopt.optimize import solve
    from bundleopt.plan_parts.assess import assess_plan
    from bundleopt.plan_parts.intervals import linear_weights

    limit = min(config.time_limit, 20.0) if config.time_limit is not None else 20.0
    comparison, by_segment = _compare(scenario, solution, baseline_time_limit=limit)
    models, seg_ids = fitted.models, segments.segment_ids
    weights_of = linear_weights(  # the scenario's weights at other parameter values (draws)
        scenario.v, scenario.prices,
        {s: _utility_design(models[s], offers.offer_ids, offers.components) for s in seg_ids},
        {s: models[s].params_ for s in seg_ids}, covariances={s: models[s].cov_ for s in seg_ids})
    extras = assess_plan(
        scenario, solution, comparison, solve=lambda sub: solve(sub, time_limit=limit, threads=config.threads),
        transactions=clean.transactions, catalog=clean.catalog, models=models, weights_of=weights_of,
        n_draws=config.n_draws, robust_draws=config.robust_draws, random_state=config.random_state,
        backtest_args=None if config.backtest_split is None else {
            "segments": segments.assignments, "split": config.backtest_split, "sessions": clean.sessions,
            "purchase_share": config.purchase_share, "bundles": choices.bundles_in_data,
            "offers": offers.products, "smoothing": config.smoothing, "random_state": config.random_state})
    return comparison, by_segment, extras


def shop_decision(scenario: Scenario) -> Decision:
    """The shop's list prices: every offer (singles and bundles) at its list level.

    A bundle at its list level costs the sum of its components' list prices, which is
    what a customer pays buying them together at the shop today (co-purchase).
    """
    return Decision(np.tile(scenario.list_level, (scenario.n_menus, 1)))


def _compare(scenario: Scenario, solution: Solution, baseline_time_limit: float = 20.0,
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plan, the shop and every baseline evaluated (``Plan.comparison``); the local
    search baseline gets ``baseline_time_limit`` seconds (thousands of offers: one move per
    step takes minutes), and its row's ``note`` says when it stopped there."""
    import time

    from bundleopt.optimize import evaluate
    from bundleopt.optimize.baselines import BASELINES
    from bundleopt.optimize.greedy import greedy_add_drop

    decisions: dict[str, Decision] = {
        "optimised": solution.decision,
        "shop": shop_decision(scenario),
        "status_quo": scenario.status_quo(),
    }
    notes: dict[str, str] = {}
    for name, make in BASELINES.items():
        if name == "greedy_add_drop":
            t0 = time.perf_counter()
            decisions[name] = greedy_add_drop(scenario, time_limit=baseline_time_limit)
            if time.perf_counter() - t0 >= baseline_time_limit:
                notes[name] = (f"local search stopped at its {baseline_time_limit:g} s limit: "
                               "not a local optimum, a lower bound on what it reaches")
        else:
            decisions[name] = make(scenario)
    rows, by_seg = [], {}
    for name, decision in decisions.items():
        ev = evaluate(scenario, decision)
        rows.append({"plan": name, "profit": ev.profit, "revenue": ev.revenue, "units": ev.units,
                     "feasible": ev.feasible, "n_violations": len(ev.violations), "note": notes.get(name, "")})
        by_seg[name] = ev.by_segment.set_index("segment")["profit"]
    comp = pd.DataFrame(rows)
    shop = float(comp.loc[comp["plan"] == "shop", "profit"].iloc[0])
    comp["gain"] = comp["profit"] - shop
    from bundleopt.plan_parts.headline import percent_base

    shop_rev = float(comp.loc[comp["plan"] == "shop", "revenue"].iloc[0])
    comp["uplift"] = np.nan if percent_base(shop, shop_rev, what="the shop's") else comp["gain"] / shop
    by_segment = pd.DataFrame(by_seg).T
    by_segment.index.name = "plan"
    by_segment.columns.name = "segment"
    return comp, by_segment
