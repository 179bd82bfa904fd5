"""Per-segment decomposition: one exact LP per segment instead of one MILP.

When every segment has its own menu (personalised prices, or a single segment) and
no rule ties segments together (the registry's coupling families, :mod:`bundleopt.optimize.rules`: overall margin rate with two or more segments,
cannibalisation, stock, fairness), the problem is a sum of independent
single-segment problems. Each is solved in the projected (x, z) space, where
``z[o, k] / x`` plays the role of ``y[o, k]`` and every menu rule ``a . y <= b`` reads
``a . z <= b x`` (:func:`bundleopt.optimize.model.build_model` with ``projected=True``).

Every integer decision maps to a feasible point of that LP with the same profit,
so the LP optimum bounds the integer one. When the simplex vertex found has
``z / x`` in {0, 1} it *is* an integer decision, hence optimal. Davis, Gallego &
Topaloglu (2013) show this always happens when the menu rules form a totally
unimodular system (one price per offer, cardinality, bundle count); other rules
(margin rate, bundles per product, no-arbitrage) can break it, so the integrality
is checked and a segment whose LP is fractional is re-solved as a MILP, which the
Solution's ``method`` and ``notes`` say.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bundleopt.optimize import diagnose
from bundleopt.optimize.assemble import make_solution
from bundleopt.optimize.columns import X, Z
from bundleopt.optimize.errors import SolverError
from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.highs_backend import TriviallyInfeasible, compile_model, solve_compiled
from bundleopt.optimize.levels import level_mask
from bundleopt.optimize.menu_oracle import best_menu, simple_rules
from bundleopt.optimize.model import build_model
from bundleopt.optimize.rules import active_families, coupling_settings, segment_scenario
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario
from bundleopt.solution import Solution

INTEGRALITY_TOL = 1e-6


def coupling_rules(scenario: Scenario) -> list[str]:
    """Active rules that tie segments together (empty with one segment), as the
    Constraints fields that switch them on (``max_cannibalisation``, ``stock``,
    ``max_price_spread``, ``min_margin_rate`` with the overall scope), from the registry
    (:func:`bundleopt.optimize.rules.coupling_settings`); switching them off leaves
    the per-segment problems."""
    return coupling_settings(scenario)


def decomposes(scenario: Scenario) -> bool:
    """True when each segment can be solved on its own (see module docstring)."""
    return scenario.n_menus == scenario.n_segments and not coupling_rules(scenario)


def solve_segment_lp(sub: Scenario, *, threads: int | None = None,
                     time_limit: float | None = None) -> tuple[Decision | None, float, str, dict]:
    """Solve the projected LP of a single-segment scenario (within ``time_limit`` s).

    Returns ``(decision or None if fractional, LP objective, status, timings)``.
    """
    t0 = time.perf_counter()
    model = build_model(sub, projected=True)
    t1 = time.perf_counter()
    try:
        cm = compile_model(model)
    except TriviallyInfeasible:
        return None, float("nan"), "infeasible", {"build": t1 - t0, "handoff": 0.0, "solve": 0.0}
    t2 = time.perf_counter()
    limit = None if time_limit is None else max(time_limit - (t2 - t0), 0.01)
    res = solve_compiled(cm, threads=threads, lp_method="simplex", time_limit=limit)
    timings = {"build": t1 - t0, "handoff": t2 - t1 + res.handoff_s, "solve": res.solve_s}
    if res.status != "optimal" or not res.has_solution:
        return None, float("nan"), res.status, timings
    lay = cm.layout
    x = res.values[lay.find(X, 0)]
    levels = np.full((1, sub.n_offers), NOT_OFFERED, dtype=int)
    for col in np.flatnonzero(lay.role == Z):
        ratio = res.values[col] / x
        if min(abs(ratio), abs(1.0 - ratio)) > INTEGRALITY_TOL:
            return None, res.objective, "fractional", timings
        if ratio > 0.5:
            levels[0, lay.offer[col]] = lay.level[col]
    return Decision(levels), res.objective, res.status, timings


def solve_segment_oracle(sub: Scenario) -> tuple[Decision, float, float]:
    """Best menu of a single-segment scenario whose rules are a level mask and an
    offer cap (:func:`bundleopt.optimize.menu_oracle.best_menu`, no LP):
    ``(decision, its profit, upper bound)``."""
    on = set(active_families(sub))
    cap = sub.constraints.max_offers if "cardinality" in on else None
    margin = sub.market_size * np.nan_to_num(sub.prices - sub.costs[:, None])
    value, bound, levels = best_menu(sub.v[0], float(sub.v0[0]), margin, level_mask(sub, on), cap)
    return Decision(levels[None]), value, bound


def _fallback_segment(sub: Scenario) -> tuple[Decision, float]:
    """A segment not solved in time: the first of these that keeps the segment's rules,
    the relaxation's best menu (every rule but the level mask and offer cap relaxed),
    that menu with the products that must stay on sale added, those products alone,
    nothing offered; and a valid upper bound on the segment's profit (the relaxation's)."""
    on = set(active_families(sub))
    cap = sub.constraints.max_offers if "cardinality" in on else None
    margin = sub.market_size * np.nan_to_num(sub.prices - sub.costs[:, None])
    mask = level_mask(sub, on)
    _, bound, levels = best_menu(sub.v[0], float(sub.v0[0]), margin, mask, cap)
    nothing = np.full(sub.n_offers, NOT_OFFERED, dtype=int)
    tries = [levels, _with_kept(sub, levels, mask, margin), _with_kept(sub, nothing, mask, margin), nothing]
    for menu in tries:
        decision = Decision(np.asarray(menu)[None])
        if evaluate(sub, decision).feasible:
            return decision, bound
    return Decision(nothing[None]), bound


def _with_kept(sub: Scenario, levels: np.ndarray, mask: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """``levels`` with each product that must stay on sale (``must_offer``) offered alone,
    at its allowed level of largest expected margin on its own, where it is not on yet."""
    out = np.array(levels, dtype=int)
    singles = sub.single_offer()
    for product in sub.constraints.must_offer or ():
        o = singles.get(product)
        if o is None or out[o] != NOT_OFFERED or not mask[o].any():
            continue
        v = sub.v[0, o]
        value = np.where(mask[o], margin[o] * v / (sub.v0[0] + v), -np.inf)
        out[o] = int(np.argmax(value))
    return out


def solve_decomposed(
    scenario: Scenario,
    *,
    milp: Callable[..., Any],
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    warm_start: bool = True,
    verbose: bool = False,
) -> Solution:
    """Solve each segment exactly and combine: by the best-menu oracle where the rules
    are a level mask and an offer cap, else by its LP (MILP where the LP is fractional).

    ``milp(sub, time_limit=, mip_gap=, threads=, warm_start=, verbose=)`` solves a
    segment whose LP is fractional and returns a run with ``status``, ``decision``,
    ``incumbent``, ``bound`` and ``timings`` (``bundleopt.optimize.milp.solve_milp``;
    passed in so that this module does not import the solver that dispatches to it).
    ``time_limit`` covers them all: each LP or MILP gets the time left, and when it
    runs out the segments not solved yet get :func:`_fallback_segment`'s decision and
    bound (status ``time_limit``, the bound still valid).
    """
    t_start = time.perf_counter()
    S = scenario.n_segments
    levels = np.full((S, scenario.n_offers), NOT_OFFERED, dtype=int)
    timings = {"build": 0.0, "handoff": 0.0, "solve": 0.0}
    objective = bound = 0.0
    status = "optimal"
    fallbacks: list[str] = []
    unsolved: list[str] = []
    oracle = simple_rules(scenario, active_families(scenario))
    for s in range(S):
        sub = segment_scenario(scenario, s)
        left = None if time_limit is None else time_limit - (time.perf_counter() - t_start)
        if oracle:
            decision, obj, seg_bound = solve_segment_oracle(sub)
            levels[s] = decision.levels[0]
            objective += scenario.weights[s] * obj
            bound += scenario.weights[s] * seg_bound
            continue
        if left is not None and left <= 0:
            decision, seg_bound = _fallback_segment(sub)
            unsolved.append(str(scenario.segment_ids[s]))
            status = "time_limit"
            levels[s] = decision.levels[0]
            objective += scenario.weights[s] * _profit(sub, decision)
            bound += scenario.weights[s] * seg_bound
            continue
        decision, obj, st, tm = solve_segment_lp(sub, threads=threads, time_limit=left)
        for key in timings:
            timings[key] += tm[key]
        if st == "infeasible":
            diagnose.raise_infeasible(scenario, threads=threads)
        seg_bound = obj
        if st not in ("optimal", "fractional"):  # the LP ran out of time
            decision, seg_bound = _fallback_segment(sub)
            unsolved.append(str(scenario.segment_ids[s]))
            status = "time_limit"
            obj = _profit(sub, decision)
        elif decision is None:
            fallbacks.append(str(scenario.segment_ids[s]))
            left = None if time_limit is None else time_limit - (time.perf_counter() - t_start)
            run = milp(sub, time_limit=None if left is None else max(left, 0.05),
                       mip_gap=mip_gap, threads=threads, warm_start=warm_start, verbose=verbose)
            for key in timings:
                timings[key] += run.timings[key]
            if run.status == "infeasible":
                diagnose.raise_infeasible(scenario, threads=threads)
            if run.decision is None and run.incumbent is None:
                raise SolverError(f"segment {scenario.segment_ids[s]!r}: HiGHS stopped "
                                  f"({run.status}) without a feasible decision")
            decision = run.decision if run.decision is not None else run.incumbent
            obj = _profit(sub, decision)
            run_bound = run.bound
            if run_bound is not None:  # the LP's and the MILP's bounds are both valid
                seg_bound = min(run_bound, seg_bound) if np.isfinite(seg_bound) else run_bound
            seg_bound = max(seg_bound, obj)
            if run.status != "optimal":
                status = run.status
        levels[s] = decision.levels[0]
        objective += scenario.weights[s] * obj
        bound += scenario.weights[s] * seg_bound
    notes = [f"decomposed into {S} per-segment problem(s): prices per segment and no rule "
             "coupling segments" + ("; each solved by the exact best-menu oracle (one price per "
                                    "offer, offer cap)" if oracle else "")]
    method = "lp-decomposed"
    if fallbacks:
        method = "lp-decomposed+milp"
        notes.append("per-segment LP was fractional (rules present break total unimodularity); "
                     f"solved as a MILP for segment(s) {', '.join(fallbacks)}")
    if unsolved:
        notes.append(f"time limit: segment(s) {', '.join(unsolved)} not solved; their menus are "
                     "the relaxation's (or nothing) and their bound the relaxation's")
    gap = 0.0 if objective >= bound else abs(bound - objective) / max(abs(objective), 1e-12)
    timings["total"] = time.perf_counter() - t_start
    return make_solution(scenario, Decision(levels), status=status, objective=objective,
                         best_bound=bound, gap=gap, timings=timings, method=method,
                         notes=tuple(notes))


def _profit(sub: Scenario, decision: Decision) -> float:
    return evaluate(sub, decision).profit
