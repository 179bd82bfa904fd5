"""Products that must stay on sale (``Constraints.must_offer``, formulations/rules.md):
each kept product's single offer is on every menu. The MILP, the per-segment LPs, brute
force and the exact check agree; conflicts name the family."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST, assert_matches_brute_force, small

from bundleopt.optimize import InfeasibleScenarioError, solve
from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.evaluation import check_constraints, evaluate
from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import NOT_OFFERED, Constraints, Decision


def _kept_everywhere(sc, levels: np.ndarray, kept: tuple[str, ...]) -> bool:
    single = sc.single_offer()
    return all(levels[g, single[p]] != NOT_OFFERED for g in range(sc.n_menus) for p in kept)


@FAST
@given(seed=st.integers(0, 10_000), personalised=st.booleans(), card=st.sampled_from([None, 2]),
       kept=st.sampled_from([("p0",), ("p1", "p2")]))
def test_must_offer_equals_brute_force(seed: int, personalised: bool, card: int | None,
                                       kept: tuple[str, ...]) -> None:
    if personalised:
        sc = small(seed, personalised=True, n_offers=3, n_levels=2, max_offers=card)
    else:
        sc = small(seed, personalised=False, n_offers=5, n_segments=3, n_levels=3, max_offers=card)
    sc = sc.with_constraints(must_offer=kept)
    assert_matches_brute_force(sc)
    sol = solve(sc, threads=1, mip_gap=1e-9)
    assert _kept_everywhere(sc, sol.decision.levels, kept)
    best, ev = brute_force(sc)
    assert ev.feasible and _kept_everywhere(sc, best.levels, kept)
    assert sol.profit == pytest.approx(ev.profit, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("coupling", [{"max_cannibalisation": 0.3}, {"max_price_spread": 0.1},
                                      {"stock": {"p0": 0.2}}, {"min_margin_rate": 0.4}],
                         ids=["cannibalisation", "fairness", "stock", "margin_rate"])
def test_must_offer_with_a_coupling_rule_equals_brute_force(coupling: dict) -> None:
    """The coupled decomposition's local LPs and the MILP carry the rule too."""
    sc = small(1, personalised=True, n_offers=3, n_levels=2).with_constraints(must_offer=("p1",), **coupling)
    assert_matches_brute_force(sc)


def test_a_money_losing_product_is_kept_on_every_menu() -> None:
    """The rule binds: without it the optimum drops the product, with it the product is
    on every segment's menu (personalised: the per-segment LPs; uniform: the MILP)."""
    for personalised in (True, False):
        sc = random_instance(4, 3, 3, seed=5, personalised=personalised)
        costs = sc.costs.copy()
        costs[sc.single_offer()["p0"]] = 10 * np.nanmax(sc.prices)  # every sale loses money
        from dataclasses import replace

        sc = replace(sc, costs=costs)
        free = solve(sc, threads=1)
        assert not _kept_everywhere(sc, free.decision.levels, ("p0",))
        kept = solve(sc.with_constraints(must_offer=("p0",)), threads=1)
        assert _kept_everywhere(sc, kept.decision.levels, ("p0",))
        assert kept.profit < free.profit
        assert kept.status == "optimal"


def test_check_names_the_missing_product_and_menu() -> None:
    sc = random_instance(3, 2, 2, seed=1, personalised=True, constraints=Constraints(must_offer=("p1",)))
    levels = np.full((2, sc.n_offers), NOT_OFFERED)
    levels[0, sc.single_offer()["p1"]] = 0
    msgs = check_constraints(sc, Decision(levels))
    assert len(msgs) == 1 and msgs[0].startswith("must_offer: product 'p1'")
    assert repr(sc.segment_ids[1]) in msgs[0]
    levels[1, sc.single_offer()["p1"]] = 1
    assert evaluate(sc, Decision(levels)).feasible


@pytest.mark.parametrize("personalised", [False, True])
def test_more_kept_products_than_the_cap_is_infeasible(personalised: bool) -> None:
    sc = random_instance(4, 2, 2, seed=7, personalised=personalised,
                         constraints=Constraints(must_offer=("p0", "p1", "p2"), max_offers=2))
    with pytest.raises(ValueError, match="infeasible"):
        brute_force(sc)
    with pytest.raises(InfeasibleScenarioError) as err:
        solve(sc, threads=1)
    assert set(err.value.families) == {"must_offer", "cardinality"}
    assert "must_offer=('p0', 'p1', 'p2')" in str(err.value) and "max_offers=2" in str(err.value)


def test_kept_product_below_the_margin_floor_is_infeasible() -> None:
    sc = random_instance(4, 1, 3, seed=3)
    floor = float(((sc.prices[0] - sc.costs[0]) / sc.prices[0]).max()) + 0.01
    sc = sc.with_constraints(min_margin=floor, must_offer=("p0",))
    with pytest.raises(InfeasibleScenarioError) as err:
        solve(sc, threads=1)
    assert set(err.value.families) == {"margin_floor", "must_offer"}


def test_bad_must_offer_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match=r"must_offer must be a collection of product ids.*\('p0',\)"):
        Constraints(must_offer="p0")
    with pytest.raises(ValueError, match="must_offer must hold product ids"):
        Constraints(must_offer=[["p0"]])
    assert Constraints(must_offer=[]).must_offer is None  # nothing kept: the rule is off
    assert Constraints(must_offer=["p1", "p0", "p1"]).must_offer == ("p1", "p0")
    sc = random_instance(3, 1, 2, seed=1)
    with pytest.raises(ValueError, match="must_offer names products without a single offer: \\['zz'\\]"):
        sc.with_constraints(must_offer=("zz",))
