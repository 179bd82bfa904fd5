"""Rules that couple personalised segments, by Lagrangian decomposition
(optimize/coupled.py, formulations/coupled_decomposition.md), and the exact
best-menu oracle it prices with (optimize/menu_oracle.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bundleopt.optimize import solve
from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.coupled import applies, coupling_rows, solve_coupled
from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.instances import random_instance, stress_instance
from bundleopt.optimize.menu_oracle import best_menu, relaxation_bound
from bundleopt.optimize.milp import solve_milp
from bundleopt.optimize.model import active_families
from bundleopt.scenario import NOT_OFFERED, Constraints

FAST = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

coupling = st.fixed_dictionaries({}, optional={
    "min_margin_rate": st.sampled_from([0.4, 0.55, 0.65]),
    "max_cannibalisation": st.sampled_from([0.2, 0.5]),
    "stock": st.sampled_from([{"p0": 0.2}, {"p1": 0.05, "p0": 0.3}]),
    "max_offers": st.integers(1, 3),
    "min_margin": st.sampled_from([0.3, 0.5]),
})


def _menu_brute(v, v0, reward, mask, cap):
    """Best menu by enumeration (one level or nothing per offer)."""
    n_o, n_k = v.shape
    best = 0.0
    for choice in itertools.product(range(-1, n_k), repeat=n_o):
        on = [(o, k) for o, k in enumerate(choice) if k >= 0]
        if any(not mask[o, k] for o, k in on) or (cap is not None and len(on) > cap):
            continue
        den = v0 + sum(v[o, k] for o, k in on)
        best = max(best, sum(v[o, k] * reward[o, k] for o, k in on) / den)
    return best


@FAST
@given(seed=st.integers(0, 10_000), cap=st.sampled_from([None, 1, 2]),
       spread=st.sampled_from([1.0, 1e3, 1e6]))
def test_best_menu_matches_enumeration(seed: int, cap: int | None, spread: float) -> None:
    rng = np.random.default_rng(seed)
    v = np.exp(rng.uniform(-np.log(spread), np.log(spread), (4, 3)))
    reward = rng.normal(1.0, 1.5, (4, 3))
    mask = rng.random((4, 3)) < 0.8
    v0 = float(np.exp(rng.uniform(-2, 2)))
    value, bound, levels = best_menu(v, v0, reward, mask, cap)
    truth = _menu_brute(v, v0, reward, mask, cap)
    assert value == pytest.approx(truth, rel=1e-9, abs=1e-12)
    assert bound >= truth * (1 - 1e-12) - 1e-15
    on = levels != NOT_OFFERED
    assert cap is None or on.sum() <= cap
    assert np.all(mask[np.flatnonzero(on), levels[on]])


@FAST
@given(seed=st.integers(0, 10_000), chosen=coupling, regime=st.sampled_from(["plain", "wide", "weights"]))
def test_coupled_equals_brute_force(seed: int, chosen: dict, regime: str) -> None:
    """solve() on personalised scenarios with coupling rows: the brute-force optimum,
    a valid Lagrangian bound, and a decision that keeps every rule."""
    assume(any(k in chosen for k in ("min_margin_rate", "max_cannibalisation", "stock")))
    if regime == "plain":
        sc = random_instance(4, 3, 2, personalised=True, seed=seed, constraints=Constraints(**chosen))
    else:
        sc = stress_instance(4, 3, 2, personalised=True, seed=seed, constraints=Constraints(**chosen),
                             utility_spread=np.log(1e6) if regime == "wide" else None,
                             weight_eps=0.01 if regime == "weights" else None)
    assert applies(sc)
    try:
        _, best = brute_force(sc)
    except ValueError as exc:
        assume("infeasible" not in str(exc))
        raise
    res = solve_coupled(sc)
    assert res.bound >= best.profit - 1e-9 * max(1.0, abs(best.profit))  # valid for any lam >= 0
    if res.decision is not None:
        ev = evaluate(sc, res.decision)
        assert ev.feasible, ev.violations
        assert ev.profit == pytest.approx(res.profit, rel=1e-9, abs=1e-12)
    sol = solve(sc, threads=1, mip_gap=1e-9)
    assert sol.method.startswith("lagrangian-decomposed"), sol.method
    assert sol.profit == pytest.approx(best.profit, rel=1e-6, abs=1e-9), (chosen, sol.notes)
    assert sol.best_bound >= best.profit - 1e-9 * max(1.0, abs(best.profit))


def test_uncoupled_optimum_that_keeps_the_rows_is_returned_at_once() -> None:
    sc = random_instance(30, 5, 4, personalised=True, seed=2,
                         constraints=Constraints(min_margin_rate=0.05))
    res = solve_coupled(sc)
    assert res.optimal_at_zero and res.rounds == 0
    assert res.bound == pytest.approx(res.profit, rel=1e-12)
    sol = solve(sc, threads=1)
    assert sol.status == "optimal" and sol.method == "lagrangian-decomposed"


def test_binding_margin_rate_matches_full_milp() -> None:
    """Medium instance, a binding overall margin rate: the decomposition and the full
    MILP (solved to 1e-9) agree."""
    sc = random_instance(25, 4, 4, max_offers=4, personalised=True, seed=5)
    free = solve(sc, threads=1)
    rate = evaluate(sc, free.decision)
    sc = sc.with_constraints(min_margin_rate=rate.profit / rate.revenue + 0.04)
    res = solve_coupled(sc)
    assert not res.optimal_at_zero and res.rounds > 0
    sol = solve(sc, threads=1, mip_gap=1e-6)
    milp = solve_milp(sc, threads=1, mip_gap=1e-9)
    assert sol.profit == pytest.approx(evaluate(sc, milp.decision).profit, rel=1e-5)
    assert sol.best_bound >= milp.result.objective * (1 - 1e-7)
    assert evaluate(sc, sol.decision).feasible


@pytest.mark.slow
def test_cannibalisation_and_stock_match_full_milp() -> None:
    sc = random_instance(20, 4, 3, personalised=True, seed=8)
    sc = sc.with_constraints(max_cannibalisation=0.2, protected_products=tuple(sc.products[:5]),
                             stock={sc.products[0]: 0.05})
    assert len(coupling_rows(sc).b) >= 2
    sol = solve(sc, threads=1, mip_gap=1e-6)
    milp = solve_milp(sc, threads=1, mip_gap=1e-9)
    assert sol.profit == pytest.approx(evaluate(sc, milp.decision).profit, rel=1e-5)
    assert evaluate(sc, sol.decision).feasible


fair_rules = st.fixed_dictionaries({"max_price_spread": st.sampled_from([0.0, 0.05, 0.2])}, optional={
    "min_margin_rate": st.sampled_from([0.45, 0.6]),
    "max_cannibalisation": st.sampled_from([0.3]),
    "stock": st.sampled_from([{"p0": 0.1}]),
    "max_offers": st.integers(1, 2),
    "min_margin": st.sampled_from([0.3]),
})


@FAST
@given(seed=st.integers(0, 10_000), chosen=fair_rules, regime=st.sampled_from(["plain", "wide"]))
def test_fairness_by_windows_equals_brute_force(seed: int, chosen: dict, regime: str) -> None:
    """Fairness across segments (alone or with other coupling rows): the window plan
    keeps every rule, the bound (relaxation and window cut) is above the brute-force
    optimum, and solve() finds the optimum."""
    if regime == "plain":
        sc = random_instance(4, 3, 3, personalised=True, seed=seed, sensitivity=(0.5, 6.0),
                             constraints=Constraints(**chosen))
    else:
        sc = stress_instance(4, 3, 3, personalised=True, seed=seed, constraints=Constraints(**chosen),
                             utility_spread=np.log(1e6))
    assert applies(sc)
    try:
        _, best = brute_force(sc)
    except ValueError as exc:
        assume("infeasible" not in str(exc))
        raise
    res = solve_coupled(sc)
    assert res.bound >= best.profit - 1e-9 * max(1.0, abs(best.profit))
    if res.decision is not None:
        ev = evaluate(sc, res.decision)
        assert ev.feasible, ev.violations
        assert ev.profit == pytest.approx(res.profit, rel=1e-9, abs=1e-12)
        assert res.profit <= best.profit + 1e-9 * max(1.0, abs(best.profit))
    sol = solve(sc, threads=1, mip_gap=1e-9)
    assert sol.method.startswith("lagrangian-decomposed"), sol.method
    assert sol.profit == pytest.approx(best.profit, rel=1e-6, abs=1e-9), (chosen, sol.notes)
    assert sol.best_bound >= best.profit - 1e-9 * max(1.0, abs(best.profit))


def test_fairness_alone_window_plan_is_the_optimum() -> None:
    """Without other coupling rows the window search finds the fair optimum on these
    small instances (each segment exact within the windows)."""
    for seed in range(8):
        sc = random_instance(4, 3, 4, personalised=True, seed=seed, sensitivity=(0.5, 6.0),
                             constraints=Constraints(max_price_spread=0.05))
        _, best = brute_force(sc)
        res = solve_coupled(sc)
        assert res.profit == pytest.approx(best.profit, rel=1e-9), seed


def test_fair_decomposed_optimum_is_returned_at_once() -> None:
    """A spread so wide that the per-segment optimum keeps it: returned as it is, optimal."""
    sc = random_instance(30, 5, 4, personalised=True, seed=2, constraints=Constraints(max_price_spread=10.0))
    res = solve_coupled(sc)
    assert res.optimal_at_zero and res.rounds == 0
    assert res.bound == pytest.approx(res.profit, rel=1e-12)
    assert any("keeps the spread rule" in n for n in res.notes)
    sol = solve(sc, threads=1)
    assert sol.status == "optimal" and sol.method == "lagrangian-decomposed"


def test_fairness_matches_full_milp_on_a_medium_instance() -> None:
    """12 offers x 4 segments x 5 levels: solve() through the windows agrees with the
    full MILP solved to 1e-9, and the decomposition's bound is never below its optimum."""
    sc = random_instance(12, 4, 5, personalised=True, seed=3, sensitivity=(0.5, 6.0),
                         constraints=Constraints(max_price_spread=0.05, min_margin_rate=0.55))
    res = solve_coupled(sc)
    milp = solve_milp(sc, threads=1, mip_gap=1e-9)
    opt = evaluate(sc, milp.decision).profit
    assert res.bound >= opt * (1 - 1e-9)
    assert evaluate(sc, res.decision).feasible and res.profit <= opt * (1 + 1e-9)
    sol = solve(sc, threads=1, mip_gap=1e-6)
    assert sol.profit == pytest.approx(opt, rel=1e-5)
    assert sol.best_bound >= opt * (1 - 1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 3])
def test_fairness_windows_against_full_milp_30_offers(seed: int) -> None:
    """30 offers x 5 segments x 6 levels (the MILP takes 10-60 s): fairness alone, the
    window plan is the MILP's optimum; with a margin rate, within 0.2% of it; the
    bound is never below the MILP's optimum."""
    for rules, loss in (({"max_price_spread": 0.05}, 1e-9), ({"max_price_spread": 0.1, "min_margin_rate": 0.6}, 2e-3)):
        sc = random_instance(30, 5, 6, personalised=True, seed=seed, sensitivity=(0.5, 6.0),
                             constraints=Constraints(**rules))
        res = solve_coupled(sc)
        milp = solve_milp(sc, threads=1, mip_gap=1e-7)
        assert milp.status == "optimal"
        opt = evaluate(sc, milp.decision).profit
        assert res.bound >= opt * (1 - 1e-9)
        assert evaluate(sc, res.decision).feasible
        assert opt * (1 - loss) <= res.profit <= opt * (1 + 1e-9), rules


def test_fairness_with_menu_rules_beyond_the_oracle_stays_on_the_milp_path() -> None:
    sc = random_instance(4, 2, 2, n_bundles=1, personalised=True, seed=1, max_bundle_size=2,
                         constraints=Constraints(max_price_spread=0.1, max_bundles=1))
    assert not applies(sc)
    assert solve(sc, threads=1).method.startswith("milp")


def test_relaxation_bound_is_valid() -> None:
    for seed in range(6):
        sc = random_instance(5, 2, 3, max_offers=2, seed=seed,
                             constraints=Constraints(max_cannibalisation=0.5, min_margin_rate=0.4))
        try:
            _, best = brute_force(sc)
        except ValueError:
            continue
        assert relaxation_bound(sc, active_families(sc)) >= best.profit * (1 - 1e-12)


menu_rules = st.sampled_from([{"max_bundles": 1}, {"max_bundles_per_product": 1},
                              {"min_bundle_discount": 0.05},
                              {"min_margin_rate": 0.5, "margin_rate_scope": "segment"}])
cross_rules = st.sampled_from([{"max_cannibalisation": 0.3}, {"stock": {"p0": 0.2}},
                               {"min_margin_rate": 0.5}])


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), menu=menu_rules, cross=cross_rules)
def test_coupled_with_lp_oracle_equals_brute_force(seed: int, menu: dict, cross: dict) -> None:
    """Menu rules the exact oracle does not handle: each segment priced by its projected
    LP (an upper bound for any multipliers); the bound stays valid and solve() exact."""
    if "min_margin_rate" in menu and "min_margin_rate" in cross:
        cross = {"max_cannibalisation": 0.3}
    sc = random_instance(4, 3, 2, n_bundles=1, personalised=True, seed=seed, max_bundle_size=2,
                         synergy=1.0).with_constraints(**menu, **cross)
    assert applies(sc)
    try:
        _, best = brute_force(sc)
    except ValueError as exc:
        assume("infeasible" not in str(exc))
        raise
    res = solve_coupled(sc)
    assert res.bound >= best.profit - 1e-9 * max(1.0, abs(best.profit))
    if res.decision is not None:
        assert evaluate(sc, res.decision).feasible
    sol = solve(sc, threads=1, mip_gap=1e-9)
    assert sol.profit == pytest.approx(best.profit, rel=1e-6, abs=1e-9), (menu, cross, sol.notes)


def test_infeasible_coupled_scenario_raises_the_diagnosis() -> None:
    from bundleopt.optimize import InfeasibleScenarioError

    sc = random_instance(4, 2, 2, seed=0, personalised=True,
                         constraints=Constraints(max_offers=1, max_cannibalisation=0.1))
    assert applies(sc)
    res = solve_coupled(sc)
    assert res.decision is None
    with pytest.raises(InfeasibleScenarioError, match="cannibalisation"):
        solve(sc, threads=1)
