"""Validation of catalogs, transactions and sessions: every error, the cleaning report counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames

from bundleopt.data import (
    CleaningReport,
    DataValidationError,
    validate,
    validate_catalog,
    validate_sessions,
    validate_transactions,
)


def catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": ["a", "b", "c"],
            "unit_cost": [1.0, 2.0, 3.0],
            "list_price": [2.0, 3.0, 5.0],
            "category": ["x", "x", "y"],
            "stock": [10, 10, 10],
        }
    )


def transactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [1, 1, 2, 3, 3],
            "customer_id": ["u1", "u1", "u2", "u1", "u1"],
            "timestamp": ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"],
            "product_id": ["a", "b", "c", "a", "c"],
            "quantity": [1, 2, 1, 1, 3],
            "unit_price": [2.0, 3.0, 4.5, 1.8, 5.0],
        }
    )


def test_clean_data_passes_and_is_normalised():
    v = validate(transactions(), catalog())
    assert v.report.count() == 0
    assert v.report.n_rows_out == {"catalog": 3, "transactions": 5}
    assert v.transactions["order_id"].tolist() == ["1", "1", "2", "3", "3"]
    assert pd.api.types.is_datetime64_any_dtype(v.transactions["timestamp"])
    assert v.transactions["quantity"].dtype == float


@pytest.mark.parametrize(
    "col", ["order_id", "customer_id", "timestamp", "product_id", "quantity", "unit_price"]
)
def test_missing_transaction_column_is_fatal(col):
    with pytest.raises(DataValidationError, match=col):
        validate(transactions().drop(columns=col), catalog())


@pytest.mark.parametrize("col", ["product_id", "unit_cost", "list_price"])
def test_missing_catalog_column_is_fatal(col):
    with pytest.raises(DataValidationError, match=col):
        validate_catalog(catalog().drop(columns=col), errors="drop")


def test_missing_column_fatal_even_when_dropping():
    with pytest.raises(ValueError, match="missing required column"):
        validate_transactions(transactions().drop(columns="unit_price"), errors="drop")


@pytest.mark.parametrize(
    ("col", "value", "reason"),
    [
        ("unit_price", 0.0, "nonpositive_price"),
        ("unit_price", -1.0, "nonpositive_price"),
        ("unit_price", "abc", "nonpositive_price"),
        ("quantity", 0, "nonpositive_quantity"),
        ("order_id", None, "missing_id"),
        ("customer_id", np.nan, "missing_id"),
        ("product_id", "", "missing_id"),
        ("timestamp", "not a date", "bad_timestamp"),
        ("timestamp", None, "bad_timestamp"),
        ("product_id", "zzz", "unknown_product"),
    ],
)
def test_row_errors_raise_or_are_dropped_and_reported(col, value, reason):
    tx = transactions().astype({col: object})
    tx.loc[2, col] = value
    with pytest.raises(DataValidationError) as err:
        validate(tx, catalog())
    assert err.value.column == col
    assert col in str(err.value) and "rows [2]" in str(err.value)

    v = validate(tx, catalog(), errors="drop")
    assert v.report.count("transactions", reason) == 1
    assert len(v.transactions) == 4
    assert v.report.rejected["transactions"].index.tolist() == [2]
    assert v.report.rejected["transactions"]["reason"].tolist() == [reason]


def test_duplicated_lines_are_dropped_and_reported_in_both_modes():
    tx = pd.concat([transactions(), transactions().iloc[[0, 3]]], ignore_index=True)
    for errors in ("raise", "drop"):
        v = validate(tx, catalog(), errors=errors)
        assert len(v.transactions) == 5
        assert v.report.count("transactions", "duplicate") == 2
        assert v.report.n_rows_in["transactions"] == 7
        assert "duplicate" in v.report.summary()


@pytest.mark.parametrize(
    ("col", "value", "reason"),
    [
        ("list_price", 0.0, "nonpositive_price"),
        ("list_price", -2.0, "nonpositive_price"),
        ("unit_cost", -1.0, "negative_cost"),
        ("product_id", None, "missing_id"),
    ],
)
def test_catalog_errors(col, value, reason):
    cat = catalog().astype({col: object})
    cat.loc[1, col] = value
    with pytest.raises(DataValidationError, match=col):
        validate_catalog(cat)
    clean, report = validate_catalog(cat, errors="drop")
    assert report.count("catalog", reason) == 1
    assert len(clean) == 2


@pytest.mark.parametrize("value", [-5, "abc", float("inf")])
def test_a_bad_stock_cell_is_an_error_of_that_cell_only(value):
    """Issue 13.2: a negative / non-numeric stock is fatal, or cleared (no limit) and reported;
    the product and its sales stay."""
    cat = catalog().astype({"stock": object})
    cat.loc[1, "stock"] = value
    cat.loc[2, "stock"] = None  # missing = no limit, not an error
    with pytest.raises(DataValidationError, match="stock"):
        validate_catalog(cat)
    v = validate(transactions(), cat, errors="drop")
    assert v.report.count("catalog", "bad_stock") == 1
    assert len(v.catalog) == 3 and len(v.transactions) == 5  # no product or line lost
    assert v.catalog["stock"].isna().tolist() == [False, True, True]
    entry = v.report.entries[0]
    assert entry.action == "cleared" and "'b'" in entry.detail and repr(value) in entry.detail


def test_catalog_conflicting_duplicate_ids_are_fatal_exact_ones_dropped():
    cat = pd.concat([catalog(), catalog().iloc[[0]]], ignore_index=True)
    clean, report = validate_catalog(cat)
    assert len(clean) == 3 and report.count("catalog", "duplicate") == 1
    cat.loc[3, "list_price"] = 9.0
    with pytest.raises(DataValidationError, match="conflicting"):
        validate_catalog(cat, errors="drop")


def test_cost_above_every_price_on_the_ladder():
    cat = catalog()
    cat.loc[2, "unit_cost"] = 6.0  # c: list 5, paid 4.5 and 5.0
    with pytest.raises(DataValidationError, match="unit_cost"):
        validate(transactions(), cat)
    v = validate(transactions(), cat, errors="drop")
    assert v.report.count("catalog", "cost_above_prices") == 1
    assert v.report.count("transactions", "cost_above_prices") == 2
    assert "c" not in set(v.transactions["product_id"])
    # cost above the list price but below a price paid is allowed (a margin exists)
    cat.loc[2, "unit_cost"] = 5.0
    tx = transactions()
    tx.loc[4, "unit_price"] = 5.5
    assert validate(tx, cat).report.count() == 0


def test_everything_rejected_is_fatal():
    tx = transactions().assign(unit_price=-1.0)
    with pytest.raises(DataValidationError, match="no valid rows"):
        validate(tx, catalog(), errors="drop")


def test_not_a_frame_and_bad_errors_argument():
    with pytest.raises(DataValidationError, match="DataFrame"):
        validate_transactions([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="errors"):
        validate_catalog(catalog(), errors="ignore")  # type: ignore[arg-type]


def test_ids_from_floats_and_ints_agree():
    cat = catalog().assign(product_id=[1, 2, 3])
    tx = transactions().assign(product_id=[1.0, 2.0, 3.0, 1.0, 3.0])
    v = validate(tx, cat)
    assert set(v.transactions["product_id"]) == {"1", "2", "3"}


def test_timezones_parse_and_mixed_formats_are_refused():
    tx = transactions()
    tx["timestamp"] = [
        "2024-01-01T10:00:00+02:00",
        "2024-01-01 08:00",
        "2024-01-02",
        "2024-01-03",
        "2024-01-03",
    ]
    v = validate(tx, catalog())
    assert v.transactions["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 08:00")
    assert v.transactions["timestamp"].iloc[1] == pd.Timestamp("2024-01-01 08:00")
    tx.loc[2, "timestamp"] = "02/01/2024"  # day/month first among ISO dates: refused (issue 13.3)
    with pytest.raises(DataValidationError, match="mix year-first"):
        validate(tx, catalog(), errors="drop")


def test_sessions():
    ses = pd.DataFrame(
        {
            "session_id": ["s1", "s2", "s3", "s3"],
            "customer_id": ["u1", "u2", "u1", "u1"],
            "timestamp": ["2024-01-01", "2024-01-02", "bad", "bad"],
            "order_id": [1, None, None, None],
        }
    )
    with pytest.raises(DataValidationError, match="timestamp"):
        validate_sessions(ses)
    clean, report = validate_sessions(ses, errors="drop")
    assert clean["order_id"].tolist()[0] == "1" and pd.isna(clean["order_id"].iloc[1])
    assert report.count("sessions", "bad_timestamp") == 2


def test_report_merge_and_frame():
    a, b = CleaningReport(), CleaningReport()
    a.add("t", "r1", "c", pd.DataFrame({"x": [1, 2]}))
    b.add("t", "r2", "c", pd.DataFrame({"x": [3]}))
    m = a.merge(b)
    assert m.count() == 3 and m.count(reason="r2") == 1
    assert m.to_frame()["n_rows"].tolist() == [2, 1]
    assert len(m.rejected["t"]) == 3


cells = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
    st.datetimes(),
)
names = ["order_id", "customer_id", "timestamp", "product_id", "quantity", "unit_price"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tx=data_frames([column(n, elements=cells, dtype=object) for n in names]),
    drop_col=st.sampled_from([None, *names]),
    errors=st.sampled_from(["raise", "drop"]),
)
def test_validation_only_ever_raises_value_errors(tx, drop_col, errors):
    if drop_col is not None:
        tx = tx.drop(columns=drop_col)
    try:
        clean = validate(tx, catalog(), errors=errors).transactions
    except ValueError:
        return
    assert len(clean) > 0
    assert (clean["unit_price"] > 0).all() and (clean["quantity"] > 0).all()
    assert clean["product_id"].isin(["a", "b", "c"]).all()
    assert not clean.duplicated().any()


def test_no_rows_left_says_why():
    import pytest

    from bundleopt.data.validation import DataValidationError
    from bundleopt.datasets.market import make_market

    m = make_market(seed=1, n_products=6, n_customers=60)
    tx = m.transactions.assign(unit_price=m.transactions["unit_price"] * 1000)
    with pytest.raises(DataValidationError, match=r"no valid rows left.*list_price_outlier.*median price paid"):
        validate(tx, m.catalog, errors="drop")
