"""Loading CSV and Parquet files."""

from __future__ import annotations

import pandas as pd
import pytest

from bundleopt.data import load_catalog, load_transactions, read_table, validate
from bundleopt.datasets import make_market


@pytest.fixture(scope="module")
def market():
    return make_market(seed=3, n_customers=60, n_days=10)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_round_trip(tmp_path, market, suffix):
    tx_path, cat_path = tmp_path / f"tx{suffix}", tmp_path / f"cat{suffix}"
    for frame, path in ((market.transactions, tx_path), (market.catalog, cat_path)):
        if suffix == ".parquet":
            frame.to_parquet(path)
        else:
            frame.to_csv(path, index=False)
    v = validate(load_transactions(tx_path), load_catalog(cat_path))
    unsold = set(market.catalog["product_id"]) - set(market.transactions["product_id"])
    assert v.report.count("catalog", "never_sold") == len(unsold)  # noted, not dropped
    assert v.report.count() == len(unsold)
    assert len(v.transactions) == len(market.transactions)
    pd.testing.assert_series_equal(v.catalog["list_price"], market.catalog["list_price"])


def test_ids_keep_leading_zeros_and_renames(tmp_path):
    path = tmp_path / "cat.csv"
    path.write_text("sku,cost,price\n007,1,2\n8,1,3\n")
    cat = load_catalog(
        path, columns={"sku": "product_id", "cost": "unit_cost", "price": "list_price"}
    )
    assert cat["product_id"].tolist() == ["007", "8"]


def test_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(ValueError, match="unknown file type"):
        read_table(tmp_path / "x.xlsx")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="cannot be read"):
        read_table(tmp_path / "empty.csv")
