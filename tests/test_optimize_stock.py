"""Stock limits through singles and bundles (formulations/stock.md)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST, assert_matches_brute_force, small

from bundleopt.optimize import solve
from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.instances import random_instance


@FAST
@given(seed=st.integers(0, 10_000), units=st.sampled_from([0.0, 5.0, 15.0]), personalised=st.booleans())
def test_stock_equals_brute_force(seed: int, units: float, personalised: bool) -> None:
    if personalised:
        sc = small(seed, personalised=True, n_offers=3, n_bundles=1, n_levels=2, synergy=1.0)
    else:
        sc = small(seed, personalised=False, n_offers=5, n_bundles=2, n_levels=3, synergy=1.0)
    sc = sc.with_constraints(stock={"p0": units, "p1": units / 2})
    from dataclasses import replace
    assert_matches_brute_force(replace(sc, market_size=100.0))


def test_stock_limits_units_with_market_size() -> None:
    sc = random_instance(8, 3, 3, n_bundles=3, seed=12, market_size=1000.0, synergy=1.0)
    free = evaluate(sc, solve(sc, threads=1).decision).product_units
    cap = {p: 0.5 * free[p] for p in ("p0", "p1", "p2")}
    sol = solve(sc.with_constraints(stock=cap), threads=1)
    units = evaluate(sc, sol.decision).product_units
    for p, c in cap.items():
        assert units[p] <= c * (1 + 1e-7) + 1e-7
