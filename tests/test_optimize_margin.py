"""Margin floor (level mask) and aggregate expected-margin rate (formulations/margin.md)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST, assert_matches_brute_force, small

from bundleopt.optimize import solve
from bundleopt.optimize.instances import random_instance
from bundleopt.optimize.levels import level_mask


@FAST
@given(seed=st.integers(0, 10_000), floor=st.sampled_from([0.3, 0.5, 0.6]),
       personalised=st.booleans())
def test_margin_floor_equals_brute_force(seed: int, floor: float, personalised: bool) -> None:
    n = 3 if personalised else 5
    sc = small(seed, personalised=personalised, n_offers=n, n_levels=3, min_margin=floor)
    assert_matches_brute_force(sc)


def test_margin_floor_drops_levels_before_the_build() -> None:
    sc = random_instance(6, 2, 4, seed=2).with_constraints(min_margin=0.5)
    mask = level_mask(sc, ["margin_floor"])
    rate = (sc.prices - sc.costs[:, None]) / sc.prices
    assert np.array_equal(mask, rate >= 0.5 - 1e-12)
    sol = solve(sc, threads=1)
    assert (sol.offers["price"] - sol.offers["cost"] >= 0.5 * sol.offers["price"] - 1e-9).all()


@FAST
@given(seed=st.integers(0, 10_000), rate=st.sampled_from([0.45, 0.55, 0.65]),
       scope=st.sampled_from(["overall", "segment"]), personalised=st.booleans())
def test_margin_rate_equals_brute_force(seed: int, rate: float, scope: str, personalised: bool) -> None:
    n = 3 if personalised else 5
    sc = small(seed, personalised=personalised, n_offers=n, n_levels=3,
               min_margin_rate=rate, margin_rate_scope=scope)
    assert_matches_brute_force(sc)


def test_margin_rate_binds_and_holds() -> None:
    sc = random_instance(6, 3, 4, max_offers=3, seed=7)
    free = solve(sc, threads=1)
    achieved = free.profit / free.revenue
    target = min(0.95, achieved + 0.05)
    bound = solve(sc.with_constraints(min_margin_rate=target), threads=1)
    assert bound.profit / bound.revenue >= target - 1e-7
    assert bound.profit <= free.profit + 1e-9
