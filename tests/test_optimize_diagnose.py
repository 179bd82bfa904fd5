"""Infeasible scenarios name the conflicting rule families."""

from __future__ import annotations

import pytest

from bundleopt.optimize import InfeasibleScenarioError, solve
from bundleopt.optimize.diagnose import conflicting_families
from bundleopt.optimize.instances import random_instance


def test_cannibalisation_vs_cardinality() -> None:
    sc = random_instance(6, 3, 3, seed=1).with_constraints(
        max_offers=1, max_cannibalisation=0.1, min_margin_rate=0.1)
    with pytest.raises(InfeasibleScenarioError) as err:
        solve(sc, threads=1)
    assert set(err.value.families) == {"cardinality", "cannibalisation"}
    assert "max_offers=1" in str(err.value) and "max_cannibalisation=0.1" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_cannibalisation_vs_stock() -> None:
    sc = random_instance(5, 2, 3, seed=2).with_constraints(
        max_cannibalisation=0.2, stock={"p0": 0.0}, max_offers=4)
    with pytest.raises(InfeasibleScenarioError) as err:
        solve(sc, threads=1)
    assert set(err.value.families) == {"stock", "cannibalisation"}


def test_cannibalisation_vs_margin_floor_single_segment() -> None:
    """Decomposed path (one segment): the floor removes every level of a protected single."""
    sc = random_instance(4, 1, 3, seed=3)
    floor = float(((sc.prices[0] - sc.costs[0]) / sc.prices[0]).max()) + 0.01
    sc = sc.with_constraints(min_margin=floor, max_cannibalisation=0.5, protected_products=("p0",))
    with pytest.raises(InfeasibleScenarioError) as err:
        solve(sc, threads=1)
    assert set(err.value.families) == {"margin_floor", "cannibalisation"}


def test_feasible_scenario_has_no_conflict() -> None:
    sc = random_instance(5, 2, 3, seed=2).with_constraints(max_cannibalisation=0.5, max_offers=5)
    assert conflicting_families(sc, threads=1) == []
    # one offer fewer than protected singles: a single would sell nothing
    assert conflicting_families(sc.with_constraints(max_offers=4), threads=1) == [
        "cardinality", "cannibalisation"]
