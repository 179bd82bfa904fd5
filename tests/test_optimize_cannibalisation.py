"""Cannibalisation cap on standalone sales (formulations/cannibalisation.md)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST, assert_matches_brute_force, small

from bundleopt.optimize import solve
from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.instances import random_instance


@FAST
@given(seed=st.integers(0, 10_000), gamma=st.sampled_from([0.2, 0.5, 0.8]), personalised=st.booleans())
def test_cannibalisation_equals_brute_force(seed: int, gamma: float, personalised: bool) -> None:
    if personalised:
        sc = small(seed, personalised=True, n_offers=3, n_bundles=1, n_levels=2,
                   max_cannibalisation=gamma, synergy=1.0)
    else:
        sc = small(seed, personalised=False, n_offers=5, n_bundles=2, n_levels=3,
                   max_cannibalisation=gamma, synergy=1.0)
    assert_matches_brute_force(sc)


def test_cannibalisation_protects_chosen_products_only() -> None:
    sc = random_instance(8, 3, 3, n_bundles=3, seed=9, synergy=1.5)
    ref = sc.reference_sales()
    sol = solve(sc.with_constraints(max_cannibalisation=0.1, protected_products=("p0", "p1")), threads=1)
    assert sol.probabilities["p0"].to_numpy() @ sc.weights >= 0.9 * ref[0] - 1e-9
    assert sol.probabilities["p1"].to_numpy() @ sc.weights >= 0.9 * ref[1] - 1e-9
    assert evaluate(sc.with_constraints(max_cannibalisation=0.1, protected_products=("p0", "p1")),
                    sol.decision).feasible
