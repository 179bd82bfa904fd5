"""Core MILP: equal to brute force (uniform and personalised), objective = evaluate,
closed-form optima (formulations/milp.md)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import lambertw

from bundleopt.optimize import solve
from bundleopt.optimize.evaluation import evaluate, evaluate_many
from bundleopt.optimize.instances import random_instance
from bundleopt.optimize.milp import solve_milp
from bundleopt.optimize.model import build_model
from bundleopt.scenario import Constraints, Scenario

RTOL = 1e-6
FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def brute_force(scenario: Scenario) -> float:
    """Best feasible expected profit over every decision (tiny instances only).

    Enumerates every (menu, offer) -> level-or-off assignment over existing levels
    and scores them with the evaluator (an independent code path); -inf when none
    is feasible.
    """
    choices = [[-1, *np.flatnonzero(np.isfinite(scenario.prices[o])).tolist()]
               for o in range(scenario.n_offers)]
    menu = np.array(list(itertools.product(*choices)), dtype=int)  # (M, O)
    G = scenario.n_menus
    if G == 1:
        batch = menu[:, None, :]
    else:
        idx = np.array(list(itertools.product(range(len(menu)), repeat=G)))
        batch = menu[idx]
    res = evaluate_many(scenario, batch)
    return float(res.profit[res.feasible].max()) if res.feasible.any() else -np.inf


def assert_matches_brute_force(scenario: Scenario) -> None:
    sol = solve(scenario, threads=1, mip_gap=1e-9)
    best = brute_force(scenario)
    ev = evaluate(scenario, sol.decision)
    assert ev.feasible, ev.violations
    assert sol.profit == pytest.approx(ev.profit, rel=1e-12, abs=1e-12)
    assert sol.objective == pytest.approx(ev.profit, rel=RTOL, abs=1e-9)
    assert sol.profit == pytest.approx(best, rel=RTOL, abs=1e-9), (sol.method, sol.notes)


def small(seed: int, *, personalised: bool, n_offers: int = 4, n_segments: int = 2,
          n_levels: int = 2, n_bundles: int = 0, synergy: float = 0.0, **rules) -> Scenario:
    """A tiny random latent-class instance (brute force stays under ~10^4 decisions)."""
    return random_instance(n_offers, n_segments, n_levels, n_bundles=n_bundles, seed=seed,
                           personalised=personalised, constraints=Constraints(**rules),
                           consideration=0.8, max_bundle_size=2, synergy=synergy)


@FAST
@given(seed=st.integers(0, 10_000), card=st.sampled_from([None, 1, 2, 3]))
def test_uniform_equals_brute_force(seed: int, card: int | None) -> None:
    sc = small(seed, personalised=False, n_offers=5, n_segments=3, n_levels=3, max_offers=card)
    assert_matches_brute_force(sc)


@FAST
@given(seed=st.integers(0, 10_000), card=st.sampled_from([None, 1, 2]))
def test_personalised_equals_brute_force(seed: int, card: int | None) -> None:
    sc = small(seed, personalised=True, n_offers=3, n_segments=2, n_levels=2, max_offers=card)
    assert_matches_brute_force(sc)


@FAST
@given(seed=st.integers(0, 10_000))
def test_personalised_milp_equals_decomposed_lp(seed: int) -> None:
    """The MILP (forced) and the per-segment LP reach the same optimum."""
    sc = small(seed, personalised=True, n_offers=5, n_segments=3, n_levels=3, max_offers=2)
    lp = solve(sc, threads=1)
    run = solve_milp(sc, threads=1, mip_gap=1e-9)
    assert lp.method.startswith("lp-decomposed")
    assert run.result.objective == pytest.approx(lp.profit, rel=RTOL)


def test_objective_equals_evaluate_with_market_size() -> None:
    sc = random_instance(8, 4, 3, max_offers=3, n_bundles=2, seed=3, market_size=250.0)
    sol = solve(sc, threads=1)
    ev = evaluate(sc, sol.decision)
    assert sol.method == "milp" and sol.status == "optimal"
    assert sol.objective == pytest.approx(ev.profit, rel=RTOL)
    assert sol.revenue == pytest.approx(ev.revenue, rel=1e-12)
    assert sol.per_segment["profit"].sum() == pytest.approx(sol.profit, rel=1e-12)
    assert sol.units == pytest.approx(ev.units, rel=1e-12)
    assert sol.best_bound >= sol.objective - 1e-9
    assert set(sol.timings) >= {"build", "handoff", "solve", "total"}


def test_solution_tables_describe_the_decision() -> None:
    sc = random_instance(6, 3, 3, max_offers=2, seed=5, personalised=True)
    sol = solve(sc, threads=1)
    assert sol.prices.shape == (3, 6)
    assert len(sol.offers) == int((sol.decision.levels >= 0).sum())
    for row in sol.offers.itertuples():
        g = list(sc.segment_ids).index(row.menu)
        o = list(sc.offer_ids).index(row.offer)
        assert sol.decision.levels[g, o] == row.level
        assert sc.prices[o, row.level] == row.price
    assert np.allclose(sol.probabilities.to_numpy().sum(axis=1) + sol.per_segment["no_purchase"], 1)


def test_rlt_rows_do_not_change_the_optimum_and_model_has_them() -> None:
    sc = random_instance(6, 3, 3, max_offers=2, seed=11)
    m = build_model(sc)
    assert len(m.one_price_rlt) == 3 * 6 and len(m.max_offers_rlt) == 3
    assert_matches_brute_force(sc.with_constraints(max_offers=2))


def constant_markup_scenario(beta: float, n: int, step: float) -> tuple[Scenario, float]:
    """One segment, equal beta, fine ladder; returns (scenario, closed-form profit)."""
    rng = np.random.default_rng(0)
    a = rng.uniform(1.0, 3.0, n)
    c = rng.uniform(1.0, 2.0, n)
    prices = np.arange(0.5, 6.0, step)
    P = np.tile(prices, (n, 1))
    v = np.exp(a[:, None] - beta * P)[None]
    sc = Scenario.from_arrays(v, [1.0], P, c, [1.0])
    w = lambertw(np.exp(a - beta * c - 1).sum()).real
    return sc, w / beta


@pytest.mark.parametrize("step", [0.05, 0.01])
def test_single_segment_equal_beta_constant_markup(step: float) -> None:
    """Within one ladder step of the Lambert-W optimum (formulations/closed_forms.md)."""
    beta = 1.3
    sc, best = constant_markup_scenario(beta, 4, step)
    sol = solve(sc, threads=1)
    assert sol.profit <= best + 1e-9
    markup = (1 + best * beta) / beta  # m* = (1 + W) / beta
    chosen = sol.offers["price"].to_numpy() - sc.costs[sol.offers["offer"].to_numpy()]
    assert np.all(np.abs(chosen - markup) <= step + 1e-9)
    # profit is flat at the optimum: a step in price costs O(step^2) * O(1)
    assert best - sol.profit <= 5 * step**2


def test_product_specific_beta_fixed_point_prices() -> None:
    """p_j = c_j + 1/beta_j + theta, theta = sum_j exp(a_j - beta_j c_j - 1 - beta_j theta) / beta_j."""
    rng = np.random.default_rng(1)
    n, step = 3, 0.01
    a, c = rng.uniform(1, 3, n), rng.uniform(1, 2, n)
    beta = rng.uniform(0.8, 1.6, n)
    theta = 0.0
    for _ in range(500):
        theta = float(np.sum(np.exp(a - beta * c - 1 - beta * theta) / beta))
    target = c + 1 / beta + theta
    P = np.tile(np.arange(1.0, 6.0, step), (n, 1))
    v = np.exp(a[:, None] - beta[:, None] * P)[None]
    sol = solve(Scenario.from_arrays(v, [1.0], P, c, [1.0]), threads=1)
    got = sol.prices.to_numpy()[0]
    assert np.all(np.abs(got - target) <= 2 * step), (got, target)


@FAST
@given(seed=st.integers(0, 10_000))
def test_plain_formulation_is_exact_too(seed: int) -> None:
    """strengthen=False (no RLT copies of rules, no L bounds, no tangent cuts) has the
    same optimum: the strengthening only tightens the relaxation."""
    sc = small(seed, personalised=False, n_offers=5, n_segments=3, n_levels=3, max_offers=2)
    plain = solve_milp(sc, threads=1, mip_gap=1e-9, strengthen=False)
    full = solve_milp(sc, threads=1, mip_gap=1e-9)
    assert plain.result.objective == pytest.approx(full.result.objective, rel=RTOL)
    assert evaluate(sc, plain.decision).profit == pytest.approx(plain.result.objective, rel=RTOL)


@FAST
@given(seed=st.integers(0, 10_000), card=st.sampled_from([None, 1, 2]))
def test_dominated_levels_dropped_keep_the_optimum(seed: int, card: int | None) -> None:
    """Leaving out dominated ladder levels (families.dominated_levels) keeps the optimum."""
    sc = small(seed, personalised=False, n_offers=4, n_segments=3, n_levels=4, max_offers=card)
    model = build_model(sc)
    for (o, k), k2 in model.info.lift.items():
        assert not model.info.mask[o, k] and model.info.mask[o, k2] and k2 != k
    assert_matches_brute_force(sc)


def test_dominated_levels_found_on_benchmark_sizes() -> None:
    sc = random_instance(50, 10, 5, max_offers=10, seed=0)
    lift = build_model(sc).info.lift
    assert len(lift) > 0
    # warm start survives the dropped levels; 10 s so that a loaded machine still leaves HiGHS
    # time after the bound tightening (at 2 s under load it could get none: no result)
    run = solve_milp(sc, threads=1, time_limit=10.0)
    assert run.notes[0] == "warm start: greedy_add_drop"
    assert not any("not used" in note for note in run.notes), run.notes
    assert run.result.objective >= evaluate(sc, run.decision).profit - 1e-9
