"""build_plan end to end: structure, exact bookkeeping, the truth of make_market, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bundleopt.datasets import make_market
from bundleopt.optimize import evaluate
from bundleopt.pipeline import build_plan, fit_segment_models, shop_decision
from bundleopt.truth import true_profit, truth_comparison


@pytest.fixture(scope="module")
def market():
    return make_market(seed=0)


PROGRESS: list[tuple[str, float]] = []


@pytest.fixture(scope="module")
def plan(market):
    return build_plan(market.transactions, market.catalog, sessions=market.sessions, threads=1,
                      progress=lambda step, f: PROGRESS.append((step, f)))


def test_plan_table_matches_the_solution(plan):
    sc, sol = plan.scenario, plan.solution
    assert sc.personalised and sc.n_segments == len(plan.segments)
    # one row per (segment, offered offer), prices and outcomes as the solution says
    expected = {(s, sc.offer_ids[o]) for s in range(sc.n_segments)
                for o in np.flatnonzero(sol.decision.menu_of(s) >= 0)}
    assert set(zip(plan.table["segment"], plan.table["offer"], strict=True)) == expected
    assert len(plan.table) == len(expected)
    np.testing.assert_allclose(plan.table["discount"], 1 - plan.table["price"] / plan.table["list_price"])
    assert math.isclose(plan.table["profit"].sum(), sol.profit, rel_tol=1e-9)
    assert math.isclose(plan.table["product_units"].sum(), sol.units, rel_tol=1e-9)
    size = plan.table["components"].str.count(r"\+") + 1
    np.testing.assert_allclose(plan.table["product_units"], plan.table["units"] * size)
    # every price is on the ladder, bundles never above their components' list price sum
    assert set(np.round(plan.table["price"] / plan.table["list_price"], 9)) <= set(plan.settings["ladder"])
    assert (plan.table["price"] > plan.table["cost"]).all()


def test_comparison_is_exact_and_the_optimum_beats_every_feasible_baseline(plan):
    comp = plan.comparison.set_index("plan")
    assert {"optimised", "shop", "status_quo", "naive_linear", "list_price_all", "revenue_ordered",
            "greedy_add_drop"} <= set(comp.index)
    shop = evaluate(plan.scenario, shop_decision(plan.scenario))
    assert math.isclose(comp.at["shop", "profit"], shop.profit, rel_tol=1e-12)
    assert math.isclose(comp.at["status_quo", "profit"],
                        evaluate(plan.scenario, plan.scenario.status_quo()).profit, rel_tol=1e-12)
    assert math.isclose(comp.at["optimised", "profit"], plan.profit, rel_tol=1e-9)
    feasible = comp[comp["feasible"]]
    assert (plan.profit >= feasible["profit"] * (1 - 1e-6)).all()
    assert plan.profit > plan.shop_profit
    np.testing.assert_allclose(plan.profit_by_segment.sum(axis=1), comp.loc[plan.profit_by_segment.index, "profit"])


def test_plan_beats_shop_prices_under_the_truth(plan, market):
    """The plan is optimised under fitted models; it must still win in the true market."""
    table = truth_comparison(plan, market).set_index("plan")
    assert table.at["optimised", "true_profit"] > table.at["shop", "true_profit"]
    # the truth evaluation is a real check: offering nothing earns nothing, and the
    # plan's true profit is within 25 % of what the fitted model expects
    nothing = plan.solution.decision.levels * 0 - 1
    from bundleopt.scenario import Decision
    assert true_profit(plan, market, Decision(nothing)) == 0.0
    assert abs(table.at["optimised", "true_profit"] / plan.profit - 1) < 0.25


def test_price_coefficients_recover_the_truth(plan, market):
    """Each estimated segment is mostly one true segment; its beta is within 4 s.e. of it."""
    true_seg = market.customers.set_index("customer_id")["segment"]
    joint = pd.crosstab(plan.assignments, true_seg.reindex(plan.assignments.index))
    for s, row in plan.segments.set_index("segment").iterrows():
        major = joint.loc[s].idxmax()
        assert joint.loc[s, major] / joint.loc[s].sum() > 0.9
        assert abs(row["price_coef"] - market.truth.beta[major]) < 4 * row["price_se"]


def test_uniform_prices_and_margin_floor():
    m = make_market(seed=1, n_products=10, n_customers=300, n_pairs=2)
    plan = build_plan(m.transactions, m.catalog, sessions=m.sessions, n_segments=2, personalised=False,
                      min_margin=0.3, max_offers=6, threads=1)
    assert plan.scenario.n_menus == 1
    per_offer = plan.table.groupby("offer")["price"].nunique()
    assert (per_offer == 1).all()  # one price per offer for everybody
    assert ((plan.table["price"] - plan.table["cost"]) / plan.table["price"] >= 0.3 - 1e-12).all()
    assert plan.table.groupby("segment").size().max() <= 6
    assert plan.solution.method == "milp"


def test_additive_bundle_utility_follows_its_rule():
    m = make_market(seed=2, n_products=8, n_customers=250, n_pairs=2)
    plan = build_plan(m.transactions, m.catalog, sessions=m.sessions, n_segments=1,
                      bundle_utility="additive", min_lift=1.2, threads=1)
    sc = plan.scenario
    assert sc.is_bundle.any()
    params = plan.params.set_index("parameter")["estimate"]
    assert not any(p.startswith("ASC_") and "+" in p for p in params.index)  # bundles not fitted
    lift = plan.candidates.set_index("bundle_id")["lift"]
    for o in np.flatnonzero(sc.is_bundle):
        u = sum(params[f"ASC_{j}"] for j in sc.components[o]) + np.log(lift[sc.offer_ids[o]])
        np.testing.assert_allclose(sc.v[0, o], np.exp(u + params["price"] * sc.prices[o]), rtol=1e-12)


def test_progress_is_reported_in_order(plan):
    fractions = [f for _, f in PROGRESS]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    steps = [s for s, _ in PROGRESS]
    for name in ("validating data", "segmenting customers", "mining bundle candidates",
                 "building choice data", "solving", "evaluating baselines"):
        assert name in steps
    assert sum(s.startswith("fitting choice models (") for s in steps) == len(plan.segments)
    assert set(plan.timings) >= {"validating data", "fitting choice models", "solving", "total"}


def test_segment_fits_are_independent_of_padding_and_finite(market):
    """Padding with zero-weight occasions must not change a segment's estimates."""
    from bundleopt.data import build_choice_data, validate

    vd = validate(market.transactions, market.catalog, sessions=market.sessions)
    seg = market.customers.set_index("customer_id")["segment"]
    choice = build_choice_data(vd.transactions, vd.catalog, sessions=vd.sessions, segments=seg)
    together = fit_segment_models(choice, [0, 1, 2])
    alone = fit_segment_models(choice[choice["segment"] == 2], [2])
    pd.testing.assert_series_equal(together[2].params_, alone[2].params_, rtol=1e-6)
    for model in together.values():
        assert model.converged_ and np.isfinite(model.params_).all()
    # a product segment 0 never bought still gets a finite, very small constant
    bought = choice[(choice["segment"] == 0) & (choice["chosen"] == 1)]["alt"].astype(str).unique()
    never = sorted(set(choice["alt"].astype(str)) - set(bought))
    if never:
        assert (together[0].params_[[f"ASC_{a}" for a in never]] < -3).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_segments": 0}, "n_segments"),
        ({"ladder": ()}, "ladder"),
        ({"ladder": (0.9, -1.0)}, "ladder"),
        ({"bundle_utility": "magic"}, "bundle_utility"),
        ({"min_margin": 1.5}, "min_margin"),
        ({"max_offers": 0}, "max_offers"),
        ({"sessions": None}, "purchase_share"),
        ({"purchase_share": 1.5}, "purchase_share"),
        ({"constraints": {"no_such_rule": 1}}, "unknown constraint"),
        ({"n_segments": 10_000}, "customers"),
    ],
)
def test_bad_arguments_say_what_to_fix(market, kwargs, message):
    args = {"sessions": market.sessions, **kwargs}
    with pytest.raises(ValueError, match=message):
        build_plan(market.transactions, market.catalog, **args)


def test_a_segment_without_enough_purchases_asks_for_fewer_segments(market):
    tx = market.transactions[market.transactions["customer_id"] < "U00040"]
    with pytest.raises(ValueError, match="fewer segments"):
        # min_segment_size=1: no privacy merge (by default these tiny segments merge into one)
        build_plan(tx, market.catalog, purchase_share=0.6, n_segments=8, min_occasions=30, min_segment_size=1)


@pytest.mark.realdata
def test_tafeng_slice_end_to_end():
    from bundleopt.datasets import DatasetUnavailable, load_tafeng

    try:
        tx, cat = load_tafeng(top_products=15, start="2000-11-01", end="2000-11-30")
    except DatasetUnavailable as exc:
        pytest.skip(f"real data unavailable: {exc}")
    plan = build_plan(tx, cat, purchase_share=0.5, n_segments=2, min_support=0.005, threads=1)
    assert plan.data_summary["products"] <= 15
    assert len(plan.segments) == 2 and np.isfinite(plan.segments["price_coef"]).all()
    comp = plan.comparison.set_index("plan")
    feasible = comp[comp["feasible"]]
    assert (plan.profit >= feasible["profit"] * (1 - 1e-6)).all()
    assert plan.profit > 0


def test_headline_decomposes_the_gain_over_the_status_quo(plan):
    head = plan.headline
    steps = head.steps.set_index("step")
    sq = evaluate(plan.scenario, plan.scenario.status_quo()).profit
    assert math.isclose(head.base_profit, sq, rel_tol=1e-12)
    assert math.isclose(head.profit, plan.profit, rel_tol=1e-9)
    assert math.isclose(steps["part"].sum(), plan.profit - sq, rel_tol=1e-9)
    assert math.isclose(plan.uplift, (plan.profit - sq) / sq) if sq > 0 else math.isnan(plan.uplift)


def test_the_local_search_baseline_says_when_it_stopped_at_its_time_limit():
    """At thousands of offers the greedy baseline takes one move per step for minutes: the
    comparison gives it a time limit and its row says when it stopped there."""
    from bundleopt.optimize import solve
    from bundleopt.optimize.instances import random_instance
    from bundleopt.planning.assessing import _compare

    sc = random_instance(8, 2, 3, n_bundles=2, seed=1)
    sol = solve(sc)
    stopped, _ = _compare(sc, sol, baseline_time_limit=1e-9)
    note = stopped.set_index("plan")["note"]
    assert "stopped at its 1e-09 s limit" in note["greedy_add_drop"]
    assert (note.drop("greedy_add_drop") == "").all()
    done, _ = _compare(sc, sol, baseline_time_limit=600.0)
    assert (done["note"] == "").all()
    assert done.set_index("plan").loc["greedy_add_drop", "profit"] >= stopped.set_index("plan").loc[
        "greedy_add_drop", "profit"] - 1e-9
