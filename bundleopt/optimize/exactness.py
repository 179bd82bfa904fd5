"""The exactness oracle: :func:`check_exactness` compares :func:`bundleopt.solve` with brute
force on one scenario and names what went wrong, if anything (:data:`OUTCOMES`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bundleopt.scenario import Scenario

if TYPE_CHECKING:
    from bundleopt.solution import Solution

__all__ = ["OUTCOMES", "ExactnessCheck", "check_exactness", "profit_scale"]

#: Outcomes of :func:`check_exactness`, worst first (a case gets the first that applies).
OUTCOMES: tuple[str, ...] = (
    "solver_error",        # solve raised something other than InfeasibleScenarioError
    "false_infeasible",    # InfeasibleScenarioError, but brute force found a feasible decision
    "false_feasible",      # a decision returned, but no decision satisfies the rules
    "rule_breaking",       # the returned decision breaks a rule (evaluate, tol 1e-9)
    "cut_off",             # best bound below the true optimum: the optimum was cut off
    "false_optimal",       # status "optimal" but the profit is short of the optimum
    "beats_brute_force",   # a feasible decision better than brute force's (an oracle bug)
    "not_proved",          # honest but weak: status not "optimal" (valid bound, true gap)
    "ok",                  # same optimum, valid bound, rule-abiding decision
    "ok_infeasible",       # both say infeasible
    "too_large",           # brute force would enumerate too many decisions: not checked
)


@dataclass(frozen=True)
class ExactnessCheck:
    """What :func:`check_exactness` found on one scenario (plain data).

    ``outcome`` is the worst of ``flags`` in ``OUTCOMES`` order; ``optimum`` is brute
    force's profit (None when infeasible or too large); ``profit``, ``objective``,
    ``bound``, ``status``, ``method`` come from the ``Solution`` (None when ``solve``
    raised, then ``error`` holds the message); ``violations`` are the evaluator's
    messages for the returned decision; ``tol`` the absolute tolerance used.
    """

    outcome: str
    flags: tuple[str, ...]
    optimum: float | None
    profit: float | None
    objective: float | None
    bound: float | None
    status: str | None
    method: str | None
    violations: tuple[str, ...]
    error: str | None
    tol: float
    seconds: float

    def shortfall(self) -> float | None:
        """``(optimum - bound) / |optimum|`` when the bound cuts the optimum off (``inf``
        when the optimum is 0 or the bound NaN), else None."""
        if self.optimum is None or self.bound is None or self.bound >= self.optimum - self.tol:
            return None
        if self.optimum == 0.0 or not np.isfinite(self.bound):
            return float("inf")
        return (self.optimum - self.bound) / abs(self.optimum)

    def summary(self) -> str:
        parts = [self.outcome, f"optimum={self.optimum!r}", f"profit={self.profit!r}",
                 f"bound={self.bound!r}", f"objective={self.objective!r}", f"status={self.status}",
                 f"method={self.method}"]
        if self.violations:
            parts.append(f"violations={list(self.violations)[:3]}")
        if self.error:
            parts.append(f"error={self.error[:300]}")
        return " ".join(parts)


def profit_scale(scenario: Scenario) -> float:
    """``M sum_s w_s max_{o,k} |p_ok - c_o|``: no decision's profit exceeds it in size,
    and every profit is a sum of terms at most this large, so double-precision LP
    answers are exact to a small multiple of 1e-9 of it, not of an optimum near 0."""
    margin = np.abs(np.nan_to_num(scenario.prices - scenario.costs[:, None]))
    return float(scenario.market_size * (scenario.weights * margin.max()).sum()) or 1.0


def check_exactness(
    scenario: Scenario,
    *,
    rtol: float = 1e-6,
    atol: float | None = None,
    mip_gap: float = 1e-9,
    threads: int | None = 1,
    time_limit: float | None = None,
    max_decisions: int = 2_000_000,
    solver: Callable[..., Solution] | None = None,
) -> ExactnessCheck:
    """Compare :func:`bundleopt.solve` (or ``solver``, same signature) with brute force.

    Ground truth: :func:`bundleopt.optimize.brute_force.brute_force` enumerates every
    decision and checks it with the evaluator, without the MILP. The answer of
    ``solve(scenario, mip_gap=mip_gap)`` is then checked independently: its decision
    re-evaluated by :func:`bundleopt.optimize.evaluation.evaluate` (every rule, default
    tolerance, and the profit), its best bound ``>= optimum - tol``, and its claims:
    ``status="optimal"`` needs the profit within ``tol`` of the optimum; a weaker
    answer honestly labelled (status not "optimal", valid bound, so a true gap) is
    ``"not_proved"``; ``tol = rtol |optimum| + atol`` (``atol`` defaults to 1e-9 of
    :func:`profit_scale`: an optimum near 0 among profits of order 1 is only known to
    floating-point accuracy of the latter). The solver's own ``objective`` is not
    judged (it is the solver's value of its conditioned model; profit, bound and gap
    are what a user relies on). ``InfeasibleScenarioError`` must come exactly when
    brute force finds no feasible decision. Outcomes: ``OUTCOMES``.
    """
    import time

    from bundleopt.optimize.brute_force import brute_force
    from bundleopt.optimize.diagnose import InfeasibleScenarioError
    from bundleopt.optimize.evaluation import evaluate

    if solver is None:
        from bundleopt.optimize import solve as solver

    atol = 1e-9 * profit_scale(scenario) if atol is None else atol
    t0 = time.perf_counter()
    optimum: float | None = None
    try:
        optimum = brute_force(scenario, max_decisions=max_decisions)[1].profit
    except ValueError as exc:
        if "too large" in str(exc):
            return ExactnessCheck("too_large", ("too_large",), None, None, None, None, None, None, (),
                                  str(exc), atol, time.perf_counter() - t0)
        if "infeasible" not in str(exc):
            raise
    tol = rtol * abs(optimum or 0.0) + atol
    flags: list[str] = []
    sol, error = None, None
    try:
        sol = solver(scenario, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    except InfeasibleScenarioError as exc:
        error = f"InfeasibleScenarioError: {exc}"
        flags.append("false_infeasible" if optimum is not None else "ok_infeasible")
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding
        error = f"{type(exc).__name__}: {exc}"
        flags.append("solver_error")
    violations: tuple[str, ...] = ()
    if sol is not None:
        ev = evaluate(scenario, sol.decision)
        violations = tuple(ev.violations)
        if optimum is None:
            flags.append("false_feasible")
        if violations:
            flags.append("rule_breaking")
        if optimum is not None:
            if not sol.best_bound >= optimum - tol:  # NaN counts as cut off
                flags.append("cut_off")
            if ev.feasible and ev.profit < optimum - tol:
                flags.append("false_optimal" if sol.status == "optimal" else "not_proved")
            if ev.feasible and ev.profit > optimum + tol:
                flags.append("beats_brute_force")
        if not abs(ev.profit - sol.profit) <= tol:
            flags.append("solver_error")  # the Solution's profit is not its decision's
        if sol.status != "optimal" and time_limit is None:
            flags.append("not_proved")
    flags = flags or ["ok"]
    outcome = min(flags, key=OUTCOMES.index)
    return ExactnessCheck(
        outcome=outcome, flags=tuple(sorted(set(flags), key=OUTCOMES.index)), optimum=optimum,
        profit=None if sol is None else sol.profit, objective=None if sol is None else sol.objective,
        bound=None if sol is None else sol.best_bound, status=None if sol is None else sol.status,
        method=None if sol is None else sol.method, violations=violations, error=error, tol=tol,
        seconds=time.perf_counter() - t0,
    )
