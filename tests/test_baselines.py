"""Baselines: never above brute force, feasible for the rules they claim, and each
one's defining property (top prices, list prices, nested sets, local optimum)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bundleopt.optimize.baselines import (
    BASELINES,
    compare_baselines,
    greedy_add_drop,
    list_price_all,
    naive_linear,
    naive_objective,
    revenue_ordered,
)
from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.evaluation import check_constraints, evaluate
from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import Constraints, Decision

RULES = [
    {},
    dict(max_offers=2),
    dict(max_bundles=0, min_margin=0.5),
    dict(max_bundles_per_product=1, min_bundle_discount=0.1, max_bundle_discount=0.2),
    dict(min_margin_rate=0.55),
    dict(max_price_spread=0.1, stock={"p0": 0.05}),
    dict(max_cannibalisation=0.4),
]
# rules each baseline promises to respect (the rest are reported by evaluate)
RESPECTS = {
    "naive_linear": {"max_offers", "max_bundles", "min_margin", "max_bundles_per_product",
                     "min_bundle_discount", "max_bundle_discount", "max_price_spread"},
    "list_price_all": {"max_offers", "max_bundles", "min_margin", "max_bundles_per_product",
                       "min_bundle_discount", "max_bundle_discount", "max_price_spread"},
}


def instance(seed: int, personalised: bool, **rules):
    return random_instance(5, 2, 3, n_bundles=2, seed=seed, personalised=personalised,
                           constraints=Constraints(**rules), consideration=0.9, max_bundle_size=2)


@pytest.mark.parametrize("rules", RULES, ids=lambda r: "-".join(r) or "none")
@pytest.mark.parametrize("personalised", [False, True])
def test_no_baseline_beats_brute_force(rules, personalised):
    for seed in (0, 1):
        sc = instance(seed, personalised, **rules)
        try:
            best = brute_force(sc)[1].profit
        except ValueError as exc:
            assert "infeasible" in str(exc)
            best = None
        for name, make in BASELINES.items():
            ev = evaluate(sc, make(sc))
            for msg in ev.violations:
                assert msg.split(":")[0] not in RESPECTS.get(name, set()), (name, msg)
            if ev.feasible:
                assert best is not None and ev.profit <= best * (1 + 1e-12), name
        if best is not None and "max_cannibalisation" not in rules:
            # every rule but cannibalisation holds for the empty start, so greedy stays feasible
            assert evaluate(sc, greedy_add_drop(sc)).feasible
            assert evaluate(sc, revenue_ordered(sc)).feasible  # the empty prefix is feasible


def test_naive_linear_is_trivial_top_prices():
    sc = instance(3, False)
    d = naive_linear(sc)
    top = np.nanargmax(sc.prices, axis=1)
    singles = ~sc.is_bundle
    assert (d.levels[0, singles] == top[singles]).all()
    assert (d.levels[0, sc.is_bundle] == -1).all()
    # it maximises its own objective over every decision...
    choices = [[-1, *range(sc.n_levels)]] * sc.n_offers
    best_naive = max(naive_objective(sc, Decision([list(m)])) for m in itertools.product(*choices))
    assert naive_objective(sc, d) == pytest.approx(best_naive)
    # ...and is far from the true optimum, because customers react to price
    assert evaluate(sc, d).profit < 0.95 * brute_force(sc)[1].profit


def test_naive_linear_cardinality_keeps_best_sales_times_price():
    sc = instance(3, False, max_offers=2)
    d = naive_linear(sc)
    assert (d.levels[0] >= 0).sum() == 2
    full = naive_linear(instance(3, False))
    assert naive_objective(sc, d) == pytest.approx(max(
        naive_objective(sc, Decision([np.where(np.isin(np.arange(5), pair), full.levels[0], -1)]))
        for pair in itertools.combinations(range(5), 2)))


def test_list_price_all_offers_everything_at_list():
    sc = instance(2, True)
    d = list_price_all(sc)
    assert d.levels.shape == (2, 5)
    assert (d.levels == sc.list_level).all()
    capped = list_price_all(instance(2, False, max_offers=3, max_bundles=1))
    assert (capped.levels >= 0).sum() == 3 and (capped.levels[0, 3:] >= 0).sum() <= 1


def _list_price_all_one_trial_at_a_time(sc):
    """The greedy as it was written first: each offer in standalone order is kept when the
    trial menu passes the count and bundle-price rules (one evaluation per offer)."""
    o_idx = np.arange(sc.n_offers)
    lvl = sc.list_level
    allowed = sc.allowed()[o_idx, lvl]
    v = sc.v[:, o_idx, lvl]
    standalone = sc.weights @ ((sc.prices[o_idx, lvl] - sc.costs) * v / (sc.v0[:, None] + v))
    sub = sc.with_constraints(min_margin_rate=None, max_cannibalisation=None, protected_products=None,
                              max_price_spread=None, stock=None, must_offer=None)
    menu = np.full(sc.n_offers, -1)
    for o in np.argsort(-standalone, kind="stable"):
        if allowed[o]:
            trial = menu.copy()
            trial[o] = lvl[o]
            if not check_constraints(sub, Decision([trial] * sc.n_menus)):
                menu = trial
    return menu


@pytest.mark.parametrize("rules", [dict(max_offers=3), dict(max_bundles=1, max_offers=4),
                                   dict(max_bundles_per_product=1), dict(min_bundle_discount=0.1, max_bundle_discount=0.3),
                                   dict(max_bundles_per_product=1, min_bundle_discount=0.05, max_offers=5)],
                         ids=lambda r: "-".join(r))
def test_list_price_all_with_running_counts_is_the_one_trial_at_a_time_greedy(rules):
    """Counts kept as offers are added and the band checked once per bundle give the menu of
    one rule evaluation per offer (which took hours at 7,000 offers)."""
    for seed in range(6):
        sc = random_instance(12, 2, 3, n_bundles=5, seed=seed, constraints=Constraints(**rules),
                             max_bundle_size=3)
        np.testing.assert_array_equal(list_price_all(sc).levels[0], _list_price_all_one_trial_at_a_time(sc))


def test_list_price_all_keeps_must_offer_products_under_a_cap():
    """With a product that must stay on sale and a rule that limits the menu, the baseline
    takes the kept product first and respects both (before: every trial menu failed the
    must-offer check, and the baseline offered nothing)."""
    base = random_instance(6, 2, 3, n_bundles=2, seed=4, max_bundle_size=2)
    order = np.argsort(base.weights @ base.v[:, :, 0])  # the kept product: a weak seller
    weak = next(base.offer_ids[o] for o in order if not base.is_bundle[o])
    sc = base.with_constraints(max_offers=2, must_offer=(weak,))
    d = list_price_all(sc)
    assert (d.levels[0] >= 0).sum() == 2
    assert d.levels[0, base.single_offer()[weak]] >= 0
    assert check_constraints(sc, d) == []


def test_revenue_ordered_is_optimal_for_one_segment_at_fixed_prices():
    """Talluri & van Ryzin: one MNL segment, fixed prices, no rules: a margin-ordered
    nested set is optimal, so the baseline equals brute force."""
    for seed in range(4):
        sc = random_instance(7, 1, 1, n_bundles=2, seed=seed)
        assert evaluate(sc, revenue_ordered(sc)).profit == pytest.approx(brute_force(sc)[1].profit, rel=1e-12)


def test_revenue_ordered_levels_and_nesting():
    sc = instance(4, False)
    for level in ("list", "top", "bottom", 0):
        d = revenue_ordered(sc, level=level)
        on = d.levels[0] >= 0
        margin = sc.prices[np.arange(5), np.maximum(d.levels[0], 0)] - sc.costs
        if on.any() and (~on).any():  # nested: every offered margin >= every left-out margin at that level
            out_levels = {"list": sc.list_level, "top": np.full(5, 2), "bottom": np.zeros(5, int), 0: np.zeros(5, int)}[level]
            out_margin = sc.prices[np.arange(5), out_levels] - sc.costs
            assert margin[on].min() >= out_margin[~on].max()
    with pytest.raises(ValueError, match="level"):
        revenue_ordered(sc, level="median")


def test_greedy_is_a_local_optimum():
    sc = instance(5, True, max_offers=2, min_margin_rate=0.5)
    d = greedy_add_drop(sc)
    base = evaluate(sc, d)
    assert base.feasible
    for g, o, k in itertools.product(range(sc.n_menus), range(sc.n_offers), range(-1, sc.n_levels)):
        levels = d.levels.copy()
        levels[g, o] = k
        if not check_constraints(sc, Decision(levels)):
            assert evaluate(sc, Decision(levels)).profit <= base.profit * (1 + 1e-12)


def test_greedy_repairs_an_infeasible_start():
    sc = instance(1, False, max_cannibalisation=0.2)
    empty = Decision([[-1] * 5])
    assert check_constraints(sc, empty)  # the empty menu breaks the cap
    assert evaluate(sc, greedy_add_drop(sc)).feasible  # default start: protected singles
    assert evaluate(sc, greedy_add_drop(sc, start=empty)).feasible  # the repair phase


def test_compare_baselines_table():
    table = compare_baselines(instance(0, False, max_offers=3))
    assert list(table["baseline"]) == list(BASELINES)
    assert {"profit", "feasible", "n_violations", "seconds"} <= set(table.columns)


@pytest.mark.parametrize("rules", [dict(max_cannibalisation=0.3), dict(min_margin_rate=0.5, stock={"p0": 0.02}),
                                   dict(max_price_spread=0.05, max_bundles=1),
                                   dict(min_margin_rate=0.55, margin_rate_scope="segment", max_offers=3,
                                        min_bundle_discount=0.1)], ids=lambda r: "-".join(r))
def test_greedy_screen_changes_nothing(rules, monkeypatch):
    """The fast screen of personalised moves only skips moves that break a rule: the
    greedy path is the same with a screen that lets every move through."""
    import bundleopt.optimize.greedy as greedy

    sc = random_instance(12, 4, 3, n_bundles=3, seed=9, personalised=True, constraints=Constraints(**rules))
    screened = greedy_add_drop(sc)

    class PassAll(greedy._Screen):
        def passes(self, levels, moves):
            return np.ones(len(moves), dtype=bool)

    monkeypatch.setattr(greedy, "_Screen", PassAll)
    plain = greedy_add_drop(sc)
    np.testing.assert_array_equal(screened.levels, plain.levels)
    assert evaluate(sc, screened).feasible


def test_greedy_time_limit_returns_quickly():
    import time

    sc = random_instance(60, 10, 5, n_bundles=10, seed=2, personalised=True)
    t0 = time.perf_counter()
    d = greedy_add_drop(sc, time_limit=0.05)
    assert time.perf_counter() - t0 < 5.0
    assert evaluate(sc, d).feasible
