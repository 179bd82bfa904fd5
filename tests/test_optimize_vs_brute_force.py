"""The MILP against the evaluator's independent brute force, random rule combinations."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from test_optimize_core import FAST

from bundleopt.optimize import InfeasibleScenarioError, solve
from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import Constraints

rules = st.fixed_dictionaries({}, optional={
    "max_offers": st.integers(1, 4),
    "max_bundles": st.integers(0, 1),
    "min_margin": st.sampled_from([0.3, 0.5]),
    "min_margin_rate": st.sampled_from([0.4, 0.6]),
    "margin_rate_scope": st.sampled_from(["overall", "segment"]),
    "max_bundles_per_product": st.integers(0, 1),
    "min_bundle_discount": st.sampled_from([0.0, 0.1]),
    "max_bundle_discount": st.sampled_from([0.2, 0.3]),
    "max_cannibalisation": st.sampled_from([0.3, 0.7]),
    "max_price_spread": st.sampled_from([0.0, 0.15]),
    "stock": st.sampled_from([{"p0": 0.2}, {"p1": 0.05, "p0": 0.3}]),
})


@FAST
@given(seed=st.integers(0, 10_000), personalised=st.booleans(), chosen=rules)
def test_solve_equals_evaluator_brute_force(seed: int, personalised: bool, chosen: dict) -> None:
    if chosen.get("min_bundle_discount", 0) > chosen.get("max_bundle_discount", 1):
        chosen.pop("min_bundle_discount")
    n_offers, n_levels = (4, 2) if personalised else (5, 3)
    sc = random_instance(n_offers, 2, n_levels, n_bundles=1, seed=seed, personalised=personalised,
                         constraints=Constraints(**chosen), synergy=1.0, max_bundle_size=2)
    try:
        _, best = brute_force(sc)
    except ValueError as exc:
        assume("infeasible" not in str(exc))
        raise
    try:
        sol = solve(sc, threads=1, mip_gap=1e-9)
    except InfeasibleScenarioError as exc:  # pragma: no cover - a disagreement
        pytest.fail(f"MILP says infeasible, brute force found {best.profit}: {exc}")
    assert sol.profit == pytest.approx(best.profit, rel=1e-6, abs=1e-9), (chosen, sol.method)


def test_both_agree_on_infeasibility() -> None:
    sc = random_instance(4, 2, 2, seed=0, constraints=Constraints(max_offers=1, max_cannibalisation=0.1))
    with pytest.raises(ValueError, match="infeasible"):
        brute_force(sc)
    with pytest.raises(InfeasibleScenarioError):
        solve(sc, threads=1)
