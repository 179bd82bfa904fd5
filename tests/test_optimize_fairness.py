"""Fairness of personalised prices across segments (formulations/fairness.md)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST, assert_matches_brute_force, small

from bundleopt.optimize import solve
from bundleopt.optimize.instances import random_instance


@FAST
@given(seed=st.integers(0, 10_000), delta=st.sampled_from([0.0, 0.1, 0.2]))
def test_fairness_equals_brute_force(seed: int, delta: float) -> None:
    sc = small(seed, personalised=True, n_offers=3, n_segments=2, n_levels=3, max_price_spread=delta)
    assert_matches_brute_force(sc)


def test_fairness_bounds_price_ratio_and_couples_segments() -> None:
    sc = random_instance(5, 3, 5, seed=6, personalised=True, sensitivity=(0.5, 6.0))
    free = solve(sc, threads=1)
    fair = solve(sc.with_constraints(max_price_spread=0.05), threads=1)
    assert fair.method.startswith("lagrangian-decomposed") and free.method == "lp-decomposed"
    p = fair.prices.to_numpy()
    for o in range(sc.n_offers):
        col = p[:, o][np.isfinite(p[:, o])]
        if col.size:
            assert col.max() <= 1.05 * col.min() * (1 + 1e-9)
    assert fair.profit <= free.profit + 1e-9


def test_fairness_ignored_for_uniform_prices() -> None:
    sc = random_instance(5, 3, 3, seed=6)
    assert solve(sc.with_constraints(max_price_spread=0.0), threads=1).profit == \
        solve(sc, threads=1).profit
