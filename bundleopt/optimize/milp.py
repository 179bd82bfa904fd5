"""One MILP run: greedy warm start, bound tightening, build, HiGHS, decision read back.

:func:`solve_milp` is what :func:`bundleopt.optimize.dispatch.solve` (and the
per-segment fallback, the diagnosis and the second opinion) call. The tightening is
the schedule of stages of :mod:`bundleopt.optimize.tighten_stages`, set by a
:class:`~bundleopt.optimize.schedule.TighteningOptions`; what it did is in
``MilpRun.tightening``.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from bundleopt.optimize.columns import decision_from_values, start_vector
from bundleopt.optimize.errors import SolverError
from bundleopt.optimize.evaluation import check_constraints, evaluate
from bundleopt.optimize.highs_backend import (
    BOUND_ONLY_OPTIONS,
    HighsResult,
    TriviallyInfeasible,
    compile_model,
    solve_compiled,
    untrustworthy,
)
from bundleopt.optimize.model import build_model, families_on, ladder_pairs
from bundleopt.optimize.ranges import VariableRanges
from bundleopt.optimize.schedule import Clock, Incumbent, TighteningOptions, TighteningResult
from bundleopt.optimize.tighten_stages import Relaxation, tighten
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario
from bundleopt.solution import StageRecord

# Seconds per (allowed ladder pair x (segments + menus)) of a Pyomo build plus compile,
# the part of a solve that cannot be interrupted: measured 62-72 us on 500 x 10 x 5
# C=50, 200 x 20 x 5 C=20 and 300 x 10 x 10 personalised on a loaded 2-core machine;
# 1e-4 leaves a 40% margin.
BUILD_SECONDS_PER_COLUMN = 1e-4
# Seconds per fairness row of the same: measured 44 us (100 and 200 offers x 10 segments x
# 5 levels, personalised, max_price_spread 0.1, 36,000 and 72,000 rows).
FAIRNESS_SECONDS_PER_ROW = 6e-5
# Share of the time limit the greedy warm start may use.
GREEDY_SHARE = 0.2


@dataclass
class MilpRun:
    """Outcome of one MILP solve: the decision and plain solver figures."""

    decision: Decision | None
    result: HighsResult | None
    timings: dict[str, float]
    notes: list[str] = field(default_factory=list)
    incumbent: Decision | None = None  # the greedy warm start, when one was found
    root_bound: float = float("inf")  # the bound tightening's best proved root bound
    skipped: bool = False  # no MILP: the time left could not pay for its build
    tightening: tuple[StageRecord, ...] = ()  # what each tightening stage did

    @property
    def status(self) -> str:
        if self.skipped:
            return "time_limit"
        return "infeasible" if self.result is None else self.result.status

    @property
    def bound(self) -> float | None:
        """The best bound this run proved: HiGHS' and the tightening's root bound,
        whichever is smaller (None when neither)."""
        values = [b for b in (None if self.result is None else self.result.bound, self.root_bound)
                  if b is not None and np.isfinite(b)]
        return min(values) if values else None


def estimate_build_seconds(scenario: Scenario, families: Collection[str] | None = None,
                           rate: float = BUILD_SECONDS_PER_COLUMN,
                           fairness_rate: float = FAIRNESS_SECONDS_PER_ROW) -> float:
    """Seconds a MILP build plus compile of ``scenario`` should take: ``rate`` times
    its columns (``y`` per menu and ``z`` per segment on every allowed ladder pair),
    plus ``fairness_rate`` per fairness row (up to one per ordered pair of segments and
    ladder pair, with personalised prices)."""
    on = families_on(scenario, families)
    mask, _ = ladder_pairs(scenario, on, drop_dominated=False)
    pairs = float(mask.sum())
    seconds = rate * pairs * (scenario.n_segments + scenario.n_menus)
    if "fairness" in on and scenario.personalised:
        seconds += fairness_rate * pairs * scenario.n_segments * (scenario.n_segments - 1)
    return seconds


def heuristic_start(scenario: Scenario, time_limit: float | None = None) -> tuple[Decision | None, str]:
    """Feasible greedy add/drop decision from the baselines module, or None (with a
    note), within ``time_limit`` seconds (its search and its repair phase each)."""
    try:
        from bundleopt.optimize.greedy import greedy_add_drop
    except ImportError:
        return None, "warm start: greedy.greedy_add_drop not available"

    try:
        decision = (greedy_add_drop(scenario) if time_limit is None else
                    greedy_add_drop(scenario, time_limit=time_limit,
                                    repair_time_limit=min(10.0, time_limit)))
    except Exception as exc:  # a heuristic failing must not stop the exact solve
        return None, f"warm start: greedy_add_drop failed ({type(exc).__name__}: {exc})"
    if check_constraints(scenario, decision):
        return None, "warm start: greedy_add_drop found no feasible decision; none used"
    return decision, "warm start: greedy_add_drop"


def solve_milp(
    scenario: Scenario,
    *,
    families: Collection[str] | None = None,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    warm_start: bool = True,
    verbose: bool = False,
    feasibility_only: bool = False,
    strengthen: bool = True,
    highs_options: dict[str, object] | None = None,
    tighten: bool = True,
    start: Decision | None = None,
    greedy_share: float = GREEDY_SHARE,
    tightening: TighteningOptions | None = None,
) -> MilpRun:
    """Build the MILP, pass it to HiGHS (warm-started), and read the decision back.

    ``feasibility_only`` replaces the objective by 0 (used by the diagnosis);
    ``strengthen=False`` solves the plain Bront et al. formulation (benchmarks).
    ``tighten`` (and ``tightening.enabled``) narrows the ranges of the no-purchase
    shares from the warm start before the MILP (:mod:`bundleopt.optimize.tighten_stages`,
    settings ``tightening``). ``start``: a feasible decision to warm-start from instead
    of the greedy one.

    ``time_limit`` covers the whole run: the greedy warm start gets
    ``greedy_share`` of it, the tightening runs only when the time left pays for
    ``tightening.builds_needed`` builds (:func:`estimate_build_seconds`) and stops at
    its share, and the MILP is not built at all when the time left cannot pay for its
    build (``skipped``: the warm start is the answer, with status ``time_limit``).
    """
    opts = TighteningOptions() if tightening is None else tightening
    notes: list[str] = []
    t_start = time.perf_counter()
    incumbent, tight = start, None
    build_s = estimate_build_seconds(scenario, families) if time_limit is not None else 0.0
    if start is not None and not feasibility_only:
        notes.append("warm start: the decision handed in")
    elif warm_start and not feasibility_only:
        incumbent, note = heuristic_start(scenario, None if time_limit is None
                                          else max(greedy_share * time_limit, 0.05))
        notes.append(note)
    if incumbent is not None and strengthen and tighten and opts.enabled and not feasibility_only:
        left = _remaining(time_limit, t_start)
        if left is not None and left < opts.builds_needed * build_s:
            notes.append(f"bound tightening skipped: {left:.2f} s left, a build takes about "
                         f"{build_s:.2f} s")
        else:
            clock = Clock()
            if time_limit is not None:  # long stages end at the share; a final round may run
                hard = t_start + time_limit - 2.0 * build_s  # on, leaving the MILP's build
                clock = Clock(soft=min(t_start + (time_limit - build_s) * opts.share, hard), hard=hard)
            tight = _tighten(scenario, families, incumbent, threads, notes, opts, clock)
            if tight is not None and tight.proved_optimal:
                run = _incumbent_run(incumbent, tight, time.perf_counter() - t_start, notes)
                run.incumbent = incumbent
                return run
    left = _remaining(time_limit, t_start)
    if left is not None and left < build_s:
        notes.append(f"MILP not built: {left:.2f} s left, its build takes about {build_s:.2f} s")
        run = MilpRun(None, None, {"build": 0.0, "handoff": 0.0, "solve": 0.0}, notes,
                      incumbent=incumbent, skipped=True)
        _fold_tightening(run, tight)
        return run
    ranges = None if tight is None else tight.ranges.widened(opts.min_width)
    x_range = None if ranges is None else ranges.x_range
    exclude = frozenset() if ranges is None else ranges.excluded
    if tight is not None and tight.stopped_by_deadline and opts.bound_only_when_cut_short:
        highs_options = {**BOUND_ONLY_OPTIONS, **(highs_options or {})}
        notes.append("HiGHS primal heuristics off: the tightening used its time share, the rest goes to the bound")
    run = _build_and_solve(scenario, families, strengthen, x_range, exclude, feasibility_only,
                           incumbent, _remaining(time_limit, t_start), mip_gap, threads, verbose,
                           highs_options, notes)
    if x_range is not None and run.result is not None \
            and untrustworthy(run.result, tight.incumbent_profit) \
            and (time_limit is None or _remaining(time_limit, t_start) > build_s):
        # HiGHS lost the warm start, or its bound makes no sense: never trust that answer
        notes.append("tightened model: HiGHS returned less than the warm start or no valid bound; "
                     "solved again without the tightening")
        run = _build_and_solve(scenario, families, strengthen, None, frozenset(), False, incumbent,
                               _remaining(time_limit, t_start), mip_gap, threads, verbose,
                               highs_options, notes)
    _fold_tightening(run, tight)
    run.incumbent = incumbent
    return run


@dataclass(frozen=True)
class _Tightened:
    """The tightening's result with the incumbent's profit it started from."""

    result: TighteningResult
    incumbent_profit: float

    @property
    def proved_optimal(self) -> bool:
        return self.result.proved_optimal

    @property
    def ranges(self) -> VariableRanges:
        return self.result.ranges

    @property
    def stopped_by_deadline(self) -> bool:
        return self.result.stopped_by_deadline


def _fold_tightening(run: MilpRun, tight: _Tightened | None) -> None:
    """Record the tightening's time, stages and best proved root bound on ``run`` (never
    below the incumbent's profit: the root bound is a valid bound, and the
    certification never reports a bound below a feasible profit)."""
    if tight is None:
        return
    run.timings["tighten"] = tight.result.seconds
    run.tightening = tight.result.records
    if tight.result.bounds:
        run.root_bound = max(min(tight.result.bounds), tight.incumbent_profit)


def _remaining(time_limit: float | None, t_start: float) -> float | None:
    return None if time_limit is None else max(time_limit - (time.perf_counter() - t_start), 0.01)


def _build_and_solve(scenario: Scenario, families: Collection[str] | None, strengthen: bool,
                     x_range: tuple[np.ndarray, np.ndarray] | None, exclude: frozenset[tuple[int, int]],
                     feasibility_only: bool, incumbent: Decision | None, time_limit: float | None,
                     mip_gap: float, threads: int | None, verbose: bool,
                     options: dict[str, object] | None, notes: list[str]) -> MilpRun:
    """Build (with the given ranges and left-out pairs), compile, warm-start and solve."""
    t0 = time.perf_counter()
    model = build_model(scenario, families=families, strengthen=strengthen, x_range=x_range,
                        exclude=exclude)
    if feasibility_only:
        model.profit.deactivate()
        model.zero = pyo.Objective(expr=0.0 * model.x[0])
    t1 = time.perf_counter()
    try:
        cm = compile_model(model)
    except TriviallyInfeasible:
        return MilpRun(None, None, {"build": t1 - t0, "handoff": 0.0, "solve": 0.0}, notes)
    del model  # the compiled model keeps arrays only
    t2 = time.perf_counter()
    start = None
    if incumbent is not None:
        start = start_vector(cm, incumbent)
        if start is None:
            notes.append("warm start: decision outside the model's levels; not used")
    limit = None if time_limit is None else max(time_limit - (t2 - t0), 0.01)
    result = solve_compiled(cm, time_limit=limit, mip_gap=mip_gap, threads=threads,
                            verbose=verbose, start=start, options=options)
    timings = {"build": t1 - t0, "handoff": (t2 - t1) + result.handoff_s, "solve": result.solve_s}
    decision = decision_from_values(cm, result.values) if result.has_solution else None
    return MilpRun(decision, result, timings, notes)


def _tighten(scenario: Scenario, families: Collection[str] | None, incumbent: Decision,
             threads: int | None, notes: list[str], options: TighteningOptions,
             clock: Clock) -> _Tightened | None:
    """Bound the no-purchase shares of every decision better than ``incumbent``: the
    schedule of :func:`bundleopt.optimize.tighten_stages.default_schedule`, heaviest
    segments first, on ``clock``."""
    profit = evaluate(scenario, incumbent).profit
    _, lift = ladder_pairs(scenario, families_on(scenario, families), drop_dominated=True)
    keep = {(o, int(k)) for row in incumbent.levels for o, k in enumerate(row) if k != NOT_OFFERED}
    keep |= {(o, lift[(o, k)]) for o, k in keep if (o, k) in lift}
    relaxation = Relaxation(lambda x_range, exclude: build_model(scenario, families=families,
                                                                 x_range=x_range, exclude=exclude),
                            threads=threads)
    try:
        res = tighten(relaxation, Incumbent(profit, frozenset(keep)), scenario.n_segments,
                      options=options, clock=clock,
                      order=[int(s) for s in np.argsort(-scenario.weights, kind="stable")])
    except (ValueError, RuntimeError, TriviallyInfeasible) as exc:
        notes.append(f"bound tightening skipped ({exc})")
        return None
    if res.proved_optimal:
        notes.append("bound tightening: no decision beats the warm start; it is optimal")
    elif res.bounds:
        notes.append(f"bound tightening: {len(res.bounds)} Lagrangian rounds in {res.seconds:.1f} s, "
                     f"root bound {res.bounds[0]:.6g} -> {res.bounds[-1]:.6g} "
                     f"(incumbent {profit:.6g}), {len(res.ranges.excluded)} ladder pairs left out, "
                     f"full bound tightening narrowed {res.narrowed_by('obbt')} of {scenario.n_segments} "
                     f"segments' ranges in {res.completed('obbt')} complete passes")
    return _Tightened(res, profit)


def _incumbent_run(incumbent: Decision, tight: _Tightened, seconds: float,
                   notes: list[str]) -> MilpRun:
    """The warm start, proved optimal by the bound tightening (no MILP needed)."""
    result = HighsResult(status="optimal", has_solution=True, objective=tight.incumbent_profit,
                         bound=tight.incumbent_profit, gap=0.0, values=np.zeros(0), handoff_s=0.0,
                         solve_s=0.0, nodes=0)
    return MilpRun(incumbent, result, {"build": 0.0, "handoff": 0.0, "solve": 0.0,
                                       "tighten": seconds}, notes,
                   tightening=tight.result.records)


__all__ = ["MilpRun", "SolverError", "estimate_build_seconds", "heuristic_start", "solve_milp"]
