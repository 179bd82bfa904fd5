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
