"""The model checked against what happened: time-split backtest and the margin gap."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bundleopt.choice.grouped import MenuChoices
from bundleopt.datasets import make_market
from bundleopt.pipeline import build_plan
from bundleopt.plan_parts.backtest import backtest, margin_gap, predicted_choices


@pytest.fixture(scope="module")
def market():
    return make_market(seed=3, n_products=10, n_customers=250, n_pairs=2)


@pytest.fixture(scope="module")
def plan(market):
    return build_plan(market.transactions, market.catalog, sessions=market.sessions, n_segments=2,
                      min_lift=1.2, threads=1, backtest_split=0.6)


def test_predicted_choices_by_hand():
    # two menus: {none, a, b} at prices a=1, b=2 (3 occasions); {none, a} at a=2 (1 occasion)
    mc = MenuChoices(X=np.array([[[0.0], [1.0], [2.0]], [[0.0], [2.0], [0.0]]]),
                     avail=np.array([[True, True, True], [True, True, False]]),
                     menu=np.array([0, 0, 1]), choice=np.array([1, 0, 0]),
                     x_chosen=np.array([[1.0], [0.0], [0.0]]), count=np.array([1.0, 2.0, 1.0]),
                     alt_ids=pd.Index(["__none__", "a", "b"]), features=("price",))
    model = SimpleNamespace(params_=pd.Series({"ASC_a": 1.0, "ASC_b": 0.5, "price": -0.5}),
                            alternatives_=pd.Index(["__none__", "a", "b"]))
    va, vb, va2 = math.exp(0.5), math.exp(-0.5), math.exp(0.0)
    expected = [3 / (1 + va + vb) + 1 / (1 + va2), 3 * va / (1 + va + vb) + va2 / (1 + va2),
                3 * vb / (1 + va + vb)]
    np.testing.assert_allclose(predicted_choices(model, mc), expected)
    # an alternative the model never saw is not predicted (NaN), not silently 0
    model.alternatives_ = pd.Index(["__none__", "a"])
    assert np.isnan(predicted_choices(model, mc)[2])


def test_backtest_predicts_the_later_window(plan, market):
    bt = plan.backtest
    s = bt.summary
    assert s["split_day"] > plan.data_summary["first_day"] and s["test_window"].split(" (")[0].endswith(plan.data_summary["last_day"])
    # the synthetic market is an MNL: the earlier window's model predicts the later one
    assert abs(s["predicted_purchases"] / s["observed_purchases"] - 1) < 0.1
    assert s["correlation"] > 0.95 and s["wape"] < 0.2
    sums = bt.by_offer.groupby("segment")[["predicted", "observed"]].sum()
    np.testing.assert_allclose(bt.by_segment.set_index("segment")[["predicted", "observed"]], sums)
    assert len(bt.calibration) and (bt.calibration["n_offers"] > 0).all()
    # observed counts are the later window's purchase occasions: they depend on the split
    other = backtest(market.transactions, market.catalog, segments=plan.assignments, split=0.3,
                     sessions=market.sessions, bundles=plan.candidates, offers=list(plan.scenario.products))
    assert other.summary["observed_purchases"] > s["observed_purchases"]


def test_margin_gap_steps_add_up(plan, market):
    gap = plan.margin_gap.set_index("step")
    assert math.isclose(gap.at["observed", "margin"], plan.data_summary["observed_gross_margin"], rel_tol=1e-9)
    sq = plan.comparison.set_index("plan").at["status_quo", "profit"]
    assert math.isclose(gap.at["modelled status quo", "margin"], sq, rel_tol=1e-12)
    assert math.isclose(gap["change"].sum(), sq - gap.at["observed", "margin"], rel_tol=1e-9, abs_tol=1e-9)
    # quantities: with every quantity 1 the first step changes nothing
    tx = market.transactions.assign(quantity=1)
    one = margin_gap(tx, market.catalog, 0.0).set_index("step")
    assert math.isclose(one.at["one unit per purchase", "change"], 0.0, abs_tol=1e-9)


@pytest.mark.parametrize("split", [1.5, "not a date", "1990-01-01"])
def test_bad_split_is_a_one_line_error(plan, market, split):
    with pytest.raises(ValueError, match="split"):
        backtest(market.transactions, market.catalog, segments=plan.assignments, split=split,
                 sessions=market.sessions)


def test_the_report_shows_the_checks_and_matches_the_json(plan, tmp_path):
    import json

    from bundleopt.report import write_report

    out = write_report(plan, tmp_path / "rep")
    doc = json.loads((out / "plan.json").read_text())
    assert doc["backtest"]["summary"]["observed_purchases"] == plan.backtest.summary["observed_purchases"]
    assert [r["step"] for r in doc["margin_gap"]] == list(plan.margin_gap["step"])
    assert (out / "calibration.png").read_bytes().startswith(b"\x89PNG")
    assert len(pd.read_csv(out / "backtest.csv")) == len(plan.backtest.by_offer)
    html = (out / "report.html").read_text()
    assert "The model checked against what happened" in html and 'src="calibration.png"' in html
    assert "Modelled vs observed margin" in html and "quantities ignored" in html
