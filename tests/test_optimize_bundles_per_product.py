"""Each product in at most r offered bundles per menu (formulations/bundles.md)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST, assert_matches_brute_force, small

from bundleopt.optimize import solve
from bundleopt.optimize.instances import random_instance


@FAST
@given(seed=st.integers(0, 10_000), r=st.sampled_from([0, 1]), personalised=st.booleans())
def test_bundles_per_product_equals_brute_force(seed: int, r: int, personalised: bool) -> None:
    if personalised:
        sc = small(seed, personalised=True, n_offers=5, n_bundles=2, n_levels=1,
                   max_bundles_per_product=r, synergy=1.0)
    else:
        sc = small(seed, personalised=False, n_offers=6, n_bundles=3, n_levels=2,
                   max_bundles_per_product=r, synergy=1.0)
    assert_matches_brute_force(sc)


def test_bundles_per_product_holds() -> None:
    sc = random_instance(12, 3, 3, n_bundles=6, seed=8, synergy=1.5)
    sol = solve(sc.with_constraints(max_bundles_per_product=1), threads=1)
    for g in range(sc.n_menus):
        on = sol.decision.levels[g] >= 0
        for p in sc.products:
            assert sum(on[b] and p in sc.components[b] for b in range(sc.n_offers) if sc.is_bundle[b]) <= 1
