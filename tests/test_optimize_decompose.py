"""Per-segment decomposition: detection, exact LP, MILP fallback (formulations/milp.md)."""

from __future__ import annotations

import numpy as np
import pytest
from test_optimize_core import assert_matches_brute_force, small

from bundleopt.optimize import solve
from bundleopt.optimize.decompose import coupling_rules, decomposes, solve_segment_lp
from bundleopt.optimize.decompose import segment_scenario as seg
from bundleopt.optimize.instances import random_instance
from bundleopt.optimize.milp import solve_milp


def test_detects_decomposition() -> None:
    sc = random_instance(6, 3, 3, max_offers=2, seed=1, personalised=True)
    assert decomposes(sc)
    assert not decomposes(random_instance(6, 3, 3, max_offers=2, seed=1))  # uniform, 3 segments
    assert decomposes(random_instance(6, 1, 3, max_offers=2, seed=1))  # one segment
    for rule in ({"max_cannibalisation": 0.5}, {"stock": {"p0": 1.0}},
                 {"max_price_spread": 0.1}, {"min_margin_rate": 0.3}):
        coupled = sc.with_constraints(**rule)
        assert not decomposes(coupled), rule
        assert coupling_rules(coupled) == list(rule)  # the fields that switch them on
        assert decomposes(coupled.with_constraints(**{f: None for f in coupling_rules(coupled)}))
    assert decomposes(sc.with_constraints(min_margin_rate=0.3, margin_rate_scope="segment"))


def test_decomposed_lp_is_integral_under_cardinality() -> None:
    sc = random_instance(20, 5, 4, max_offers=5, n_bundles=4, seed=3, personalised=True)
    sc = sc.with_constraints(max_bundles=2)
    sol = solve(sc, threads=1)
    assert sol.method == "lp-decomposed" and sol.gap == 0
    run = solve_milp(sc, threads=1, mip_gap=1e-9)
    assert run.result.objective == pytest.approx(sol.profit, rel=1e-6)


def test_margin_rate_per_segment_falls_back_to_milp_when_lp_is_fractional() -> None:
    """formulations/milp.md: a margin-rate floor breaks total unimodularity. Find a segment whose
    projected LP is fractional; the solve must then say so and still be exact."""
    for seed in range(60):
        sc = small(seed, personalised=True, n_offers=3, n_segments=2, n_levels=3,
                   min_margin_rate=0.6, margin_rate_scope="segment")
        fractional = [solve_segment_lp(seg(sc, s), threads=1)[0] is None for s in range(2)]
        if any(fractional):
            sol = solve(sc, threads=1)
            assert sol.method == "lp-decomposed+milp"
            assert any("fractional" in n for n in sol.notes)
            assert_matches_brute_force(sc)
            return
    pytest.fail("no fractional per-segment LP found in 60 seeds")


def test_lp_bound_never_below_integer_optimum() -> None:
    for seed in range(5):
        sc = small(seed, personalised=True, n_offers=4, n_segments=2, n_levels=3,
                   min_bundle_discount=0.0, n_bundles=1, synergy=1.0)
        for s in range(2):
            sub = seg(sc, s)
            _, lp_obj, _, _ = solve_segment_lp(sub, threads=1)
            milp = solve_milp(sub, threads=1, mip_gap=1e-9).result.objective
            assert lp_obj >= milp - 1e-6 * max(1, abs(milp))  # both within HiGHS tolerances (1e-7)
            assert np.isfinite(lp_obj)


def test_robust_plan_switches_the_coupling_rules_off_by_their_fields() -> None:
    """coupling_rules names Constraints fields: the robust plan switched them off with
    ``with_constraints(**{name: None})`` and raised TypeError on "cannibalisation"."""
    from test_plan_intervals import _models, _scenario, _weights_of

    from bundleopt.plan_parts.intervals import robust_plan

    for rule in ({"max_cannibalisation": 0.5}, {"max_price_spread": 0.5}, {"min_margin_rate": 0.1}):
        sc = _scenario(personalised=True).with_constraints(**rule)
        rb = robust_plan(sc, solve(sc, threads=1).decision, _models(sc, 0.3), _weights_of(sc), n_draws=3)
        assert not rb.exact, rule  # the coupling rules are checked on the whole plan

