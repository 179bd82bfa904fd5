"""make_market: schema, reproducibility, ground truth consistent with the simulated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.data import validate
from bundleopt.datasets import Market, make_market


@pytest.fixture(scope="module")
def market() -> Market:
    return make_market(seed=0)


def test_tables_pass_validation(market):
    v = validate(market.transactions, market.catalog, sessions=market.sessions)
    assert v.report.count() == 0
    assert (market.catalog["unit_cost"] < market.catalog["list_price"]).all()


def test_reproducible_and_seed_dependent():
    a, b, c = (
        make_market(seed=5, n_customers=80),
        make_market(seed=5, n_customers=80),
        make_market(seed=6, n_customers=80),
    )
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    assert not a.transactions.equals(c.transactions)


def test_truth_shapes(market):
    t = market.truth
    assert t.asc.shape == (3, 20)
    assert (t.beta < 0).all()
    assert np.isclose(t.segment_weights.sum(), 1.0)
    assert len(t.planted_pairs) == 3
    flat = [p for pair in t.planted_pairs for p in pair]
    assert len(set(flat)) == 6 and set(flat) <= set(market.catalog["product_id"])


def test_sessions_link_orders_and_purchase_share(market):
    ses, tx = market.sessions, market.transactions
    with_order = ses["order_id"].dropna()
    assert set(with_order) == set(tx["order_id"])
    assert with_order.is_unique
    # calibrated to 60% at list prices; promotions push it slightly up
    assert 0.55 < ses["order_id"].notna().mean() < 0.7


def test_prices_paid_match_the_daily_price_table(market):
    tx = market.transactions.assign(date=market.transactions["timestamp"].dt.normalize())
    merged = tx.merge(market.prices, on=["date", "product_id"], how="left")
    np.testing.assert_allclose(merged["unit_price"], merged["price"])
    lp = market.catalog.set_index("product_id")["list_price"]
    assert (market.prices["price"] <= market.prices["product_id"].map(lp) + 1e-9).all()


def test_segments_differ_in_favourite_category(market):
    tx = market.transactions.merge(market.customers, on="customer_id").merge(
        market.catalog, on="product_id"
    )
    top = tx.groupby("segment")["category"].agg(lambda s: s.value_counts().idxmax())
    assert tuple(top.sort_index()) == market.truth.favourite_category


def test_bad_arguments():
    with pytest.raises(ValueError, match="purchase_share"):
        make_market(purchase_share=1.0)
    with pytest.raises(ValueError, match="pairs"):
        make_market(n_products=4, n_pairs=3)
