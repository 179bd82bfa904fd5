"""The honest headline: parts that add up, loss-makers, and 'n/a' on a bad base."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bundleopt.optimize import evaluate, solve
from bundleopt.plan_parts.headline import decompose_gain, loss_makers, percent_base
from bundleopt.scenario import Constraints, Scenario


def _scenario(costs=(4.0, 3.0, 12.0), personalised=True) -> Scenario:
    """Two segments, products a, b, c (c costs more than its list price 10), bundle ab."""
    ladder = np.array([0.8, 0.9, 1.0, 1.1, 1.2])
    list_p = np.array([10.0, 6.0, 10.0, 16.0])
    prices = np.outer(list_p, ladder)
    asc = np.array([[2.0, 1.5, 1.0, 3.2], [1.0, 2.0, 2.5, 2.8]])
    beta = np.array([-0.4, -0.25])
    v = np.exp(asc[:, :, None] + beta[:, None, None] * prices[None])
    cost = np.array([*costs, costs[0] + costs[1]])
    return Scenario.from_arrays(
        v, np.ones(2), prices, cost, np.array([0.6, 0.4]), personalised=personalised,
        offer_ids=["a", "b", "c", "ab"], components=[("a",), ("b",), ("c",), ("a", "b")],
        constraints=Constraints(max_bundles=1, min_bundle_discount=0.0), market_size=1000.0,
        list_level=np.full(4, 2))


@pytest.mark.parametrize("personalised", [True, False])
def test_parts_add_up_to_the_total_gain_and_each_step_is_exact(personalised):
    sc = _scenario(personalised=personalised)
    sol = solve(sc)
    head = decompose_gain(sc, sol.decision)
    steps = head.steps.set_index("step")
    assert list(steps.index) == ["status_quo", "stop_loss_makers", "price_changes", "bundles",
                                 "personalisation"]
    assert math.isclose(steps["part"].sum(), head.gain, rel_tol=1e-12)
    assert math.isclose(head.gain, sol.profit - evaluate(sc, sc.status_quo()).profit, rel_tol=1e-9)
    for name, decision in head.decisions.items():  # every figure is an exact re-evaluation
        assert math.isclose(steps.at[name, "profit"], evaluate(sc, decision).profit, rel_tol=1e-12)
    assert head.loss_makers == ("c",)
    assert steps.at["stop_loss_makers", "part"] > 0  # dropping c (sold below cost) helps
    assert (steps["part"].iloc[1:] >= -1e-9).all()  # each step optimises over a superset
    assert steps.at["bundles", "part"] > 0  # the bundle ab pays in this market
    if not personalised:
        assert steps.at["personalisation", "part"] == 0.0
    assert math.isfinite(head.uplift) and head.uplift_note == ""
    assert math.isclose(head.uplift, head.gain / head.base_profit)
    np.testing.assert_allclose(steps["part_pct"].iloc[1:], steps["part"].iloc[1:] / head.base_profit)


def test_negative_base_gives_no_percentage_but_says_why():
    sc = _scenario(costs=(4.0, 3.0, 60.0))  # c loses 50 a sale: the status quo loses money
    head = decompose_gain(sc, solve(sc).decision)
    assert head.base_profit < 0 < head.profit
    assert math.isnan(head.uplift) and head.steps["part_pct"].isna().all()
    assert "negative" in head.uplift_note and head.uplift_text().startswith("n/a (")
    assert math.isclose(head.steps["part"].sum(), head.gain, rel_tol=1e-12)


def test_percent_base_rules():
    assert percent_base(100.0, 1000.0) == ""
    assert "negative" in percent_base(-1.0, 1000.0)
    assert "near zero" in percent_base(0.5, 1000.0)  # a 0.05 % margin
    assert "near zero" in percent_base(0.0, 0.0)


def test_loss_makers_are_singles_whose_list_price_does_not_cover_cost():
    sc = _scenario(costs=(10.0, 3.0, 12.0))  # a at cost: no margin either
    assert [sc.offer_ids[o] for o in loss_makers(sc)] == ["a", "c"]


def test_a_weak_re_solve_does_not_move_the_gain_to_personalisation():
    """A restricted re-solve stopped by its time limit (here: one that returns the status
    quo) must not leave the price and bundle parts at 0: each of the plan's menus offered
    to all is a candidate, scored exactly on the restricted problem."""
    from dataclasses import replace

    from bundleopt.optimize.evaluation import evaluate_many
    from bundleopt.solution import Solution

    sc = _scenario(personalised=True)
    sol = solve(sc)

    def timed_out(sub):
        weak = sub.status_quo()
        return replace(sol, decision=weak, status="time_limit")

    assert isinstance(sol, Solution)
    head = decompose_gain(sc, sol.decision, solve=timed_out)
    steps = head.steps.set_index("step")
    uniform = replace(sc, personalised=False)
    menus = np.asarray(sol.decision.levels)[:, None, :]
    best_menu = evaluate_many(uniform, menus)
    assert steps.at["bundles", "profit"] >= np.max(np.where(best_menu.feasible, best_menu.profit, -np.inf)) - 1e-9
    assert steps.at["price_changes", "part"] + steps.at["bundles", "part"] > 0
    assert math.isclose(steps["part"].sum(), head.gain, rel_tol=1e-12)
    assert "plan offered to all" in " ".join(steps["note"])
