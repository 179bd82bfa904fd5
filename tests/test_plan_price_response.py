"""A plan is never priced on a price response the data did not pin down: an unidentified
price coefficient, one that diverges, or a model that extrapolates past double precision
stops with what to change (found by feeding the planner a shop's careless exports)."""

from __future__ import annotations

import pytest

from bundleopt.datasets import make_market
from bundleopt.pipeline import build_plan
from bundleopt.planning.fitting import PriceResponseUnknown

FAST = {"purchase_share": 0.05, "backtest_split": None, "n_draws": None}


@pytest.fixture(scope="module")
def market():
    return make_market(seed=0, n_customers=300)


def test_prices_that_never_vary_stop_instead_of_a_plan_at_the_top_of_the_ladder(market):
    """Every line at its product's list price: the price coefficient is not identified (kept
    at 0, and rounding left it at -2e-17 < 0, so the rising-demand check passed). Before,
    the plan was written with every price at the top of its ladder; now every segment is
    merged and the last one stops, saying what data would help."""
    tx = market.transactions.copy()
    tx["unit_price"] = tx["product_id"].map(market.catalog.set_index("product_id")["list_price"])
    with pytest.raises(PriceResponseUnknown, match="do not identify the price coefficient") as err:
        build_plan(tx, market.catalog, **FAST)
    assert "prices changed" in str(err.value) and "\n" not in str(err.value)
    assert "currency unit" not in str(err.value)  # prices in an ordinary unit: no hint about it


def test_prices_in_an_absurd_unit_are_named(market):
    """Prices times 1e300: the coefficient is not identified either (variances overflow), and
    the error names the unit as the likely cause (before: 'fitted price coefficient 0 >= 0,
    demand rising with price')."""
    tx = market.transactions.assign(unit_price=market.transactions["unit_price"] * 1e300)
    cat = market.catalog.assign(list_price=market.catalog["list_price"] * 1e300,
                                unit_cost=market.catalog["unit_cost"] * 1e300)
    with pytest.raises(PriceResponseUnknown, match="give them in a currency unit"):
        build_plan(tx, cat, **FAST)


def test_one_day_of_data_that_extrapolates_says_so(market):
    """All orders on one day: the price coefficient comes only from the spread of prices paid
    within the day (-17 per unit, constants near 460), and the weights at the ladder's
    prices pass double precision. The error keeps the scenario's reason and adds the fitted
    model's numbers and the number of days (before: 'a price coefficient's unit or sign?')."""
    tx = market.transactions.assign(timestamp="2024-01-01")
    with pytest.raises(ValueError, match=r"extrapolates: price coefficient .* fitted on 1 day\(s\) of data") as err:
        build_plan(tx, market.catalog, **FAST)
    assert "Give more days of data" in str(err.value)
