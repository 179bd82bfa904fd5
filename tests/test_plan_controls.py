"""Shop-owner controls: price points, maximum price change, products kept on sale, names."""

from __future__ import annotations

import numpy as np
import pytest

from bundleopt.datasets import make_market
from bundleopt.pipeline import build_plan
from bundleopt.plan_parts.controls import (
    check_price_points,
    keep_on_sale_rules,
    limit_price_change,
    offer_names,
    round_to_price_points,
)


def test_price_points_round_every_level_but_the_list_price():
    prices = np.array([[8.0, 9.0, 10.0, 11.0, 12.0], [0.82, 0.91, 1.0, 1.1, 1.2]])
    out = round_to_price_points(prices, [2, 2], ".99")
    np.testing.assert_allclose(out[0], [7.99, 8.99, 10.0, 10.99, 11.99])
    # 0.82, 0.91, 1.1 and 1.2 all round to 0.99: only one level nearest the list price stays
    np.testing.assert_allclose(out[1], [np.nan, 0.99, 1.0, np.nan, np.nan])
    step = round_to_price_points(np.array([[8.04, 9.17, 10.03]]), [2], 0.1)
    np.testing.assert_allclose(step[0], [8.0, 9.2, 10.03])
    assert np.array_equal(round_to_price_points(prices, [2, 2], None), prices)


@pytest.mark.parametrize("bad", ["abc", -0.1, 0, float("nan")])
def test_bad_price_points_are_one_line_errors(bad):
    with pytest.raises(ValueError, match="price_points"):
        check_price_points(bad)


def test_max_price_change_removes_far_levels_of_singles_only():
    prices = np.outer([10.0, 20.0, 30.0], [0.8, 0.9, 1.0, 1.1, 1.2])
    comps = [("a",), ("b",), ("a", "b")]
    out = limit_price_change(prices, [2, 2, 2], comps, 0.1)
    assert np.isnan(out[:2, [0, 4]]).all() and np.isfinite(out[:2, 1:4]).all()
    assert np.isfinite(out[2]).all()  # the bundle follows the bundle rules
    only_a = limit_price_change(prices, [2, 2, 2], comps, {"a": 0.0})
    assert np.isfinite(only_a[0]).sum() == 1 and np.isfinite(only_a[1]).all()
    with pytest.raises(ValueError, match="not in the plan's data"):
        limit_price_change(prices, [2, 2, 2], comps, {"zz": 0.1})
    with pytest.raises(ValueError, match="max_price_change"):
        limit_price_change(prices, [2, 2, 2], comps, -0.2)


def test_keep_on_sale_rules_use_the_must_offer_rule():
    assert keep_on_sale_rules(None, ["a"], {}) == {}
    assert keep_on_sale_rules(["a"], ["a", "b"], {}) == {"must_offer": ("a",)}
    assert keep_on_sale_rules("a", ["a", "b"], {"must_offer": None}) == {"must_offer": ("a",)}
    # products the user already listed stay; each product once
    assert keep_on_sale_rules(["a", "b"], ["a", "b"], {"must_offer": ("b",)}) == {"must_offer": ("b", "a")}
    with pytest.raises(ValueError, match="keep_on_sale names products not in"):
        keep_on_sale_rules(["zz"], ["a"], {})


def test_offer_names_from_the_catalog():
    import pandas as pd

    cat = pd.DataFrame({"product_id": ["a", "b"], "name": ["Apple", None]})
    assert offer_names(cat, [("a",), ("b",), ("a", "b")]) == ["Apple", "b", "Apple + b"]


@pytest.fixture(scope="module")
def market():
    m = make_market(seed=3, n_products=10, n_customers=250, n_pairs=2)
    cat = m.catalog.copy()
    cat["name"] = "Product " + cat["product_id"].astype(str)
    # a product that loses money at list price: the plan would drop it
    loser = str(cat["product_id"].iloc[0])
    cat.loc[cat["product_id"] == cat["product_id"].iloc[0], "unit_cost"] = \
        cat["list_price"].iloc[0] * 0.99
    return m, cat, loser


def test_build_plan_applies_the_controls(market):
    m, cat, loser = market
    free = build_plan(m.transactions, cat, sessions=m.sessions, n_segments=2, min_lift=1.2, threads=1,
                      personalised=False)
    assert max(free.settings["ladder"]) > 1.0  # the default ladder can raise prices
    assert loser not in set(free.table["offer"])  # without the control the loser goes
    plan = build_plan(m.transactions, cat, sessions=m.sessions, n_segments=2, min_lift=1.2, threads=1,
                      personalised=False, keep_on_sale=[loser], max_price_change=0.1, price_points=".99")
    assert loser in set(plan.table["offer"])
    singles = plan.table[~plan.table["is_bundle"]]
    assert (abs(singles["price"] / singles["list_price"] - 1) <= 0.1 + 1e-9).all()
    moved = plan.table[plan.table["price"] != plan.table["list_price"]]
    assert len(moved) and np.allclose((moved["price"] + 0.01) % 1.0, 0.0, atol=1e-9)
    assert (plan.table.loc[~plan.table["is_bundle"], "name"] == "Product " + singles["offer"]).all()
    assert plan.table.loc[plan.table["is_bundle"], "name"].str.contains(" + ", regex=False).all()
    assert plan.settings["price_points"] == ".99" and plan.settings["keep_on_sale"] == [loser]


def test_build_plan_rejects_bad_controls_in_one_line(market):
    m, cat, _ = market
    for kwargs, text in (({"price_points": "x"}, "price_points"), ({"max_price_change": -1}, "max_price_change"),
                         ({"keep_on_sale": ["nope"]}, "keep_on_sale names")):
        with pytest.raises(ValueError, match=text):
            build_plan(m.transactions, cat, sessions=m.sessions, n_segments=2, threads=1, **kwargs)


def test_prices_at_the_top_of_the_ladder_are_flagged():
    from test_plan_headline import _scenario

    from bundleopt.plan_parts.controls import ladder_edge_note

    sc = _scenario()
    levels = np.array([[4, 2, -1, -1], [2, 2, -1, -1]])  # a at 1.2 x list on menu 0
    note = ladder_edge_note(sc, levels)
    assert len(note) == 1 and note[0].startswith("1 of 4 offered prices are at the top")
    assert ladder_edge_note(sc, np.array([[3, 2, -1, -1], [2, 2, -1, -1]])) == []


def test_the_controls_work_from_the_command_line_and_the_report_states_them(market, tmp_path):
    """--price-points, --max-price-change and --keep-on-sale as a shop owner types them: the
    plan keeps them and the report's assumptions box lists them, with the ladder's reach."""
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from bundleopt.cli import app

    m, cat, loser = market
    m.transactions.to_csv(tmp_path / "tx.csv", index=False)
    cat.to_csv(tmp_path / "cat.csv", index=False)
    m.sessions.to_csv(tmp_path / "ses.csv", index=False)
    out = tmp_path / "plan"
    result = CliRunner().invoke(app, [
        "plan", "-t", str(tmp_path / "tx.csv"), "-c", str(tmp_path / "cat.csv"), "--sessions",
        str(tmp_path / "ses.csv"), "--segments", "2", "--uniform", "--min-lift", "1.2", "--draws", "0",
        "--backtest", "none", "--price-points", ".99", "--max-price-change", "0.1", "--keep-on-sale", loser,
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "plan.csv", dtype={"offer": str})
    singles = table[~table["is_bundle"]]
    assert (abs(singles["price"] / singles["list_price"] - 1) <= 0.1 + 1e-9).all()
    moved = table[table["price"] != table["list_price"]]
    assert len(moved) and np.allclose((moved["price"] + 0.01) % 1.0, 0.0, atol=1e-9)
    assert loser in set(table["offer"])
    settings = json.loads((out / "plan.json").read_text())["settings"]
    assert settings["price_points"] == ".99" and settings["max_price_change"] == 0.1
    assert settings["keep_on_sale"] == [loser]
    page = (out / "report.html").read_text()
    box = page[page.index('id="assumptions"'):page.index("</div>", page.index('id="assumptions"'))]
    assert "prices end in .99" in box and "10% of the list price for every product" in box
    assert f"1 product(s) must stay on sale: {loser}" in box
    assert "a price may rise up to 20% above list (the default ladder)" in box
    md = (out / "report.md").read_text()
    assert md.index("## Assumptions") < md.index("## Top changes")  # summary, assumptions, top changes
