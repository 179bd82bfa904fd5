"""Reasons per offer (exact moves) and per rule (re-solved without it)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_plan_headline import _scenario

from bundleopt.optimize import evaluate, solve
from bundleopt.plan_parts.reasons import offer_reasons, rule_costs
from bundleopt.scenario import NOT_OFFERED, Decision


@pytest.mark.parametrize("personalised", [True, False])
def test_offer_reasons_are_exact_moves_and_none_improves_an_optimum(personalised):
    sc = _scenario(personalised=personalised)
    sol = solve(sc)
    why = offer_reasons(sc, sol.decision)
    levels = sol.decision.levels
    assert len(why) == int((levels != NOT_OFFERED).sum())
    assert math.isclose(why["contribution"].sum(), sol.profit, rel_tol=1e-9)
    # every feasible single move of an optimal plan loses profit (or ties)
    for col in ("remove", "price_down", "price_up"):
        ok = why[f"{col}_feasible"] & why[col].notna()
        assert (why.loc[ok, col] <= 1e-6).all(), why[[col, f"{col}_feasible"]]
    # one move again by hand
    row = why.iloc[0]
    g = 0 if not personalised else list(sc.segment_ids).index(row["menu"])
    o = list(sc.offer_ids).index(row["offer"])
    lv = levels.copy()
    lv[g, o] = NOT_OFFERED
    assert math.isclose(row["remove"], evaluate(sc, Decision(lv)).profit - sol.profit, rel_tol=1e-9, abs_tol=1e-9)
    # the top of the ladder has no step up
    top = why["price"] == why["offer"].map(dict(zip(sc.offer_ids, np.nanmax(sc.prices, axis=1), strict=True)))
    assert why.loc[top, "price_up"].isna().all()


def test_rule_costs_are_re_solves_without_the_rule():
    sc = _scenario().with_constraints(max_offers=2)
    sol = solve(sc)
    costs = rule_costs(sc, sol.profit).set_index("rule")
    assert set(costs.index) == set(sc.constraints.active())
    free = solve(sc.with_constraints(max_offers=None)).profit
    assert math.isclose(costs.at["max_offers", "profit_without"], free, rel_tol=1e-6)
    assert costs.at["max_offers", "cost"] > 0  # two offers per menu is binding here
    assert (costs["cost"] >= -1e-6 * abs(sol.profit)).all()  # dropping a rule never costs


def _random_scenario(seed: int, personalised: bool, **rules):
    from bundleopt.scenario import Constraints, Scenario

    rng = np.random.default_rng(seed)
    n_s, n_p = 3, 5
    ladder = np.array([0.8, 0.9, 1.0, 1.1, 1.2])
    list_p = rng.uniform(5, 15, n_p)
    comps = [(f"p{j}",) for j in range(n_p)] + [("p0", "p1"), ("p2", "p3"), ("p1", "p4")]
    list_all = np.array([sum(list_p[int(c[1:])] for c in comp) * (0.9 if len(comp) > 1 else 1) for comp in comps])
    prices = np.outer(list_all, ladder)
    prices[1, 0] = np.nan  # a missing level: moves skip it
    asc = rng.normal(1.0, 0.8, (n_s, len(comps)))
    beta = rng.uniform(-0.4, -0.1, n_s)
    v = np.exp(asc[:, :, None] + beta[:, None, None] * np.nan_to_num(prices)[None])
    costs = np.array([sum(list_p[int(c[1:])] for c in comp) * 0.6 for comp in comps])
    return Scenario.from_arrays(v, np.ones(n_s), prices, costs, np.array([0.5, 0.3, 0.2]),
                                personalised=personalised, offer_ids=[f"o{i}" for i in range(len(comps))],
                                components=comps, constraints=Constraints(**rules), market_size=100.0,
                                list_level=np.full(len(comps), 2))


@pytest.mark.parametrize(("personalised", "rules"), [
    (True, {"max_bundles": 1, "min_bundle_discount": 0.05, "min_margin": 0.3}),
    (True, {"max_offers": 5, "max_bundles_per_product": 1, "min_margin_rate": 0.38,
            "margin_rate_scope": "segment"}),
    (True, {"max_bundles": 2, "max_price_spread": 0.1, "stock": {"p0": 5.0}}),  # rules coupling menus
    (False, {"max_bundles": 1, "min_margin_rate": 0.35}),
])
def test_moves_in_closed_form_and_per_menu_rule_checks_equal_full_re_evaluation(personalised, rules):
    """move_changes / move_feasibility give what scoring each moved decision gives (issue 15:
    the reasons at 1,000+ offers without an (moves x menus x offers) batch)."""
    from bundleopt.optimize.evaluation import evaluate_many
    from bundleopt.plan_parts.reasons import _moves, move_changes, move_feasibility

    n_feasible = n_moves = 0
    for seed in range(4):
        sc = _random_scenario(seed, personalised, **rules)
        rng = np.random.default_rng(seed)
        ok = np.isfinite(sc.prices)
        base = np.asarray(solve(sc).decision.levels).copy()  # the optimum, then menu 0 perturbed
        if seed % 2:
            row = np.where(rng.random(sc.n_offers) < 0.7, rng.integers(0, sc.prices.shape[1], sc.n_offers),
                           NOT_OFFERED)
            base[0] = np.where((row >= 0) & ~ok[np.arange(sc.n_offers), np.maximum(row, 0)], 2, row)
        g, o, _, new = _moves(sc, base)
        lv = np.repeat(base[None], len(g), axis=0)
        lv[np.arange(len(g)), g, o] = new
        full = evaluate_many(sc, lv)
        base_profit = evaluate(sc, Decision(base)).profit
        np.testing.assert_allclose(move_changes(sc, base, g, o, new), full.profit - base_profit,
                                   rtol=1e-9, atol=1e-9 * abs(base_profit))
        np.testing.assert_array_equal(move_feasibility(sc, base, g, o, new, chunk=7), full.feasible)
        n_feasible, n_moves = n_feasible + int(full.feasible.sum()), n_moves + len(g)
    assert 0 < n_feasible < n_moves  # the rules decide some moves either way


def test_rules_that_cannot_bind_cost_nothing_without_a_re_solve():
    sc = _scenario().with_constraints(max_offers=10, max_bundles=1, max_bundles_per_product=1)
    sol = solve(sc)
    calls = []

    def counting_solve(sub):
        calls.append(sub.constraints)
        return solve(sub)

    costs = rule_costs(sc, sol.profit, solve=counting_solve).set_index("rule")
    # 4 offers <= 10, 1 bundle <= 1, each product in 1 bundle: the same problem without them
    for rule in ("max_offers", "max_bundles", "max_bundles_per_product"):
        assert costs.at[rule, "cost"] == 0.0 and costs.at[rule, "status"].startswith("not re-solved")
        assert math.isclose(costs.at[rule, "profit_without"], solve(sc.with_constraints(**{rule: None})).profit,
                            rel_tol=1e-9)
    # the bundle discount rule can bind: re-solved
    assert len(calls) == 1 and calls[0].min_bundle_discount is None
    assert costs.at["min_bundle_discount", "status"] == "optimal"


def test_a_rule_cost_not_proved_is_an_interval_from_the_plan_to_the_bound():
    """Issue 16: on Ta-Feng 200 the re-solve without max_bundles hit its time limit and the
    rule's cost was unknown (and, with a worse incumbent than the plan, negative). Now: at
    least what the best decision known without the rule gains (the plan is one), at most the
    re-solve's proven bound, and the report says so."""
    from bundleopt.optimize.instance_generators import random_instance
    from bundleopt.plan_parts.reasons import rule_cost_text
    from bundleopt.scenario import Constraints

    sc = random_instance(60, 4, 4, max_offers=6, n_bundles=6, seed=1,
                         constraints=Constraints(max_offers=6, max_bundles=1))
    plan = solve(sc, time_limit=20, threads=1)
    assert plan.status == "optimal"
    costs = rule_costs(sc, plan.profit, solve=lambda s: solve(s, time_limit=0.02, threads=1)).set_index("rule")
    slow = rule_costs(sc, plan.profit, solve=lambda s: solve(s, time_limit=60, threads=1)).set_index("rule")
    assert not costs["proved"].all()  # the tiny limit leaves at least one re-solve unproved
    for rule, row in costs.iterrows():
        assert 0 <= row["cost_low"] == row["cost"] <= row["cost_high"]
        assert math.isclose(row["profit_without"], plan.profit + row["cost"])
        assert math.isclose(row["gap"], (row["cost_high"] - row["cost_low"]) / plan.profit)
        if slow.at[rule, "proved"]:  # the true cost lies in the interval
            assert row["cost_low"] - 1e-6 <= slow.at[rule, "cost"] <= row["cost_high"] + 1e-6
    text = rule_cost_text(costs.reset_index())
    for rule, row in costs[~costs["proved"]].iterrows():
        assert f"Rule {rule}" in text and f"at least {row['cost_low']:,.2f}" in text


def test_a_re_solve_worse_than_the_plan_never_gives_a_negative_cost():
    from types import SimpleNamespace

    sc = _scenario()
    profit = solve(sc).profit
    for found, bound in ((profit - 5.0, profit + 3.0), (float("nan"), float("nan"))):
        stopped = SimpleNamespace(status="time_limit", profit=found, best_bound=bound)
        row = rule_costs(sc, profit, solve=lambda s, out=stopped: out).iloc[-1]
        assert row["cost"] == 0.0 and row["profit_without"] == profit and not row["proved"]
        assert "the plan itself is the best decision known" in row["status"]
        assert row["cost_high"] == (3.0 if math.isfinite(bound) else math.inf)
