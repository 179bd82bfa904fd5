"""``solve(scenario) -> Solution``: pick the method, build, hand to HiGHS, read back.

* every rule per segment and prices per segment (or one segment):
  :mod:`bundleopt.optimize.decompose` solves one exact LP per segment;
* otherwise the MILP of :func:`bundleopt.optimize.model.build_model`, warm-started
  from :func:`bundleopt.optimize.baselines.greedy_add_drop` when that module exists.

An infeasible scenario raises :class:`~bundleopt.optimize.diagnose.InfeasibleScenarioError`
naming the conflicting rule families.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from bundleopt.checks import flag, number
from bundleopt.optimize.certify import SAFE_OPTIONS, Candidate, judge, needs_second_opinion
from bundleopt.optimize.errors import SolverError
from bundleopt.optimize.highs_backend import (
    CompiledModel,
    HighsResult,
    TriviallyInfeasible,
    compile_model,
    solve_compiled,
)
from bundleopt.optimize.model import build_model, families_on, ladder_pairs
from bundleopt.optimize.tighten import Tightening, tighten_no_purchase
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario
from bundleopt.solution import Solution, make_solution

# Share of the time limit by which the bound tightening (a Lagrangian round, then passes
# of full bound tightening, heaviest segments first) must end; the rest is HiGHS's.
# Measured at 100 x 20 x 5, seed 1, with one pass (formulations/milp.md): HiGHS's cut
# rounds close ~0.2 points of gap in their first ~20 s and then stall, while each
# segment's full tightening keeps narrowing the bound; 0.6 left 1.10% at 120 s, 0.8
# (heuristics off) 1.08%.
OBBT_SHARE = 0.8
# Batches per pass of full bound tightening over the segments: the model is rebuilt
# with the narrowed ranges before each batch (tighten._obbt_passes). Measured at
# 100 x 20 x 5, seed 1, 120 s (no Lagrangian rounds between passes yet): 2 batches (10
# segments) 0.57% gap, 3 batches 1.02%, 4 batches 0.98%, 10 batches 0.89%, 1 batch
# 1.15% (each rebuild costs a cold LP per worker; one batch per pass leaves no time
# for a second pass). With the rounds between passes: 0.39-0.47%.
OBBT_BATCHES = 2
# HiGHS options for the MILP after a tightening cut short by its deadline: the warm start
# is kept and the time left goes to the bound (cut rounds), not to primal heuristics
# (at 100 x 20 x 5 sub-MIPs took 20 of HiGHS's 47 s and never beat the greedy start).
BOUND_ONLY = {"mip_heuristic_effort": 0.0, "mip_heuristic_run_rins": False,
              "mip_heuristic_run_rens": False, "mip_heuristic_run_root_reduced_cost": False,
              "mip_heuristic_run_feasibility_jump": False}
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


def check_options(time_limit: float | None, mip_gap: float, threads: int | None,
                  **flags: bool) -> None:
    """Reject bad solver options with a one-line ValueError naming the option.

    ``time_limit`` a positive finite number of seconds or None, ``mip_gap`` a number in
    [0, 1), ``threads`` a positive whole number or None; bools, strings, NaN and ±inf
    are refused (``True`` is not 1 second). ``flags`` (e.g. ``verbose=...``) must be
    real bools: ``"no"`` would read as True.
    """
    if time_limit is not None and number("time_limit", time_limit) <= 0:
        raise ValueError(f"time_limit must be a positive number of seconds or None, got {time_limit!r}")
    if not 0 <= number("mip_gap", mip_gap) < 1:
        raise ValueError(f"mip_gap must be in [0, 1), got {mip_gap!r}")
    if threads is not None and number("threads", threads, integer=True) < 1:
        raise ValueError(f"threads must be a positive whole number or None, got {threads!r}")
    for name, value in flags.items():
        flag(name, value)


def decision_from_values(model: pyo.ConcreteModel, cm: CompiledModel, values: np.ndarray) -> Decision:
    """Read ``y[g, o, k] > 0.5`` into a :class:`Decision` (menus x offers)."""
    sc = model.info.scenario
    levels = np.full((sc.n_menus, sc.n_offers), NOT_OFFERED, dtype=int)
    for (g, o, k), var in model.y.items():
        i = cm.index.get(var.name)
        if i is not None and values[i] > 0.5:
            levels[g, o] = k
    return Decision(levels)


def start_vector(model: pyo.ConcreteModel, cm: CompiledModel, decision: Decision) -> np.ndarray | None:
    """Column values of ``decision`` (y, x = 1 / (v0 + sum v on), z = x y, attraction
    A = sum v on), or None
    when the decision uses a level the model has no variable for. A dominated level
    the build left out is replaced by its dominating level (never worse)."""
    info = model.info
    sc = info.scenario
    lv = decision.levels
    if lv.shape != (sc.n_menus, sc.n_offers):
        return None
    if info.lift:  # dominated levels were left out: use the level that replaced them
        lv = lv.copy()
        for g in range(lv.shape[0]):
            for o in range(lv.shape[1]):
                lv[g, o] = info.lift.get((o, int(lv[g, o])), lv[g, o])
    on = lv != NOT_OFFERED
    if np.any(on & ~info.mask[np.arange(sc.n_offers)[None], np.clip(lv, 0, None)]):
        return None
    x = np.empty(sc.n_segments)
    attraction = np.empty(sc.n_segments)
    for s in range(sc.n_segments):
        row = lv[info.seg_menu[s]]
        offered = np.flatnonzero(row != NOT_OFFERED)
        attraction[s] = sc.v[s, offered, row[offered]].sum()
        x[s] = 1.0 / (sc.v0[s] + attraction[s])
    vec = np.zeros(len(cm.columns))
    for i, var in enumerate(cm.columns):
        name = var.parent_component().local_name
        idx = var.index()
        if name == "x":
            vec[i] = x[idx]
        elif name == "y":
            g, o, k = idx
            vec[i] = float(lv[g, o] == k)
        elif name == "z":
            s, o, k = idx
            vec[i] = x[s] * float(lv[info.seg_menu[s], o] == k)
        elif name == "attraction":  # A_s = sum of the offered attractions
            vec[i] = attraction[idx]
    return vec


def heuristic_start(scenario: Scenario, time_limit: float | None = None) -> tuple[Decision | None, str]:
    """Feasible greedy add/drop decision from the baselines module, or None (with a
    note), within ``time_limit`` seconds (its search and its repair phase each)."""
    try:
        from bundleopt.optimize.baselines import greedy_add_drop
    except ImportError:
        return None, "warm start: baselines.greedy_add_drop not available"
    from bundleopt.optimize.evaluate import check_constraints

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
) -> MilpRun:
    """Build the MILP, pass it to HiGHS (warm-started), and read the decision back.

    ``feasibility_only`` replaces the objective by 0 (used by the diagnosis);
    ``strengthen=False`` solves the plain Bront et al. formulation (benchmarks).
    ``tighten`` narrows the ranges of the no-purchase shares from the warm start
    before the MILP (:mod:`bundleopt.optimize.tighten`). ``start``: a feasible
    decision to warm-start from instead of the greedy one.

    ``time_limit`` covers the whole run: the greedy warm start gets
    ``greedy_share`` of it, the tightening runs only when the time left pays for
    three builds (:func:`estimate_build_seconds`) and stops at its share, and the
    MILP is not built at all when the time left cannot pay for its build
    (``skipped``: the warm start is the answer, with status ``time_limit``).
    """
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
    if incumbent is not None and strengthen and tighten and not feasibility_only:
        left = _remaining(time_limit, t_start)
        if left is not None and left < 3.0 * build_s:
            notes.append(f"bound tightening skipped: {left:.2f} s left, a build takes about "
                         f"{build_s:.2f} s")
        else:
            soft = hard = None
            if time_limit is not None:  # passes end at the share; a final round may run on,
                soft = t_start + (time_limit - build_s) * OBBT_SHARE  # leaving the MILP's build
                hard = t_start + time_limit - 2.0 * build_s
            tight = _tighten(scenario, families, incumbent, time_limit, threads, notes, soft, hard)
            if tight is not None and tight.proved_optimal:
                run = _incumbent_run(scenario, incumbent, tight, time.perf_counter() - t_start, notes)
                run.incumbent = incumbent
                return run
    left = _remaining(time_limit, t_start)
    if left is not None and left < build_s:
        notes.append(f"MILP not built: {left:.2f} s left, its build takes about {build_s:.2f} s")
        run = MilpRun(None, None, {"build": 0.0, "handoff": 0.0, "solve": 0.0}, notes,
                      incumbent=incumbent, skipped=True)
        _fold_tightening(run, tight)
        return run
    x_range = None if tight is None else tight.x_range
    exclude = frozenset() if tight is None else tight.exclude
    if tight is not None and tight.cut_short:
        highs_options = {**BOUND_ONLY, **(highs_options or {})}
        notes.append("HiGHS primal heuristics off: the tightening used its time share, the rest goes to the bound")
    run = _build_and_solve(scenario, families, strengthen, x_range, exclude, feasibility_only,
                           incumbent, _remaining(time_limit, t_start), mip_gap, threads, verbose,
                           highs_options, notes)
    if x_range is not None and run.result is not None and _untrustworthy(run.result, tight.incumbent) \
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


def _fold_tightening(run: MilpRun, tight: Tightening | None) -> None:
    """Record the tightening's time and its best proved root bound on ``run``.

    A root bound is the LP relaxation of the model narrowed to the decisions better
    than the incumbent (:mod:`bundleopt.optimize.tighten`): it bounds those
    decisions, and the incumbent bounds the rest, so ``max(root, incumbent)`` is a
    valid bound (the certification never reports a bound below a feasible profit)."""
    if tight is None:
        return
    run.timings["tighten"] = tight.seconds
    if tight.root_bounds:
        run.root_bound = max(min(tight.root_bounds), tight.incumbent)


def _untrustworthy(result: HighsResult, incumbent: float) -> bool:
    """A HiGHS answer on a tightened model not to be trusted: no solution, less than
    the warm start it was given, or a best bound that is not finite or lies below
    its own solution (seen with near-degenerate ranges, HiGHS 1.15.1)."""
    tol = 1e-6 * max(1.0, abs(incumbent))
    return (not result.has_solution or result.objective < incumbent - tol
            or not np.isfinite(result.bound) or result.bound < result.objective - tol)


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
    t2 = time.perf_counter()
    start = None
    if incumbent is not None:
        start = start_vector(model, cm, incumbent)
        if start is None:
            notes.append("warm start: decision outside the model's levels; not used")
    limit = None if time_limit is None else max(time_limit - (t2 - t0), 0.01)
    result = solve_compiled(cm, time_limit=limit, mip_gap=mip_gap, threads=threads,
                            verbose=verbose, start=start, options=options)
    timings = {"build": t1 - t0, "handoff": (t2 - t1) + result.handoff_s, "solve": result.solve_s}
    decision = decision_from_values(model, cm, result.values) if result.has_solution else None
    return MilpRun(decision, result, timings, notes)


def _tighten(scenario: Scenario, families: Collection[str] | None, incumbent: Decision,
             time_limit: float | None, threads: int | None, notes: list[str],
             soft: float | None = None, hard: float | None = None) -> Tightening | None:
    """Bound the no-purchase shares of every decision better than ``incumbent``
    (:mod:`bundleopt.optimize.tighten`): one Lagrangian round, then passes of full
    bound tightening, heaviest segments first, in ``OBBT_BATCHES`` batches per pass,
    a Lagrangian round (leaving out ladder pairs) between passes and at the end,
    until ``OBBT_SHARE`` of ``time_limit`` or ``soft``; the last Lagrangian round may
    run past that, but nothing runs past ``hard`` (``time.perf_counter()`` values)."""
    from bundleopt.optimize.evaluate import evaluate

    profit = evaluate(scenario, incumbent).profit
    obbt_budget = None if time_limit is None else time_limit * OBBT_SHARE
    if soft is not None:
        obbt_budget = max(soft - time.perf_counter(), 0.0)
    _, lift = ladder_pairs(scenario, families_on(scenario, families), drop_dominated=True)
    keep = {(o, int(k)) for row in incumbent.levels for o, k in enumerate(row) if k != NOT_OFFERED}
    keep |= {(o, lift[(o, k)]) for o, k in keep if (o, k) in lift}
    try:
        tight = tighten_no_purchase(
            lambda x_range, exclude: build_model(scenario, families=families, x_range=x_range,
                                                 exclude=exclude),
            profit, keep=keep, max_rounds=1, threads=threads,
            obbt_order=[int(s) for s in np.argsort(-scenario.weights, kind="stable")],
            obbt_budget=obbt_budget, workers=threads or 1,
            obbt_batch=-(-scenario.n_segments // OBBT_BATCHES), deadline=hard)
    except (ValueError, RuntimeError, TriviallyInfeasible) as exc:
        notes.append(f"bound tightening skipped ({exc})")
        return None
    if tight.proved_optimal:
        notes.append("bound tightening: no decision beats the warm start; it is optimal")
    elif tight.root_bounds:
        notes.append(f"bound tightening: {len(tight.root_bounds)} Lagrangian rounds in {tight.seconds:.1f} s, "
                     f"root bound {tight.root_bounds[0]:.6g} -> {tight.root_bounds[-1]:.6g} "
                     f"(incumbent {profit:.6g}), {len(tight.exclude)} ladder pairs left out, "
                     f"full bound tightening narrowed {tight.obbt_segments} of {scenario.n_segments} "
                     f"segments' ranges in {tight.obbt_passes} complete passes")
    return tight


def _incumbent_run(scenario: Scenario, incumbent: Decision, tight: Tightening, seconds: float,
                   notes: list[str]) -> MilpRun:
    """The warm start, proved optimal by the bound tightening (no MILP needed)."""
    result = HighsResult(status="optimal", has_solution=True, objective=tight.incumbent,
                         bound=tight.incumbent, gap=0.0, values=np.zeros(0), handoff_s=0.0,
                         solve_s=0.0, nodes=0)
    return MilpRun(incumbent, result, {"build": 0.0, "handoff": 0.0, "solve": 0.0,
                                       "tighten": seconds}, notes)


def solve(
    scenario: Scenario,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    warm_start: bool = True,
    verbose: bool = False,
) -> Solution:
    """Choose offers and price levels maximising expected profit, exactly.

    Parameters
    ----------
    scenario : the problem (:class:`bundleopt.Scenario`).
    time_limit : seconds for HiGHS (None = no limit). When it runs out the best
        decision found is returned with ``status="time_limit"`` and its ``gap``.
    mip_gap : relative optimality gap at which the MILP stops (1e-4 = 0.01%).
    threads : HiGHS threads (None = HiGHS default).
    warm_start : start the MILP from the greedy add/drop heuristic.
    verbose : print the HiGHS log.

    Returns
    -------
    Solution, with ``method`` saying how it was solved.

    Raises
    ------
    InfeasibleScenarioError
        no decision satisfies the rules; the message names the conflicting families.

    Examples
    --------
    >>> import numpy as np, bundleopt
    >>> sc = bundleopt.Scenario.from_arrays(np.ones((1, 2, 1)), [1.0], [[2.0], [3.0]],
    ...                                     [1.0, 1.0], [1.0], max_offers=1)
    >>> sol = bundleopt.solve(sc, threads=1)
    >>> sol.method, list(sol.offers["offer"]), round(sol.profit, 6)
    ('lp-decomposed', [1], 1.0)
    """
    from bundleopt.optimize import coupled, decompose, diagnose

    if not isinstance(scenario, Scenario):
        raise ValueError(f"solve() needs a bundleopt.Scenario, got {type(scenario).__name__}")
    check_options(time_limit, mip_gap, threads, warm_start=warm_start, verbose=verbose)
    t0 = time.perf_counter()
    cheap = min(1.0, 0.05 * time_limit) if time_limit is not None else 1.0
    if decompose.decomposes(scenario):
        try:
            sol = decompose.solve_decomposed(scenario, milp=solve_milp, time_limit=time_limit, mip_gap=mip_gap,
                                             threads=threads, warm_start=warm_start, verbose=verbose)
        except diagnose.InfeasibleScenarioError:
            first = Candidate(None, None, "per-segment LPs")
            return _checked(scenario, [first], "lp-decomposed", {}, ["per-segment LPs: infeasible"],
                            "infeasible", None, t0, time_limit, mip_gap, threads, verbose, cheap)
        first = Candidate(sol.decision, sol.best_bound, "per-segment LPs")
        return _checked(scenario, [first], sol.method, sol.timings, list(sol.notes), sol.status,
                        sol.objective, t0, time_limit, mip_gap, threads, verbose, cheap)
    known = _relaxation_bound(scenario)
    if coupled.applies(scenario):
        return _solve_coupled(scenario, t0, time_limit, mip_gap, threads, verbose, cheap, known)
    # the greedy gets 0.9 of the limit when the MILP's build would not fit after its share
    share = GREEDY_SHARE if time_limit is None or \
        estimate_build_seconds(scenario) <= (1 - GREEDY_SHARE) * time_limit else 0.9
    run = solve_milp(scenario, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                     warm_start=warm_start, verbose=verbose, greedy_share=share)
    return _milp_answer(scenario, run, "milp", [], known, t0, time_limit, mip_gap, threads,
                        verbose, cheap)


def _relaxation_bound(scenario: Scenario) -> float:
    """A bound valid for every decision, from each segment's best menu with every rule
    but the level mask and the offer cap relaxed (:mod:`bundleopt.optimize.menu_oracle`):
    it makes the gap finite as soon as a decision exists."""
    from bundleopt.optimize.menu_oracle import relaxation_bound

    return relaxation_bound(scenario, families_on(scenario, None))


def _milp_answer(scenario: Scenario, run: MilpRun, method: str, extra: list[Candidate],
                 known: float, t0: float, time_limit: float | None, mip_gap: float,
                 threads: int | None, verbose: bool, cheap: float) -> Solution:
    """Hand a MILP run (and ``extra`` candidates) to :func:`_checked`; one candidate
    (HiGHS', or its warm start when HiGHS found nothing) carries the smallest bound
    known (HiGHS', the tightening's root bound, ``known``, the extras'), the others
    none: when a feasible decision refutes it (the rules' tolerances), the second
    opinion's own bound is reported instead."""
    res = run.result
    bound = min(b for b in (run.bound, known) if b is not None)
    for cand in extra:
        if cand.bound is not None:
            bound = min(bound, cand.bound)
    found = run.decision is not None
    cands = [Candidate(run.decision, bound if found else None, "HiGHS")]
    # without a HiGHS decision its warm start carries the bound (else the first extra)
    carrier = None if found else (run.incumbent if run.incumbent is not None else
                                  next((c.decision for c in extra if c.decision is not None), None))
    if run.incumbent is not None and not any(c.decision is run.incumbent for c in extra):
        cands.append(Candidate(run.incumbent, bound if carrier is run.incumbent else None,
                               "greedy warm start"))
    cands += [Candidate(c.decision, bound if carrier is c.decision and carrier is not None else None,
                        c.source) for c in extra]
    return _checked(scenario, cands, method, run.timings, run.notes, run.status,
                    None if res is None else res.objective, t0, time_limit, mip_gap, threads,
                    verbose, cheap)


# Share of the time limit the column generation of the coupled decomposition may use
# when the full MILP could follow it (its build fits in the rest); else 0.9.
COUPLED_SHARE = 0.5


def _solve_coupled(scenario: Scenario, t0: float, time_limit: float | None, mip_gap: float,
                   threads: int | None, verbose: bool, cheap: float, known: float) -> Solution:
    """Personalised prices with dualisable coupling rules (:mod:`bundleopt.optimize.coupled`):
    Lagrangian decomposition and repair; the MILP, warm-started from the repaired plan,
    only when the gap is above ``mip_gap`` and its build fits in the time left."""
    from bundleopt.optimize import coupled

    build_s = estimate_build_seconds(scenario)
    share = 0.9
    if time_limit is not None and build_s < (1 - COUPLED_SHARE) * time_limit:
        share = COUPLED_SHARE
    deadline = None if time_limit is None else t0 + share * time_limit
    try:
        res = coupled.solve_coupled(scenario, deadline=deadline, mip_gap=mip_gap, threads=threads)
    except (RuntimeError, ValueError) as exc:  # e.g. a segment's LP infeasible: the MILP decides
        res = coupled.CoupledResult(None, float("nan"), float("inf"), 0, False, False,
                                    [f"coupled decomposition stopped ({exc})"])
    bound = min(res.bound, known)
    timings = {"decompose": res.seconds}
    notes = list(res.notes)
    plan = None if res.decision is None else Candidate(res.decision, bound, "coupled decomposition")
    gap = float("inf") if plan is None else (bound - res.profit) / max(abs(res.profit), 1e-300)
    if bound <= 1e-6 * known:  # profits at the rules' tolerances: the exact rows and the
        gap = float("inf")     # evaluator's may disagree; the MILP and its checks decide
        notes.append("coupled decomposition: its bound is negligible next to the relaxation's; "
                     "the MILP decides")
    left = _remaining(time_limit, t0)
    if plan is not None and (gap <= mip_gap or (left is not None and left < build_s)):
        if gap > mip_gap:
            notes.append(f"MILP not built: {left:.2f} s left, its build takes about {build_s:.2f} s")
        status = "optimal" if gap <= mip_gap else ("time_limit" if time_limit is not None else "feasible")
        return _checked(scenario, [plan], "lagrangian-decomposed", timings, notes, status,
                        res.profit, t0, time_limit, mip_gap, threads, verbose, cheap)
    notes.append("coupled decomposition: gap above mip_gap; the MILP, warm-started from the "
                 "repaired plan, gets the time left" if plan is not None else
                 "coupled decomposition: no plan; the MILP gets the time left")
    run = solve_milp(scenario, time_limit=left, mip_gap=mip_gap, threads=threads, verbose=verbose,
                     start=None if plan is None else plan.decision)
    run.notes[:0] = notes
    run.timings.update(timings)
    return _milp_answer(scenario, run, "lagrangian-decomposed+milp", [] if plan is None else [plan],
                        bound, t0, time_limit, mip_gap, threads, verbose, cheap)


def _checked(scenario: Scenario, cands: list[Candidate], method: str, timings: dict[str, float],
             notes: list[str], status: str, objective: float | None, t0: float,
             time_limit: float | None, mip_gap: float, threads: int | None, verbose: bool,
             cheap: float) -> Solution:
    """Judge the candidates (:mod:`bundleopt.optimize.certify`), get a second opinion
    (no tightening, :data:`~bundleopt.optimize.certify.SAFE_OPTIONS`) when the first
    answer is not trusted alone, and assemble the Solution; raise when no feasible
    decision exists (infeasibility confirmed by both solves) or none was found."""
    from bundleopt.optimize import diagnose

    first = cands[0]
    incumbent = cands[1] if len(cands) > 1 else None
    # offering nothing is a decision too: the fallback when every solver answer breaks a rule
    cands = [*cands, Candidate(Decision(np.full((scenario.n_menus, scenario.n_offers), NOT_OFFERED)),
                               None, "nothing offered")]
    verdict = judge(scenario, cands, mip_gap)
    notes = list(notes)
    statuses = {status}
    objectives = {first.source: objective}
    reason = needs_second_opinion(verdict, first, incumbent, time.perf_counter() - t0, cheap)
    left = _remaining(time_limit, t0)
    if reason is not None and (left is None or left > 0.05):
        limit = left if reason != "it was cheap enough to check" else _min(left, max(1.0, 10 * cheap))
        # after the per-segment LPs the MILP (warm-started, tightened) is the independent
        # method; after the MILP, the MILP again without presolve and tightening
        safe = {} if method.startswith("lp-decomposed") else {"tighten": False,
                                                               "highs_options": SAFE_OPTIONS}
        second = solve_milp(scenario, time_limit=limit, mip_gap=mip_gap, threads=threads,
                            warm_start=incumbent is None or incumbent.decision is None,
                            verbose=verbose, **safe)
        res = second.result
        cands = [*cands, Candidate(second.decision, res.bound if res is not None and second.decision
                                   is not None else None, "second opinion")]
        if second.incumbent is not None:
            cands.append(Candidate(second.incumbent, None, "greedy warm start"))
        statuses.add(second.status)
        objectives["second opinion"] = None if res is None else res.objective
        for key, value in second.timings.items():
            timings[key] = timings.get(key, 0.0) + value
        verdict = judge(scenario, cands, mip_gap)
        how = "the MILP" if not safe else "no presolve, no tightening, tolerances 1e-9"
        notes.append(f"second opinion ({how}): {reason}")
    notes.extend(verdict.notes)
    if verdict.decision is None:
        if "infeasible" in statuses:  # and no other solve found a feasible decision
            diagnose.raise_infeasible(scenario, threads=threads)
        raise SolverError(f"HiGHS stopped ({', '.join(sorted(statuses))}) without a feasible "
                          "decision; raise time_limit or relax the rules")
    if verdict.proved:
        final = "optimal"
    elif "time_limit" in statuses:
        final = "time_limit"
    else:
        final = "feasible"
    chosen = next(c.source for c in cands if c.decision is not None
                  and np.array_equal(c.decision.levels, verdict.decision.levels))
    obj = objectives.get(chosen)
    timings = {**timings, "total": time.perf_counter() - t0}
    return make_solution(scenario, verdict.decision, status=final,
                         objective=verdict.profit if obj is None else obj,
                         best_bound=verdict.bound, gap=verdict.gap, timings=timings, method=method,
                         notes=tuple(notes))


def _min(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)
