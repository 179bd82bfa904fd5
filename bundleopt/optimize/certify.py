"""Every answer checked before it is returned: rules, profit, bound and status.

HiGHS works to tolerances (1e-7 feasibility in the conditioned model) and its
presolve can, on badly scaled models, cut the optimum off or call a feasible model
infeasible. Nothing it says is passed on unchecked (``formulations/milp.md``,
"Certified answers"):

* every candidate decision (HiGHS's, the greedy warm start, a second opinion's) is
  scored by the exact evaluator (:func:`bundleopt.optimize.evaluation.evaluate`) with
  the rules' own tolerances; one that breaks a rule is never returned;
* the decision returned is the best feasible candidate by exact profit;
* a best bound below the exact profit of a feasible candidate is refuted (it cannot
  be valid) and discarded; of the bounds not refuted the largest is reported (it is
  valid when any of them is), so ``gap = (bound - profit) / |profit|`` is a true
  statement whenever one solve's bound is;
* ``"optimal"`` is said only when that gap is within ``mip_gap``; a run that ended
  on its time limit says ``"time_limit"``; a decision with no bound left that
  survives the checks says ``"feasible"``.

:func:`needs_second_opinion` says when :func:`bundleopt.optimize.dispatch.solve`
re-solves with :data:`~bundleopt.optimize.highs_backend.SAFE_OPTIONS` (presolve off, tolerances 1e-9, no bound
tightening): a rule broken, a bound refuted, HiGHS beaten by the warm start,
"infeasible" although the warm start is feasible, and every solve cheap enough that
a second one costs little.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.highs_backend import SAFE_OPTIONS  # the second opinion's HiGHS settings
from bundleopt.scenario import Decision, Scenario


@dataclass(frozen=True)
class Candidate:
    """A decision some solve proposed, with that solve's best bound (None: no bound)."""

    decision: Decision | None
    bound: float | None
    source: str


@dataclass(frozen=True)
class Verdict:
    """What :func:`judge` concluded: the decision to return (None: no feasible
    candidate), its exact profit, the bound and gap reported, and notes on what was
    discarded."""

    decision: Decision | None
    profit: float
    bound: float
    gap: float
    proved: bool
    notes: tuple[str, ...]
    broken: tuple[str, ...]  # sources whose decision broke a rule
    refuted: tuple[str, ...]  # sources whose bound lay below a feasible profit


def tolerance(scenario: Scenario, profit: float) -> float:
    """Absolute slack when comparing profits and bounds: 1e-7 relative, at least
    1e-12 of the market size (the solver's own tolerances are 1e-7 relative)."""
    return max(1e-7 * abs(profit), 1e-12 * scenario.market_size)


def relative_gap(bound: float, profit: float, scenario: Scenario) -> float:
    """``(bound - profit) / |profit|`` (0 when within :func:`tolerance`; inf without a bound)."""
    if not np.isfinite(bound):
        return float("inf")
    excess = bound - profit
    if excess <= tolerance(scenario, profit):
        return 0.0
    return excess / max(abs(profit), 1e-12 * scenario.market_size)


def judge(scenario: Scenario, candidates: Sequence[Candidate], mip_gap: float) -> Verdict:
    """The best feasible candidate by exact profit and the largest bound not refuted
    (module docstring)."""
    notes: list[str] = []
    broken: list[str] = []
    best: tuple[float, Decision, str] | None = None
    for cand in candidates:
        if cand.decision is None:
            continue
        ev = evaluate(scenario, cand.decision)
        if ev.violations:
            broken.append(cand.source)
            notes.append(f"{cand.source}: decision breaks a rule ({ev.violations[0]}); not used")
            continue
        if best is None or ev.profit > best[0]:
            best = (ev.profit, cand.decision, cand.source)
    if best is None:
        return Verdict(None, float("nan"), float("inf"), float("inf"), False, tuple(notes),
                       tuple(broken), ())
    profit, decision, _ = best
    tol = tolerance(scenario, profit)
    refuted = [c.source for c in candidates
               if c.bound is not None and np.isfinite(c.bound) and c.bound < profit - tol]
    for source in refuted:
        notes.append(f"{source}: best bound lies below the exact profit of a feasible decision; "
                     "that bound is discarded")
    valid = [c.bound for c in candidates if c.bound is not None and c.source not in refuted]
    bound = max(valid) if valid else float("inf")
    if bound == -np.inf or np.isnan(bound):
        bound = float("inf")
    bound = max(bound, profit)  # a valid bound is never below a feasible profit
    gap = relative_gap(bound, profit, scenario)
    return Verdict(decision, profit, bound, gap, bool(gap <= mip_gap), tuple(notes),
                   tuple(broken), tuple(refuted))


def needs_second_opinion(verdict: Verdict, first: Candidate, incumbent: Candidate | None,
                         seconds: float, cheap: float) -> str | None:
    """Why the first solve is not trusted alone (None: it is)."""
    if first.source in verdict.broken:
        return "its decision broke a rule"
    if first.source in verdict.refuted:
        return "its best bound lay below a feasible decision's profit"
    if first.decision is None:  # "infeasible" (or nothing in time) is confirmed independently
        if incumbent is not None and incumbent.decision is not None \
                and incumbent.source not in verdict.broken:
            return "it found no decision although the warm start is feasible"
        return "it found no feasible decision"
    if verdict.decision is not None and first.decision is not None \
            and not _same(first.decision, verdict.decision):
        return "the warm start beat its decision"
    if seconds <= cheap:
        return "it was cheap enough to check"
    return None


def _same(a: Decision, b: Decision) -> bool:
    return a.levels.shape == b.levels.shape and bool(np.all(a.levels == b.levels))


__all__ = ["SAFE_OPTIONS", "Candidate", "Verdict", "judge", "needs_second_opinion",
           "relative_gap", "tolerance"]
