"""Cardinality: offers and bundles per menu (formulations/cardinality.md)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST, assert_matches_brute_force, small

from bundleopt.optimize import solve
from bundleopt.optimize.instances import random_instance


@FAST
@given(seed=st.integers(0, 10_000), c=st.sampled_from([0, 1, 2, 4]), cb=st.sampled_from([None, 0, 1]),
       personalised=st.booleans())
def test_cardinality_equals_brute_force(seed: int, c: int, cb: int | None, personalised: bool) -> None:
    n = 3 if personalised else 5
    sc = small(seed, personalised=personalised, n_offers=n, n_bundles=1, max_offers=c, max_bundles=cb)
    assert_matches_brute_force(sc)


def test_cardinality_counts_per_menu() -> None:
    sc = random_instance(10, 3, 3, n_bundles=3, seed=4, personalised=True, synergy=1.0)
    sol = solve(sc.with_constraints(max_offers=2, max_bundles=1), threads=1)
    on = sol.decision.levels >= 0
    assert (on.sum(axis=1) <= 2).all()
    assert ((on & sc.is_bundle).sum(axis=1) <= 1).all()
    assert sol.method == "lp-decomposed"  # TU: the LP was integral


def test_zero_offers_gives_zero_profit() -> None:
    sc = random_instance(6, 2, 3, seed=1).with_constraints(max_offers=0)
    sol = solve(sc, threads=1)
    assert sol.profit == 0 and sol.offers.empty
