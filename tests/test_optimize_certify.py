"""Every answer is checked before it is returned (optimize/certify.py, solve's _checked)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.certify import Candidate, judge, relative_gap
from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import NOT_OFFERED, Constraints, Decision

# the module, not the function of the same name that bundleopt.optimize re-exports
solve_module = importlib.import_module("bundleopt.optimize.dispatch")
solve = solve_module.solve


def _scenario():
    return random_instance(4, 2, 2, seed=3, constraints=Constraints(max_offers=2))


def _all(sc, level: int) -> Decision:
    return Decision(np.full((sc.n_menus, sc.n_offers), level))


def test_rule_breaking_candidate_is_never_returned() -> None:
    sc = _scenario()
    breaking = _all(sc, 0)  # all four offers on: breaks max_offers=2
    assert evaluate(sc, breaking).violations
    best_dec, best_ev = brute_force(sc)
    v = judge(sc, [Candidate(breaking, 1e9, "bad"), Candidate(best_dec, best_ev.profit, "good")], 1e-4)
    assert v.decision is not None and np.array_equal(v.decision.levels, best_dec.levels)
    assert v.broken == ("bad",) and v.proved is False  # the bad source's bound 1e9 still counts


def test_bound_below_a_feasible_profit_is_refuted() -> None:
    sc = _scenario()
    best_dec, best_ev = brute_force(sc)
    low = best_ev.profit * 0.9
    v = judge(sc, [Candidate(_all(sc, NOT_OFFERED), low, "cut-off"),
                   Candidate(best_dec, None, "warm start")], 1e-4)
    assert v.refuted == ("cut-off",)
    assert v.bound == np.inf and not v.proved and v.profit == pytest.approx(best_ev.profit)
    # with a valid bound beside it, the largest unrefuted bound is reported
    v = judge(sc, [Candidate(_all(sc, NOT_OFFERED), low, "cut-off"),
                   Candidate(best_dec, best_ev.profit, "exact")], 1e-4)
    assert v.proved and v.bound == pytest.approx(best_ev.profit)


def test_relative_gap() -> None:
    sc = _scenario()
    assert relative_gap(np.inf, 1.0, sc) == np.inf
    assert relative_gap(1.0 + 1e-12, 1.0, sc) == 0.0
    assert relative_gap(1.1, 1.0, sc) == pytest.approx(0.1)


def test_solve_never_returns_a_rule_breaking_decision(monkeypatch) -> None:
    """HiGHS's answer breaking a rule (forced here) is replaced by a checked one."""
    sc = random_instance(4, 2, 2, seed=5, constraints=Constraints(max_offers=1))
    real = solve_module.solve_milp
    calls = []

    def lying(scenario, **kw):
        run = real(scenario, **kw)
        calls.append(kw)
        if len(calls) == 1:  # the first answer: everything on, claimed optimal
            run.decision = _all(scenario, 0)
        return run

    monkeypatch.setattr(solve_module, "solve_milp", lying)
    sol = solve(sc, threads=1)
    assert not evaluate(sc, sol.decision).violations
    assert sol.profit == pytest.approx(brute_force(sc)[1].profit, rel=1e-6)
    assert len(calls) == 2 and calls[1]["tighten"] is False  # a second opinion was asked
    from bundleopt.optimize.highs_backend import SAFE_OPTIONS

    assert calls[1]["highs_options"] == SAFE_OPTIONS and SAFE_OPTIONS["presolve"] == "off"
    assert any("second opinion" in n for n in sol.notes)


def test_false_infeasible_is_not_raised(monkeypatch) -> None:
    """A first solve wrongly saying "infeasible" is overruled by the second opinion."""
    sc = random_instance(4, 2, 2, seed=6, constraints=Constraints(max_offers=2))
    real = solve_module.solve_milp
    calls = []

    def lying(scenario, **kw):
        calls.append(kw)
        run = real(scenario, **kw)
        if len(calls) == 1:
            run.decision, run.result, run.incumbent = None, None, None
        return run

    monkeypatch.setattr(solve_module, "solve_milp", lying)
    sol = solve(sc, threads=1)
    assert sol.profit == pytest.approx(brute_force(sc)[1].profit, rel=1e-6)
    assert sol.status == "optimal"
