"""brute_force against an independent, literal enumeration written here with plain loops."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundleopt.optimize.brute_force import brute_force, cross_segment_rules
from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import Constraints, Scenario

TOL = 1e-9


def seg_outcome(sc: Scenario, s: int, menu: tuple[int, ...]) -> tuple[list[float], float, float]:
    """Purchase probabilities, margin and revenue per customer of segment s on ``menu``."""
    on = [o for o, k in enumerate(menu) if k >= 0]
    denom = sc.v0[s] + sum(sc.v[s, o, menu[o]] for o in on)
    probs = [sc.v[s, o, menu[o]] / denom if menu[o] >= 0 else 0.0 for o in range(len(menu))]
    margin = sum((sc.prices[o, menu[o]] - sc.costs[o]) * probs[o] for o in on)
    revenue = sum(sc.prices[o, menu[o]] * probs[o] for o in on)
    return probs, margin, revenue


def literal_feasible(sc: Scenario, menus: tuple[tuple[int, ...], ...]) -> bool:
    """Every rule of the Constraints docstring, checked one by one."""
    c = sc.constraints
    single = {comp[0]: o for o, comp in enumerate(sc.components) if len(comp) == 1}
    bundles = [o for o, comp in enumerate(sc.components) if len(comp) > 1]
    lp = [sc.prices[o, sc.list_level[o]] for o in range(sc.n_offers)]
    for menu in menus:
        offered = [o for o, k in enumerate(menu) if k >= 0]
        if c.max_offers is not None and len(offered) > c.max_offers:
            return False
        if c.max_bundles is not None and len([o for o in offered if o in bundles]) > c.max_bundles:
            return False
        for o in offered:
            p = sc.prices[o, menu[o]]
            if c.min_margin is not None and (p - sc.costs[o]) / p < c.min_margin - 1e-12:
                return False
        if c.max_bundles_per_product is not None:
            for prod in single:
                if sum(1 for b in bundles if menu[b] >= 0 and prod in sc.components[b]) > c.max_bundles_per_product:
                    return False
        for b in bundles:
            if menu[b] < 0:
                continue
            ref = sum(sc.prices[single[p], menu[single[p]]] if menu[single[p]] >= 0 else lp[single[p]]
                      for p in sc.components[b])
            pb = sc.prices[b, menu[b]]
            if c.min_bundle_discount is not None and pb > (1 - c.min_bundle_discount) * ref * (1 + TOL):
                return False
            if c.max_bundle_discount is not None and pb < (1 - c.max_bundle_discount) * ref * (1 - TOL):
                return False
    seen = [menus[s if len(menus) > 1 else 0] for s in range(sc.n_segments)]
    outs = [seg_outcome(sc, s, seen[s]) for s in range(sc.n_segments)]
    if c.min_margin_rate is not None:
        m = c.min_margin_rate
        if c.margin_rate_scope == "segment":
            if any(mar < m * rev - TOL for _, mar, rev in outs):
                return False
        else:
            mar = sum(w * o[1] for w, o in zip(sc.weights, outs, strict=True))
            rev = sum(w * o[2] for w, o in zip(sc.weights, outs, strict=True))
            if mar < m * rev - TOL:
                return False
    if c.max_cannibalisation is not None:
        status_quo = tuple(-1 if len(comp) > 1 else sc.list_level[o] for o, comp in enumerate(sc.components))
        protected = c.protected_products if c.protected_products is not None else list(single)
        for prod in protected:
            o = single[prod]
            now = sum(w * out[0][o] for w, out in zip(sc.weights, outs, strict=True))
            ref = sum(sc.weights[s] * seg_outcome(sc, s, status_quo)[0][o] for s in range(sc.n_segments))
            if now < (1 - c.max_cannibalisation) * ref - TOL:
                return False
    if c.max_price_spread is not None and len(menus) > 1:
        for o in range(sc.n_offers):
            for a, b in itertools.permutations(range(len(menus)), 2):
                if menus[a][o] >= 0 and menus[b][o] >= 0:
                    if sc.prices[o, menus[a][o]] > (1 + c.max_price_spread) * sc.prices[o, menus[b][o]] * (1 + TOL):
                        return False
    if c.stock is not None:
        for prod, units in c.stock.items():
            sold = sum(sc.weights[s] * outs[s][0][o] * sc.components[o].count(prod)
                       for s in range(sc.n_segments) for o in range(sc.n_offers))
            if sc.market_size * sold > units * (1 + TOL):
                return False
    return True


def literal_optimum(sc: Scenario) -> float:
    """Best feasible profit over every decision (itertools), -inf when none is feasible."""
    choices = [[-1, *[k for k in range(sc.n_levels) if np.isfinite(sc.prices[o, k])]] for o in range(sc.n_offers)]
    menus = list(itertools.product(*choices))
    best = -math.inf
    for decision in itertools.product(menus, repeat=sc.n_menus):
        if literal_feasible(sc, decision):
            seen = [decision[s if sc.n_menus > 1 else 0] for s in range(sc.n_segments)]
            profit = sc.market_size * sum(sc.weights[s] * seg_outcome(sc, s, seen[s])[1] for s in range(sc.n_segments))
            best = max(best, profit)
    return best


RULES = [
    {},
    dict(max_offers=2),
    dict(max_bundles=0),
    dict(max_bundles_per_product=0, max_offers=3),
    dict(min_margin=0.5),
    dict(min_margin_rate=0.55),
    dict(min_margin_rate=0.55, margin_rate_scope="segment"),
    dict(min_bundle_discount=0.3),
    dict(min_bundle_discount=0.0, max_bundle_discount=0.1),
    dict(max_cannibalisation=0.3),
    dict(max_cannibalisation=0.2, protected_products=("p0",)),
    dict(max_price_spread=0.05),
    dict(stock={"p0": 0.05, "p1": 0.1}),
]


def tiny(seed: int, personalised: bool, **rules) -> Scenario:
    return random_instance(4, 2, 2, n_bundles=1, seed=seed, personalised=personalised,
                           constraints=Constraints(**rules), consideration=0.9, max_bundle_size=2,
                           market_size=1.0 if "stock" not in rules else 2.0)


def compare(sc: Scenario) -> None:
    expected = literal_optimum(sc)
    if expected == -math.inf:
        with pytest.raises(ValueError, match="infeasible"):
            brute_force(sc)
        return
    decision, ev = brute_force(sc)
    assert ev.feasible, ev.violations
    assert ev.profit == pytest.approx(expected, rel=1e-9)
    assert evaluate(sc, decision).profit == ev.profit


@pytest.mark.parametrize("rules", RULES, ids=lambda r: "-".join(r) or "none")
@pytest.mark.parametrize("seed", [0, 1])
def test_uniform_equals_literal_enumeration(rules, seed):
    compare(tiny(seed, False, **rules))


@pytest.mark.parametrize("rules", RULES, ids=lambda r: "-".join(r) or "none")
def test_personalised_equals_literal_enumeration(rules):
    compare(tiny(3, True, **rules))


def test_rules_bind_somewhere():
    """The rule sets above change the optimum on these instances (the test has teeth)."""
    changed = set()
    for rules in RULES[1:]:
        for personalised, seed in itertools.product((False, True), (0, 1, 3)):
            free = brute_force(tiny(seed, personalised))[1].profit
            try:
                bound = brute_force(tiny(seed, personalised, **rules))[1].profit
            except ValueError:
                bound = -math.inf
            if bound < free - 1e-9:
                changed.add(tuple(rules))
    assert len(changed) >= len(RULES) - 2, set(map(tuple, RULES[1:])) - changed


def test_cross_segment_detection():
    sc = tiny(0, True, stock={"p0": 1.0}, max_offers=2)
    assert cross_segment_rules(sc) == ["stock"]
    assert cross_segment_rules(tiny(0, True, min_margin_rate=0.2, margin_rate_scope="segment")) == []
    assert cross_segment_rules(tiny(0, False, stock={"p0": 1.0})) == []


def test_too_large_and_infeasible_errors():
    sc = random_instance(12, 2, 5, seed=0)
    with pytest.raises(ValueError, match="too large"):
        brute_force(sc, max_decisions=10_000)
    impossible = tiny(0, False, max_offers=1, max_cannibalisation=0.1)
    with pytest.raises(ValueError, match="infeasible"):
        brute_force(impossible)


def test_personalised_without_rules_is_per_segment_best():
    sc = random_instance(5, 3, 3, 2, seed=4, personalised=True)
    decision, ev = brute_force(sc)
    for s in range(3):
        alone = random_instance(5, 3, 3, 2, seed=4)
        alone = Scenario.from_arrays(alone.v[s:s + 1], alone.v0[s:s + 1], alone.prices, alone.costs, [1.0], 2)
        _, best = brute_force(alone)
        assert ev.by_segment["profit"][s] == pytest.approx(sc.weights[s] * best.profit, rel=1e-12)


COUPLED = [
    dict(min_margin_rate=0.5),
    dict(max_price_spread=0.1, stock={"p0": 0.05}),
    dict(max_cannibalisation=0.2),
    dict(max_price_spread=0.0, max_offers=2),
    dict(stock={"p0": 0.03, "p1": 0.05}),
    dict(max_cannibalisation=0.1, min_margin_rate=0.45, max_bundles=0),
]


@pytest.mark.parametrize("rules", COUPLED, ids=lambda r: "-".join(r))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_branch_and_bound_equals_full_joint_enumeration(rules, seed):
    """With max_decisions below the joint count (81^2) the exact branch and bound runs."""
    sc = random_instance(4, 2, 2, n_bundles=1, seed=seed, personalised=True, constraints=Constraints(**rules),
                         consideration=0.9, max_bundle_size=2)

    def best(limit: int):
        try:
            return brute_force(sc, max_decisions=limit)[1].profit
        except ValueError as exc:
            assert "infeasible" in str(exc)
            return None

    full, searched = best(10**6), best(500)
    assert (full is None) == (searched is None)
    if full is not None:
        assert searched == pytest.approx(full, rel=1e-12)


@st.composite
def ruled_instance(draw):
    """A tiny instance with a random combination of rules."""
    rules = {}
    if draw(st.booleans()):
        rules["max_offers"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        rules["max_bundles"] = draw(st.integers(0, 1))
    if draw(st.booleans()):
        rules["min_margin"] = draw(st.sampled_from([0.3, 0.45, 0.55]))
    if draw(st.booleans()):
        rules["min_margin_rate"] = draw(st.sampled_from([0.4, 0.5, 0.6]))
        rules["margin_rate_scope"] = draw(st.sampled_from(["overall", "segment"]))
    if draw(st.booleans()):
        rules["min_bundle_discount"] = draw(st.sampled_from([0.0, 0.1, 0.3]))
    if draw(st.booleans()):
        rules["max_cannibalisation"] = draw(st.sampled_from([0.1, 0.3, 0.6]))
    if draw(st.booleans()):
        rules["max_price_spread"] = draw(st.sampled_from([0.0, 0.1, 0.5]))
    if draw(st.booleans()):
        rules["stock"] = {"p0": draw(st.sampled_from([0.02, 0.05, 0.2]))}
    return tiny(draw(st.integers(0, 10**6)), draw(st.booleans()), **rules)


@settings(max_examples=20, deadline=None)
@given(ruled_instance())
def test_random_rule_combinations_equal_literal_enumeration(sc):
    compare(sc)
