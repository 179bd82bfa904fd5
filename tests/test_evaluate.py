"""evaluate / check_constraints / evaluate_many against hand-computed tiny cases."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundleopt.optimize.evaluation import check_constraints, evaluate, evaluate_many
from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import Constraints, Decision, Scenario


def two_offers(**kw) -> Scenario:
    """v = (1, 2), v0 = 1, prices (3, 5), costs (1, 2): P = (1/4, 1/2)."""
    return Scenario.from_arrays(np.array([[[1.0], [2.0]]]), [1.0], [[3.0], [5.0]], [1.0, 2.0], [1.0], **kw)


def test_two_offers_one_level_by_hand():
    ev = evaluate(two_offers(), Decision([[0, 0]]))
    np.testing.assert_allclose(ev.probabilities, [[0.25, 0.5]])
    assert ev.profit == pytest.approx(2 * 0.25 + 3 * 0.5)
    assert ev.revenue == pytest.approx(3 * 0.25 + 5 * 0.5)
    assert ev.units == pytest.approx(0.75)
    assert ev.feasible and ev.violations == []
    assert ev.by_segment.loc[0, "purchase_probability"] == pytest.approx(0.75)


def test_one_offer_off_and_market_size():
    ev = evaluate(two_offers(market_size=100.0), Decision([[-1, 0]]))
    np.testing.assert_allclose(ev.probabilities, [[0.0, 2 / 3]])
    assert ev.profit == pytest.approx(100 * 3 * 2 / 3)
    assert ev.units == pytest.approx(100 * 2 / 3)
    assert evaluate(two_offers(), Decision([[-1, -1]])).profit == 0.0


def test_two_segments_personalised_by_hand():
    v = np.array([[[1.0], [1.0]], [[3.0], [0.0]]])
    sc = Scenario.from_arrays(v, [2.0, 1.0], [[4.0], [6.0]], [1.0, 1.0], [0.25, 0.75], personalised=True)
    ev = evaluate(sc, Decision([[0, 0], [0, -1]]))
    # segment 0: P = (1/4, 1/4), profit 3/4 + 5/4 = 2; segment 1: P = 3/4, profit 9/4
    np.testing.assert_allclose(ev.probabilities, [[0.25, 0.25], [0.75, 0.0]])
    np.testing.assert_allclose(ev.by_segment["profit"], [0.25 * 2, 0.75 * 9 / 4])
    assert ev.profit == pytest.approx(0.25 * 2 + 0.75 * 9 / 4)
    assert ev.by_segment["profit"].sum() == pytest.approx(ev.profit)
    # one row for a personalised scenario = the same menu for every segment
    assert evaluate(sc, Decision([[0, 0]])).profit == pytest.approx(evaluate(sc, Decision([[0, 0], [0, 0]])).profit)


def bundle_scenario(**rules) -> Scenario:
    """Singles A (list 10, ladder 8/10), B (list 6, ladder 5/6), bundle AB (ladder 12/15)."""
    prices = np.array([[8.0, 10.0], [5.0, 6.0], [12.0, 15.0]])
    v = np.ones((1, 3, 2))
    return Scenario.from_arrays(v, [1.0], prices, [2.0, 1.0, 3.0], [1.0], offer_ids=["A", "B", "AB"],
                                components=[("A",), ("B",), ("A", "B")], constraints=Constraints(**rules))


def test_product_units_count_bundles():
    ev = evaluate(bundle_scenario(), Decision([[1, -1, 0]]))  # P = 1/3 each for A and AB
    assert ev.product_units["A"] == pytest.approx(2 / 3)
    assert ev.product_units["B"] == pytest.approx(1 / 3)
    assert ev.units == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("rules", "levels", "expected"),
    [
        (dict(max_offers=2), [[1, 1, 1]], ["max_offers: the menu has 3 offers > 2"]),
        (dict(max_bundles=0), [[1, -1, 0]], ["max_bundles: the menu has 1 bundles > 0"]),
        (dict(max_bundles_per_product=0), [[-1, -1, 0]], ["max_bundles_per_product: product 'A'",
                                                         "max_bundles_per_product: product 'B'"]),
        # A off -> list 10, B at 5: 12 <= (1 - 0.1) * 15 = 13.5 ok; 15 > 13.5 not
        (dict(min_bundle_discount=0.1), [[-1, 0, 1]], ["min_bundle_discount: bundle 'AB'"]),
        (dict(min_bundle_discount=0.1), [[-1, 0, 0]], []),
        # A at 8 (chosen), B off -> list 6: sum 14, 15 > 14 breaks plain no-arbitrage
        (dict(min_bundle_discount=0.0), [[0, -1, 1]], ["min_bundle_discount: bundle 'AB'"]),
        (dict(max_bundle_discount=0.1), [[1, 1, 0]], ["max_bundle_discount: bundle 'AB'"]),  # 12 < 14.4
        (dict(max_bundle_discount=0.1), [[1, 1, 1]], []),
        # margin rates: A 8 -> .75, A 10 -> .8, B 5 -> .8, AB 12 -> .75, AB 15 -> .8
        (dict(min_margin=0.8), [[0, 0, 0]], ["min_margin: offer 'A'", "min_margin: offer 'AB'"]),
        (dict(min_margin=0.8), [[1, 0, 1]], []),
        (dict(stock={"A": 0.5}), [[1, -1, 0]], ["stock: product 'A' expected units 0.666667 > stock 0.5"]),
        (dict(stock={"A": 0.7}), [[1, -1, 0]], []),
    ],
)
def test_rule_messages(rules, levels, expected):
    sc = bundle_scenario(**rules)
    got = check_constraints(sc, Decision(levels))
    assert len(got) == len(expected), got
    for msg, prefix in zip(got, expected, strict=True):
        assert msg.startswith(prefix), (msg, prefix)
    assert evaluate(sc, Decision(levels)).feasible == (not expected)


def test_margin_rate_overall_and_segment():
    # two segments; segment 0 buys only the thin-margin offer, segment 1 only the fat one
    v = np.array([[[1.0], [0.0]], [[0.0], [1.0]]])
    prices, costs = [[10.0], [10.0]], [8.0, 2.0]  # margin rates .2 and .8
    base = dict(v=v, v0=[1.0, 1.0], prices=prices, costs=costs, weights=[0.5, 0.5])
    overall = Scenario.from_arrays(**base, constraints=Constraints(min_margin_rate=0.5))
    assert check_constraints(overall, Decision([[0, 0]])) == []  # (0.2 + 0.8) / 2 = .5
    per_seg = overall.with_constraints(margin_rate_scope="segment")
    msgs = check_constraints(per_seg, Decision([[0, 0]]))
    assert len(msgs) == 1 and msgs[0].startswith("min_margin_rate: segment 0: expected margin rate 0.2 < 0.5")
    tight = overall.with_constraints(min_margin_rate=0.51)
    assert check_constraints(tight, Decision([[0, 0]]))[0].startswith("min_margin_rate: overall")


def test_cannibalisation_against_reference_sales():
    sc = bundle_scenario(max_cannibalisation=0.5)
    ref = sc.reference_sales()  # A and B at list, no bundle: 1/3 each
    np.testing.assert_allclose(ref, [1 / 3, 1 / 3, 0.0])
    assert check_constraints(sc, Decision([[1, 1, -1]])) == []
    # adding the bundle: A's share 1/4 >= (1 - .5)/3 = 1/6, fine
    assert check_constraints(sc, Decision([[1, 1, 1]])) == []
    # dropping B: B's standalone share 0 < 1/6
    msgs = check_constraints(sc, Decision([[1, -1, 1]]))
    assert len(msgs) == 1 and msgs[0].startswith("max_cannibalisation: product 'B' standalone sales share 0 <")
    only_a = sc.with_constraints(protected_products=("A",))
    assert check_constraints(only_a, Decision([[1, -1, 1]])) == []


def test_price_spread_personalised_only():
    v = np.ones((2, 1, 2))
    prices = [[10.0, 12.0]]
    sc = Scenario.from_arrays(v, [1.0, 1.0], prices, [1.0], [0.5, 0.5], personalised=True,
                              constraints=Constraints(max_price_spread=0.1))
    msgs = check_constraints(sc, Decision([[0], [1]]))  # 12 > 1.1 * 10
    assert msgs == ["max_price_spread: offer 0 costs 12 for segment 1 > (1 + 0.1) x 10 for segment 0"]
    assert check_constraints(sc.with_constraints(max_price_spread=0.2), Decision([[0], [1]])) == []
    assert check_constraints(sc, Decision([[-1], [1]])) == []  # not offered to segment 0


def test_invalid_decisions_raise():
    sc = two_offers()
    with pytest.raises(ValueError, match="offers per menu"):
        evaluate(sc, Decision([[0, 0, 0]]))
    with pytest.raises(ValueError, match="outside"):
        evaluate(sc, Decision([[1, 0]]))
    with pytest.raises(ValueError, match="menus"):
        evaluate(sc, Decision([[0, 0], [0, 0]]))
    nan = Scenario.from_arrays(np.ones((1, 1, 2)), [1.0], [[np.nan, 3.0]], [1.0], [1.0])
    with pytest.raises(ValueError, match="no price at that level"):
        evaluate(nan, Decision([[0]]))


def test_evaluate_many_matches_evaluate():
    sc = random_instance(6, 3, 3, 3, n_bundles=2, seed=11, personalised=True,
                         constraints=Constraints(max_bundles=1, min_margin_rate=0.3, max_cannibalisation=0.4,
                                                 max_price_spread=0.1, min_bundle_discount=0.0))
    rng = np.random.default_rng(0)
    batch = rng.integers(-1, 3, size=(40, 3, 6))
    res = evaluate_many(sc, batch)
    for i in range(len(batch)):
        ev = evaluate(sc, Decision(batch[i]))
        assert res.profit[i] == pytest.approx(ev.profit, rel=1e-12)
        assert res.revenue[i] == pytest.approx(ev.revenue, rel=1e-12)
        assert res.n_violations[i] == len(ev.violations)
        assert res.feasible[i] == ev.feasible
    assert not res.feasible.all() and res.n_violations.max() > 0


def test_probabilities_sum_below_one_and_profit_matches_definition():
    sc = random_instance(7, 4, 3, seed=2, n_bundles=2)
    levels = np.array([[0, -1, 2, 1, -1, 0, 2]])
    ev = evaluate(sc, Decision(levels))
    total = 0.0
    for s in range(4):
        on = [o for o in range(7) if levels[0, o] >= 0]
        denom = sc.v0[s] + sum(sc.v[s, o, levels[0, o]] for o in on)
        total += sc.weights[s] * sum((sc.prices[o, levels[0, o]] - sc.costs[o]) * sc.v[s, o, levels[0, o]] / denom
                                     for o in on)
    assert ev.profit == pytest.approx(total, rel=1e-12)
    assert (ev.probabilities.sum(axis=1) < 1).all()


# ------------------------------------------------------------ property tests
SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def scenario_and_decision(draw):
    personalised = draw(st.booleans())
    sc = random_instance(draw(st.integers(3, 6)), draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                         n_bundles=draw(st.integers(0, 1)), seed=draw(st.integers(0, 10**6)),
                         personalised=personalised)
    levels = draw(st.lists(st.integers(-1, sc.n_levels - 1), min_size=sc.n_menus * sc.n_offers,
                           max_size=sc.n_menus * sc.n_offers))
    return sc, Decision(np.reshape(levels, (sc.n_menus, sc.n_offers)))


@SETTINGS
@given(scenario_and_decision(), st.floats(0.1, 100.0))
def test_scaling_a_segments_weights_changes_nothing(case, factor):
    """MNL probabilities are invariant to scaling v[s] and v0[s] by the same factor."""
    sc, d = case
    scaled = Scenario.from_arrays(sc.v * factor, sc.v0 * factor, sc.prices, sc.costs, sc.weights,
                                  personalised=sc.personalised, offer_ids=sc.offer_ids,
                                  components=sc.components, segment_ids=sc.segment_ids)
    a, b = evaluate(sc, d), evaluate(scaled, d)
    np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-12)
    assert a.profit == pytest.approx(b.profit, rel=1e-12)


@SETTINGS
@given(scenario_and_decision(), st.floats(0.5, 1e4))
def test_totals_are_linear_in_market_size_and_add_up(case, size):
    sc, d = case
    big = replace(sc, market_size=size)
    a, b = evaluate(sc, d), evaluate(big, d)
    assert b.profit == pytest.approx(size * a.profit, rel=1e-12, abs=1e-12)
    assert b.units == pytest.approx(size * a.units, rel=1e-12, abs=1e-12)
    assert b.by_segment["revenue"].sum() == pytest.approx(b.revenue, rel=1e-12, abs=1e-12)
    assert b.product_units.sum() == pytest.approx(b.units, rel=1e-12, abs=1e-12)
    no_purchase = 1.0 - a.probabilities.sum(axis=1)
    assert (no_purchase > 0).all()
    assert (a.profit >= 0) == (a.revenue >= 0)


@SETTINGS
@given(scenario_and_decision(), st.integers(0, 5))
def test_loosening_a_cap_never_adds_violations(case, cap):
    sc, d = case
    tight = check_constraints(sc.with_constraints(max_offers=cap, min_margin_rate=0.4), d)
    loose = check_constraints(sc.with_constraints(max_offers=cap + 1, min_margin_rate=0.3), d)
    assert len(loose) <= len(tight)


def test_bundle_rule_checks_on_the_bundle_block_equal_the_dense_formulas():
    """The discount band's component sums and the bundles-per-product counts, computed on the
    (bundles x their products) block, equal the dense (offers x products) formulas."""
    from bundleopt.optimize.evaluation import _quantities
    from bundleopt.optimize.instances import random_instance
    from bundleopt.optimize.rule_checks import (
        _component_price_sum,
        check_bundles_per_product,
        multiplicity,
    )
    from bundleopt.scenario import Constraints

    sc = random_instance(14, 3, 4, n_bundles=6, seed=2, personalised=True, max_bundle_size=3,
                         constraints=Constraints(max_bundles_per_product=1))
    rng = np.random.default_rng(0)
    levels = rng.integers(-1, sc.n_levels, size=(9, sc.n_menus, sc.n_offers))
    q = _quantities(sc, levels)
    single = sc.single_offer()
    singles = np.array([single[p] for p in sc.products])
    comp = np.where(q.on[:, :, singles], q.price[:, :, singles], sc.list_prices()[singles])
    dense_sum = comp @ (multiplicity(sc).toarray() * sc.is_bundle[:, None]).T
    np.testing.assert_allclose(_component_price_sum(sc, q), dense_sum, rtol=1e-14)
    member = (multiplicity(sc).toarray() > 0) & sc.is_bundle[:, None]
    dense_count = np.einsum("ngo,oj->ngj", q.on.astype(float), member.astype(float))
    np.testing.assert_array_equal(check_bundles_per_product(sc, q).excess, dense_count - 1)
    assert (dense_count > 1).any()  # the instance does test the count
