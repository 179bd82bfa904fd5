"""Hostile values through the Python API (issue 13, item 12): each ends in one
ValueError that names the field (and entry) and says what it must be, never an
IndexError or numpy TypeError later, and never a value read another way.
The classes are listed in tests/BAD_INPUTS.md."""

from __future__ import annotations

import numpy as np
import pytest

from bundleopt import Constraints, Decision, Scenario, evaluate, solve
from bundleopt.optimize.instances import random_instance

INF, NAN = float("inf"), float("nan")


def _arrays(**changes):
    """A valid 2-segment scenario (products a, b and bundle ab, 2 levels) with changes."""
    args = dict(v=np.ones((2, 3, 2)), v0=[1.0, 2.0], prices=[[2.0, 3.0], [2.5, 3.5], [4.0, 5.0]],
                costs=[1.0, 1.0, 1.5], weights=[0.5, 0.5], offer_ids=["a", "b", "ab"],
                components=[("a",), ("b",), ("a", "b")])
    args.update(changes)
    return args


def test_the_base_scenario_is_valid():
    sc = Scenario.from_arrays(**_arrays())
    assert sc.n_offers == 3 and sc.list_level.tolist() == [1, 1, 1]


@pytest.mark.parametrize(("changes", "match"), [
    # list_level past the ladder passed and raised IndexError later
    ({"list_level": [1, 1, 2]}, r"list_level\[2\] \(offer 'ab'\) = 2 is outside the ladder's levels 0..1"),
    ({"list_level": [1, 1, -1]}, r"list_level\[2\] \(offer 'ab'\) = -1 is outside"),
    ({"list_level": [1, 1, 1.5]}, r"list_level\[2\] \(offer 'ab'\) = 1.5 is not a whole number"),
    ({"list_level": [True, True, False]}, "list_level must be whole numbers"),
    ({"prices": [[2.0, NAN], [2.5, 3.5], [4.0, 5.0]], "list_level": [1, 1, 1]},
     r"list_level\[0\] \(offer 'a'\) = 1 points to a missing level"),
    # ±inf price was silently a missing level
    ({"prices": [[2.0, INF], [2.5, 3.5], [4.0, 5.0]]}, r"prices\[0, 1\] \(offer 'a', level 1\) is inf.*only NaN"),
    ({"prices": [[2.0, 3.0], [-INF, 3.5], [4.0, 5.0]]}, r"prices\[1, 0\] .* is -inf"),
    # personalised="no" was read as True
    ({"personalised": "no"}, "personalised must be True or False, got 'no'"),
    ({"personalised": 1}, "personalised must be True or False"),
    # weights that double arithmetic cannot carry gave SolverError "raise time_limit"
    ({"v": np.full((2, 3, 2), 1e20)}, "segment 0: preference weights 3e\\+20 times the no-purchase"),
    ({"v": np.full((2, 3, 2), 1e300)}, "no-purchase share below double precision"),
    ({"v0": [1e-320, 1.0]}, "segment 0: preference weights overflow double arithmetic"),
    ({"v": np.full((2, 3, 2), 1e307), "v0": [1e307, 1e307]}, "overflow double arithmetic"),
    ({"v": np.where(np.arange(12).reshape(2, 3, 2) == 5, INF, 1.0)}, "v .*must be finite"),
    ({"v0": [0.0, 1.0]}, "v0 .*> 0"),
    ({"weights": [NAN, 1.0]}, "weights must be finite"),
    ({"weights": [0.0, 0.0]}, "weights must sum to 1"),
    ({"weights": [1.5, -0.5]}, "weights must be finite and >= 0"),
    ({"costs": [1.0, -INF, 1.0]}, "costs must be finite and >= 0"),
    ({"market_size": "10"}, "market_size must be a number, got '10'"),
    ({"market_size": True}, "market_size must be a number, got True"),
    ({"market_size": INF}, "market_size must be finite"),
    ({"market_size": 0}, "market_size must be > 0"),
    # a string in place of a tuple became its characters
    ({"components": ["a", "b", ("a", "b")]}, r"components\[0\] must be a tuple of product ids, got 'a'"),
    ({"components": "ab"}, "components must be a sequence of tuples"),
    ({"components": [("a",), ("b",), ("a", "a")]}, "offer 'ab' lists a product twice"),
    ({"components": [("a",), ("b",), ("a", "c")]}, "components without a single offer: \\['c'\\]"),
    ({"v": np.ones((2, 4, 2)), "prices": [[2.0, 3.0]] * 4, "costs": [1.0] * 4,
      "offer_ids": ["a1", "a2", "b", "ab"], "components": [("a",), ("a",), ("b",), ("a", "b")]},
     "product 'a' has more than one single offer"),
    ({"segment_ids": ["x", "x"]}, "segment_ids must be 2 distinct ids"),
    ({"segment_ids": [["x"], "y"]}, r"segment_ids\[0\] = \['x'\] is not a usable id \(a list\)"),
    ({"offer_ids": ["a", "b", ["a", "b"]]}, r"offer_ids\[2\] = \['a', 'b'\] is not a usable id"),
    ({"components": [("a",), ("b",), ("a", ["b"])]}, r"components\[2\]\[1\] = \['b'\] is not a usable id"),
    ({"constraints": {"max_offers": 2}}, "constraints must be a bundleopt.Constraints"),
    ({"constraints": Constraints(protected_products=("z",))}, "protected_products names products without"),
    ({"constraints": Constraints(stock={"z": 3})}, "stock names unknown products"),
])
def test_bad_scenario_is_refused(changes, match):
    with pytest.raises(ValueError, match=match):
        Scenario.from_arrays(**_arrays(**changes))


def test_numpy_bool_is_a_bool():
    assert Scenario.from_arrays(**_arrays(personalised=np.True_)).personalised is True


def test_purchase_odds_threshold():
    """Odds of buying against not buying up to 1e15 are kept (1e14 solves), beyond refused."""
    v = np.full((2, 3, 2), 1e14 / 3)
    sc = Scenario.from_arrays(**_arrays(v=v, v0=[1.0, 1.0]))
    assert solve(sc, threads=1).profit > 0
    with pytest.raises(ValueError, match="no-purchase share below double precision"):
        Scenario.from_arrays(**_arrays(v=v * 100, v0=[1.0, 1.0]))


def test_far_from_one_v0_gives_the_same_plan():
    """Only v / v0 matters: a segment's v and v0 scaled by 1e20 (or 1e-20) together give
    the same plan and profit, without a warning (the solver's model is conditioned)."""
    import warnings

    import bundleopt as bo

    rng = np.random.default_rng(0)
    base = _arrays(v=np.exp(rng.normal(0, 2, size=(2, 3, 2))), v0=[0.5, 3.0])
    plans = []
    for factor in (1.0, 1e20, 1e-20):
        arrays = dict(base, v=np.asarray(base["v"], dtype=float) * factor,
                      v0=np.asarray(base["v0"], dtype=float) * factor)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sc = Scenario.from_arrays(**arrays)
        plans.append(bo.solve(sc, threads=1))
    for sol in plans[1:]:
        assert np.array_equal(sol.decision.levels, plans[0].decision.levels)
        assert sol.profit == pytest.approx(plans[0].profit, rel=1e-9)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"max_offers": True}, "max_offers must be a whole number, got True"),
    ({"max_offers": "3"}, "max_offers must be a whole number, got '3'"),
    ({"max_offers": NAN}, "max_offers must be finite"),
    ({"max_offers": INF}, "max_offers must be finite"),
    ({"max_offers": 2.5}, "max_offers must be a whole number"),
    ({"max_bundles": -1}, "max_bundles must be a non-negative integer"),
    ({"min_margin": "0.1"}, "min_margin must be a number, got '0.1'"),
    ({"min_margin_rate": 1.0}, r"min_margin_rate must be in \[0, 1\)"),
    ({"max_price_spread": "x"}, "max_price_spread must be a number"),
    ({"max_price_spread": -0.1}, "max_price_spread must be >= 0"),
    ({"stock": [1, 2]}, "stock must be a mapping product id -> units"),
    ({"stock": {"a": "3"}}, "stock must be finite numbers >= 0; bad entries: {'a': '3'}"),
    ({"stock": {"a": NAN}}, "stock must be finite numbers >= 0"),
    ({"protected_products": "a"}, r"protected_products must be a collection of product ids, got 'a' \(for one product write \('a',\)\)"),
    ({"margin_rate_scope": "segments"}, "margin_rate_scope must be 'overall' or 'segment'"),
])
def test_bad_constraints_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Constraints(**kwargs)


def test_protected_products_given_as_a_list_or_set():
    assert Constraints(protected_products=["a", "b"]).protected_products == ("a", "b")


@pytest.mark.parametrize(("levels", "match"), [
    ([[0, 1, -2]], r"Decision.levels\[0, 2\] = -2"),
    ([[0.7, 1, -1]], "Decision.levels must be whole numbers"),
    ([[0, NAN, -1]], "Decision.levels must be whole numbers"),
    ([["0", "1", "-1"]], "Decision.levels must be whole numbers"),
    ([[0, 5, -1]], "decision level 5 for offer 'b' on menu 0 is outside -1..1"),
])
def test_bad_decision_is_refused(levels, match):
    sc = Scenario.from_arrays(**_arrays())
    with pytest.raises(ValueError, match=match):
        evaluate(sc, Decision(levels))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"time_limit": "10"}, "time_limit must be a number, got '10'"),
    ({"time_limit": True}, "time_limit must be a number, got True"),
    ({"time_limit": INF}, "time_limit must be finite"),
    ({"time_limit": NAN}, "time_limit must be finite"),
    ({"time_limit": -1}, "time_limit must be a positive number"),
    ({"mip_gap": "0.1"}, "mip_gap must be a number"),
    ({"mip_gap": True}, "mip_gap must be a number, got True"),
    ({"mip_gap": -0.1}, r"mip_gap must be in \[0, 1\)"),
    ({"mip_gap": INF}, "mip_gap must be finite"),
    ({"threads": True}, "threads must be a whole number, got True"),
    ({"threads": "2"}, "threads must be a whole number, got '2'"),
    ({"threads": NAN}, "threads must be finite"),
    ({"threads": 0}, "threads must be a positive whole number"),
    ({"verbose": "no"}, "verbose must be True or False, got 'no'"),
    ({"warm_start": 0}, "warm_start must be True or False"),
])
def test_bad_solve_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve(random_instance(4, 2, 2, seed=0), **kwargs)


def test_numpy_options_are_accepted():
    sol = solve(random_instance(4, 2, 2, seed=0), time_limit=np.float64(30), mip_gap=np.float32(1e-4),
                threads=np.int64(1), verbose=np.False_)
    assert sol.status == "optimal"
