"""``solve(scenario) -> Solution``: pick the method, run it, check the answer.

(This module was ``optimize/solve.py``; it was renamed because
``bundleopt.optimize.solve`` is the function re-exported by the package.)

* every rule per segment and prices per segment (or one segment):
  :mod:`bundleopt.optimize.decompose` solves one exact LP per segment;
* personalised prices with dualisable coupling rules: :mod:`bundleopt.optimize.coupled`
  (Lagrangian decomposition and repair), then the MILP when the gap is too wide;
* otherwise the MILP (:func:`bundleopt.optimize.milp.solve_milp`), warm-started
  from :func:`bundleopt.optimize.greedy.greedy_add_drop` and bound-tightened.

Every answer is judged (:mod:`bundleopt.optimize.certify`) before it is returned.

An infeasible scenario raises :class:`~bundleopt.optimize.diagnose.InfeasibleScenarioError`
naming the conflicting rule families.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bundleopt.checks import flag, number
from bundleopt.optimize import coupled, decompose, diagnose
from bundleopt.optimize.assemble import make_solution
from bundleopt.optimize.certify import Candidate, judge, needs_second_opinion
from bundleopt.optimize.highs_backend import SAFE_OPTIONS
from bundleopt.optimize.menu_oracle import relaxation_bound
from bundleopt.optimize.milp import (
    GREEDY_SHARE,
    MilpRun,
    SolverError,
    estimate_build_seconds,
    solve_milp,
)
from bundleopt.optimize.model import families_on
from bundleopt.optimize.schedule import TighteningOptions
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario
from bundleopt.solution import Solution, StageRecord

# Share of the time limit the column generation of the coupled decomposition may use
# when the full MILP could follow it (its build fits in the rest); else 0.9.
COUPLED_SHARE = 0.5


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


def solve(
    scenario: Scenario,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    warm_start: bool = True,
    verbose: bool = False,
    tightening: TighteningOptions | None = None,
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
    tightening : settings of the bound tightening before the MILP
        (:class:`~bundleopt.optimize.schedule.TighteningOptions`; None = defaults).

    Returns
    -------
    Solution, with ``method`` saying how it was solved and ``tightening_log`` what
    each tightening stage did.

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
    if not isinstance(scenario, Scenario):
        raise ValueError(f"solve() needs a bundleopt.Scenario, got {type(scenario).__name__}")
    check_options(time_limit, mip_gap, threads, warm_start=warm_start, verbose=verbose)
    if tightening is not None and not isinstance(tightening, TighteningOptions):
        raise ValueError("tightening must be a bundleopt.TighteningOptions or None, "
                         f"got {type(tightening).__name__}")
    run = _Settings(time.perf_counter(), time_limit, mip_gap, threads, verbose,
                    tightening or TighteningOptions())
    if decompose.decomposes(scenario):
        try:
            sol = decompose.solve_decomposed(scenario, milp=solve_milp, time_limit=time_limit, mip_gap=mip_gap,
                                             threads=threads, warm_start=warm_start, verbose=verbose)
        except diagnose.InfeasibleScenarioError:
            first = Candidate(None, None, "per-segment LPs")
            return _checked(scenario, [first], "lp-decomposed", {}, ["per-segment LPs: infeasible"],
                            "infeasible", None, run)
        first = Candidate(sol.decision, sol.best_bound, "per-segment LPs")
        return _checked(scenario, [first], sol.method, sol.timings, list(sol.notes), sol.status,
                        sol.objective, run, sol.tightening_log)
    known = _relaxation_bound(scenario)
    if coupled.applies(scenario):
        return _solve_coupled(scenario, run, known)
    # the greedy gets 0.9 of the limit when the MILP's build would not fit after its share
    share = GREEDY_SHARE if time_limit is None or \
        estimate_build_seconds(scenario) <= (1 - GREEDY_SHARE) * time_limit else 0.9
    milp = solve_milp(scenario, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                      warm_start=warm_start, verbose=verbose, greedy_share=share,
                      tightening=run.tightening)
    return _milp_answer(scenario, milp, "milp", [], known, run)


@dataclass(frozen=True)
class _Settings:
    """One call of :func:`solve`: its start (``time.perf_counter()``) and settings."""

    t0: float
    time_limit: float | None
    mip_gap: float
    threads: int | None
    verbose: bool
    tightening: TighteningOptions

    @property
    def cheap(self) -> float:
        """Seconds under which a first answer is always checked by a second solve."""
        return min(1.0, 0.05 * self.time_limit) if self.time_limit is not None else 1.0

    def left(self) -> float | None:
        """Seconds left of the time limit (at least 0.01; None without one)."""
        if self.time_limit is None:
            return None
        return max(self.time_limit - (time.perf_counter() - self.t0), 0.01)


def _relaxation_bound(scenario: Scenario) -> float:
    """A bound valid for every decision, from each segment's best menu with every rule
    but the level mask and the offer cap relaxed (:mod:`bundleopt.optimize.menu_oracle`):
    it makes the gap finite as soon as a decision exists."""
    return relaxation_bound(scenario, families_on(scenario, None))


def _milp_answer(scenario: Scenario, milp: MilpRun, method: str, extra: list[Candidate],
                 known: float, run: _Settings) -> Solution:
    """Hand a MILP run (and ``extra`` candidates) to :func:`_checked`; one candidate
    (HiGHS', or its warm start when HiGHS found nothing) carries the smallest bound
    known (HiGHS', the tightening's root bound, ``known``, the extras'), the others
    none: when a feasible decision refutes it (the rules' tolerances), the second
    opinion's own bound is reported instead."""
    res = milp.result
    bound = min(b for b in (milp.bound, known) if b is not None)
    for cand in extra:
        if cand.bound is not None:
            bound = min(bound, cand.bound)
    found = milp.decision is not None
    cands = [Candidate(milp.decision, bound if found else None, "HiGHS")]
    # without a HiGHS decision its warm start carries the bound (else the first extra)
    carrier = None if found else (milp.incumbent if milp.incumbent is not None else
                                  next((c.decision for c in extra if c.decision is not None), None))
    if milp.incumbent is not None and not any(c.decision is milp.incumbent for c in extra):
        cands.append(Candidate(milp.incumbent, bound if carrier is milp.incumbent else None,
                               "greedy warm start"))
    cands += [Candidate(c.decision, bound if carrier is c.decision and carrier is not None else None,
                        c.source) for c in extra]
    return _checked(scenario, cands, method, milp.timings, milp.notes, milp.status,
                    None if res is None else res.objective, run, milp.tightening)


def _solve_coupled(scenario: Scenario, run: _Settings, known: float) -> Solution:
    """Personalised prices with dualisable coupling rules (:mod:`bundleopt.optimize.coupled`):
    Lagrangian decomposition and repair; the MILP, warm-started from the repaired plan,
    only when the gap is above ``mip_gap`` and its build fits in the time left."""
    build_s = estimate_build_seconds(scenario)
    share = 0.9
    if run.time_limit is not None and build_s < (1 - COUPLED_SHARE) * run.time_limit:
        share = COUPLED_SHARE
    deadline = None if run.time_limit is None else run.t0 + share * run.time_limit
    try:
        res = coupled.solve_coupled(scenario, deadline=deadline, mip_gap=run.mip_gap,
                                    threads=run.threads)
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
    left = run.left()
    if plan is not None and (gap <= run.mip_gap or (left is not None and left < build_s)):
        if gap > run.mip_gap:
            notes.append(f"MILP not built: {left:.2f} s left, its build takes about {build_s:.2f} s")
        status = "optimal" if gap <= run.mip_gap else ("time_limit" if run.time_limit is not None
                                                       else "feasible")
        return _checked(scenario, [plan], "lagrangian-decomposed", timings, notes, status,
                        res.profit, run)
    notes.append("coupled decomposition: gap above mip_gap; the MILP, warm-started from the "
                 "repaired plan, gets the time left" if plan is not None else
                 "coupled decomposition: no plan; the MILP gets the time left")
    milp = solve_milp(scenario, time_limit=left, mip_gap=run.mip_gap, threads=run.threads,
                      verbose=run.verbose, start=None if plan is None else plan.decision,
                      tightening=run.tightening)
    milp.notes[:0] = notes
    milp.timings.update(timings)
    return _milp_answer(scenario, milp, "lagrangian-decomposed+milp", [] if plan is None else [plan],
                        bound, run)


def _checked(scenario: Scenario, cands: list[Candidate], method: str, timings: dict[str, float],
             notes: list[str], status: str, objective: float | None, run: _Settings,
             log: tuple[StageRecord, ...] = ()) -> Solution:
    """Judge the candidates (:mod:`bundleopt.optimize.certify`), get a second opinion
    (no tightening, :data:`~bundleopt.optimize.highs_backend.SAFE_OPTIONS`) when the first
    answer is not trusted alone, and assemble the Solution (``log``: the first solve's
    tightening records); raise when no feasible decision exists (infeasibility
    confirmed by both solves) or none was found."""
    first = cands[0]
    incumbent = cands[1] if len(cands) > 1 else None
    # offering nothing is a decision too: the fallback when every solver answer breaks a rule
    cands = [*cands, Candidate(Decision(np.full((scenario.n_menus, scenario.n_offers), NOT_OFFERED)),
                               None, "nothing offered")]
    verdict = judge(scenario, cands, run.mip_gap)
    notes = list(notes)
    statuses = {status}
    objectives = {first.source: objective}
    reason = needs_second_opinion(verdict, first, incumbent, time.perf_counter() - run.t0, run.cheap)
    left = run.left()
    if reason is not None and (left is None or left > 0.05):
        limit = left if reason != "it was cheap enough to check" else _min(left, max(1.0, 10 * run.cheap))
        # after the per-segment LPs the MILP (warm-started, tightened) is the independent
        # method; after the MILP, the MILP again without presolve and tightening
        safe = {} if method.startswith("lp-decomposed") else {"tighten": False,
                                                               "highs_options": SAFE_OPTIONS}
        second = solve_milp(scenario, time_limit=limit, mip_gap=run.mip_gap, threads=run.threads,
                            warm_start=incumbent is None or incumbent.decision is None,
                            verbose=run.verbose, tightening=run.tightening, **safe)
        res = second.result
        cands = [*cands, Candidate(second.decision, res.bound if res is not None and second.decision
                                   is not None else None, "second opinion")]
        if second.incumbent is not None:
            cands.append(Candidate(second.incumbent, None, "greedy warm start"))
        statuses.add(second.status)
        objectives["second opinion"] = None if res is None else res.objective
        for key, value in second.timings.items():
            timings[key] = timings.get(key, 0.0) + value
        log = (*log, *second.tightening)
        verdict = judge(scenario, cands, run.mip_gap)
        how = "the MILP" if not safe else "no presolve, no tightening, tolerances 1e-9"
        notes.append(f"second opinion ({how}): {reason}")
    notes.extend(verdict.notes)
    if verdict.decision is None:
        if "infeasible" in statuses:  # and no other solve found a feasible decision
            diagnose.raise_infeasible(scenario, threads=run.threads)
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
    timings = {**timings, "total": time.perf_counter() - run.t0}
    return make_solution(scenario, verdict.decision, status=final,
                         objective=verdict.profit if obj is None else obj,
                         best_bound=verdict.bound, gap=verdict.gap, timings=timings, method=method,
                         notes=tuple(notes), tightening_log=log)


def _min(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)


__all__ = ["COUPLED_SHARE", "SolverError", "check_options", "solve"]
