"""Random instance generator: shapes, the documented generative model, reproducibility."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bundleopt.optimize import InfeasibleScenarioError, evaluate
from bundleopt.optimize.assemble import make_solution
from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.instances import (
    EXTRA_REGIMES,
    EXTRA_SEEDS,
    RULE_FAMILIES,
    STRESS_REGIMES,
    check_exactness,
    random_instance,
    stress_case,
)
from bundleopt.scenario import NOT_OFFERED, Constraints, Decision


def test_shapes_and_ids():
    sc = random_instance(8, 4, 5, max_offers=3, n_bundles=3, seed=2)
    assert (sc.n_offers, sc.n_segments, sc.n_levels) == (8, 4, 5)
    assert sc.constraints.max_offers == 3
    assert sc.is_bundle.tolist() == [False] * 5 + [True] * 3
    assert np.isclose(sc.weights.sum(), 1.0)
    assert (sc.list_level == 4).all()


def test_same_seed_same_instance_other_seed_differs():
    a = random_instance(6, 3, 4, n_bundles=2, seed=7)
    b = random_instance(6, 3, 4, n_bundles=2, seed=7)
    c = random_instance(6, 3, 4, n_bundles=2, seed=8)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.prices, b.prices)
    assert a.components == b.components
    assert not np.allclose(a.v, c.v)


def test_costs_below_lowest_level_and_bundle_economics():
    sc = random_instance(12, 3, 6, n_bundles=5, seed=3)
    assert (sc.costs < np.nanmin(sc.prices, axis=1)).all()
    single = sc.single_offer()
    lp = sc.list_prices()
    for o in np.flatnonzero(sc.is_bundle):
        comp = [single[p] for p in sc.components[o]]
        assert 2 <= len(comp) <= 3 and len(set(comp)) == len(comp)
        assert np.isclose(sc.costs[o], sc.costs[comp].sum())
        ratio = lp[o] / lp[comp].sum()
        assert 0.75 - 1e-12 <= ratio <= 0.95 + 1e-12
    assert len(set(sc.components)) == sc.n_offers


def test_weights_follow_the_mnl_price_response():
    """log v is affine in price with the same negative slope for every considered offer."""
    sc = random_instance(5, 3, 4, seed=4, consideration=1.0)
    for s in range(3):
        slopes = np.diff(np.log(sc.v[s]), axis=1) / np.diff(sc.prices, axis=1)
        assert np.allclose(slopes, slopes[0, 0]) and slopes[0, 0] < 0


def test_consideration_sets_and_no_purchase_share():
    sc = random_instance(30, 6, 3, seed=5, consideration=0.5, no_purchase_share=0.3)
    considered = sc.v[:, :, 0] > 0
    assert 0.2 < considered.mean() < 0.8
    assert considered.any(axis=1).all()
    at_list = sc.v[:, :, -1].sum(axis=1)
    np.testing.assert_allclose(sc.v0 / (sc.v0 + at_list), 0.3)


def test_constraints_and_personalised_flags():
    sc = random_instance(4, 2, 2, 2, personalised=True, constraints=Constraints(min_margin=0.1))
    assert sc.personalised and sc.n_menus == 2
    assert sc.constraints.max_offers == 2 and sc.constraints.min_margin == 0.1


@pytest.mark.parametrize(
    "kwargs",
    [dict(n_offers=0, n_segments=1, n_levels=1), dict(n_offers=3, n_segments=1, n_levels=1, n_bundles=2),
     dict(n_offers=4, n_segments=1, n_levels=1, n_bundles=2), dict(n_offers=3, n_segments=1, n_levels=1, no_purchase_share=1.0)],
)
def test_bad_sizes_raise(kwargs):
    with pytest.raises(ValueError):
        random_instance(**kwargs)


# ------------------------------------------------------------------ stress cases
def _cases(regime, n=40, **kw):
    return [stress_case(seed, regime=regime, **kw) for seed in range(n)]


def test_spread_regimes_reach_their_orders_of_magnitude():
    for regime, exp in (("wide_utility", 6), ("extreme_utility", 9)):
        for case in _cases(regime, 20):
            at_list = case.scenario.v[:, :, -1]
            assert at_list.min() <= 10.0 ** -exp * 1.0001 and at_list.max() >= 10.0 ** exp * 0.9999
    for case in _cases("baseline", 20):
        assert 1e-4 < case.scenario.v.min() and case.scenario.v.max() < 1e5


def test_no_purchase_regimes_scale_v0():
    for regime, lo, hi in (("tiny_v0", -9, -4), ("huge_v0", 4, 9), ("baseline", np.log10(2 / 3), np.log10(2 / 3))):
        for case in _cases(regime, 20):
            sc = case.scenario
            singles = ~sc.is_bundle
            ratio = np.log10(sc.v0 / sc.v[:, singles, -1].sum(axis=1))
            assert (ratio >= lo - 1e-9).all() and (ratio <= hi + 1e-9).all()


def test_extreme_weights_one_heavy_segment():
    for case in _cases("extreme_weights", 20):
        w = np.sort(case.scenario.weights)
        eps = w[0]
        assert len(w) >= 2 and eps in (pytest.approx(0.01), pytest.approx(0.001))
        np.testing.assert_allclose(w[:-1], eps)
        assert w[-1] == pytest.approx(1 - eps * (len(w) - 1))


def test_cost_tied_one_level_and_currency_regimes():
    below = [(c.scenario.prices < c.scenario.costs[:, None]) for c in _cases("cost_above_ladder")]
    assert any(b.any() for b in below) and any(b.all(axis=1).any() for b in below)
    singles_below = [(c.scenario.prices < c.scenario.costs[:, None])[~c.scenario.is_bundle] for c in _cases("baseline")]
    assert not any(b.any() for b in singles_below)
    for case in _cases("tied_prices", 20):
        sc = case.scenario
        if (~sc.is_bundle).sum() >= 2:
            np.testing.assert_array_equal(sc.prices[0], sc.prices[1])
            np.testing.assert_array_equal(sc.v[:, 0], sc.v[:, 1])
    assert any(len(np.unique(c.scenario.prices[0])) < c.scenario.n_levels for c in _cases("tied_prices"))
    assert all(c.scenario.n_levels == 1 for c in _cases("one_level", 20))
    spans = []
    for case in _cases("currency_units", 20):
        sc = case.scenario
        np.testing.assert_array_equal(sc.v0, 1.0)
        assert 100 <= sc.list_prices()[~sc.is_bundle].min() and sc.list_prices()[~sc.is_bundle].max() <= 500
        spans.append(np.log10(sc.v.max() / sc.v.min()))
    assert max(spans) > 20


def test_stress_sizes_stay_within_brute_force():
    for seed in range(330):
        case = stress_case(seed)
        sc = case.scenario
        assert 3 <= sc.n_offers <= 6 and 1 <= sc.n_segments <= 4 and 1 <= sc.n_levels <= 4
        assert int(sc.is_bundle.sum()) <= 2
        if case.personalised:
            assert sc.n_offers <= 5 and sc.n_segments <= 3 and (sc.n_levels + 1) ** sc.n_offers <= 256
        if case.rule in ("max_bundles", "bundles_per_product", "no_arbitrage", "max_discount", "discount_band"):
            assert sc.is_bundle.any()
        if case.rule == "fairness":
            assert case.personalised


def test_consecutive_seeds_cover_every_regime_rule_pair_both_pricings():
    pairs = {(stress_case(s).regime, stress_case(s).rule) for s in range(len(STRESS_REGIMES) * len(RULE_FAMILIES))}
    assert pairs == {(r, f) for r in STRESS_REGIMES for f in RULE_FAMILIES}
    assert {stress_case(s).personalised for s in range(40)} == {False, True}
    extra = {(stress_case(s).regime, stress_case(s).rule)
             for s in range(EXTRA_SEEDS, EXTRA_SEEDS + len(EXTRA_REGIMES) * len(RULE_FAMILIES))}
    assert extra == {(r, f) for r in EXTRA_REGIMES for f in RULE_FAMILIES}


def test_extra_regimes_near_ties_and_sparse():
    for case in _cases("near_ties", 20):
        sc = case.scenario
        gaps = np.abs(np.diff(sc.prices, axis=1)) / sc.prices[:, 1:]
        if sc.n_levels > 1:
            assert 1e-11 < gaps[:, -1].max() <= 1.0001e-7
    for case in _cases("sparse", 20):
        considered = (case.scenario.v > 0).all(axis=2)
        assert considered.sum() == (case.scenario.v > 0).any(axis=2).sum()  # all levels or none
    assert np.mean([(c.scenario.v[:, :, 0] == 0).mean() for c in _cases("sparse")]) == pytest.approx(0.4, abs=0.1)


def test_rules_at_equality_are_met_by_some_decision_and_bind():
    """Settings read off a random decision: brute force finds a feasible decision."""
    tight = 0
    for seed in range(30):
        rule = RULE_FAMILIES[1 + seed % (len(RULE_FAMILIES) - 2)]  # each single family
        case = stress_case(seed, regime="rules_at_equality", rule=rule, personalised=False)
        drawn = stress_case(seed, regime="baseline", rule=rule, personalised=False).scenario.constraints
        _, best = brute_force(case.scenario)
        assert best.feasible
        tight += case.scenario.constraints != drawn
    assert tight >= 12  # the rest: settings D cannot reach (no bundle offered, uniform spread, ...)


def test_stress_case_reproducible_and_independent_of_string_hashing():
    """Same instance from the same seed in another process with another PYTHONHASHSEED."""
    code = ("import hashlib; from bundleopt.optimize.instances import stress_case\n"
            "h = hashlib.sha256()\n"
            "for s in range(0, 330, 3):\n"
            "    c = stress_case(s); h.update(c.scenario.v.tobytes() + c.describe().encode())\n"
            "print(h.hexdigest())")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    digests = {subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONHASHSEED": h}, check=True,
                              capture_output=True, text=True).stdout for h in ("0", "1")}
    assert len(digests) == 1


@pytest.mark.parametrize("family", RULE_FAMILIES)
def test_each_rule_family_sets_its_settings(family):
    expected = {
        "none": set(), "cardinality": {"max_offers"}, "max_bundles": {"max_bundles"},
        "bundles_per_product": {"max_bundles_per_product"}, "margin_floor": {"min_margin"},
        "margin_rate_overall": {"min_margin_rate"}, "margin_rate_segment": {"min_margin_rate"},
        "cannibalisation": {"max_cannibalisation"}, "cannibalisation_protected": {"max_cannibalisation"},
        "stock": {"stock"}, "no_arbitrage": {"min_bundle_discount"}, "max_discount": {"max_bundle_discount"},
        "discount_band": {"min_bundle_discount", "max_bundle_discount"}, "fairness": {"max_price_spread"},
    }
    for seed in range(10):
        c = stress_case(seed, rule=family).scenario.constraints
        if family == "mixed":
            assert len(c.active()) >= 2
            continue
        assert set(c.active()) == expected[family]
        if family.startswith("margin_rate"):
            assert c.margin_rate_scope == family.rsplit("_", 1)[1]
        if family == "cannibalisation_protected":
            assert c.protected_products
    with pytest.raises(ValueError, match="unknown rule family"):
        stress_case(0, rule="nope")
    with pytest.raises(ValueError, match="unknown regime"):
        stress_case(0, regime="nope")


def test_mixed_rules_reach_feasible_and_infeasible():
    verdicts = set()
    for seed in range(60):
        try:
            brute_force(stress_case(seed, rule="mixed").scenario)
            verdicts.add("feasible")
        except ValueError as exc:
            verdicts.add("infeasible" if "infeasible" in str(exc) else "too large")
        if {"feasible", "infeasible"} <= verdicts:
            break
    assert {"feasible", "infeasible"} <= verdicts


# ------------------------------------------------------------- exactness oracle
def _fake(decision=None, bound=None, objective=None, raises=None):
    """A solver with solve()'s signature that answers what it is told (default: brute force's)."""
    def solver(sc, **_):
        if raises is not None:
            raise raises
        dec, ev = brute_force(sc) if decision is None else (Decision(decision), None)
        profit = evaluate(sc, dec).profit
        return make_solution(sc, dec, status="optimal", objective=profit if objective is None else objective,
                             best_bound=profit if bound is None else bound, gap=0.0, timings={}, method="fake")
    return solver


def test_check_exactness_classifies_each_kind_of_wrong_answer():
    sc = random_instance(4, 2, 2, max_offers=2, seed=0)
    best = brute_force(sc)[1].profit
    empty = np.full((1, 4), NOT_OFFERED)
    assert check_exactness(sc, solver=_fake()).outcome == "ok"
    assert check_exactness(sc).outcome == "ok"  # the real solver on a well-scaled instance
    got = check_exactness(sc, solver=_fake(bound=0.9 * best))
    assert got.outcome == "cut_off" and got.shortfall() == pytest.approx(0.1)
    # the fake says "optimal" for a short profit: a false claim
    assert check_exactness(sc, solver=_fake(decision=empty, bound=best)).outcome == "false_optimal"
    assert check_exactness(sc, solver=_fake(decision=[[0, 0, 0, -1]], bound=2 * best)).outcome == "rule_breaking"
    # a bound above the optimum is valid; "optimal" with that gap is a weak, not a false, bound,
    # but the claim "optimal" then rests on the profit, which is the optimum: ok
    assert check_exactness(sc, solver=_fake(objective=1.5 * best, bound=1.5 * best)).outcome == "ok"
    err = InfeasibleScenarioError("no", ("cardinality",))
    assert check_exactness(sc, solver=_fake(raises=err)).outcome == "false_infeasible"
    got = check_exactness(sc, solver=_fake(raises=RuntimeError("boom")))
    assert got.outcome == "solver_error" and "boom" in got.error
    bad = random_instance(4, 2, 2, seed=0, constraints=Constraints(max_offers=1, max_cannibalisation=0.1))
    assert check_exactness(bad).outcome == "ok_infeasible"
    got = check_exactness(bad, solver=_fake(decision=np.full((1, 4), NOT_OFFERED), bound=0.0))
    assert got.outcome == "false_feasible" and "rule_breaking" in got.flags
    tiny = stress_case(0).scenario
    assert check_exactness(tiny, max_decisions=2).outcome == "too_large"
