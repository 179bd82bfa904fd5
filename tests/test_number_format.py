"""Reading a shop's export as it was meant: separators, decimal marks, currency, encodings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundleopt.data import load_catalog, load_transactions, validate
from bundleopt.data.number_format import (
    AmbiguousNumberFormat,
    detect_separator,
    parse_number_column,
)
from bundleopt.data.validation import DataValidationError
from bundleopt.datasets.market import make_market


@pytest.fixture(scope="module")
def shop():
    m = make_market(seed=3, n_products=6, n_customers=120)
    return m.transactions, m.catalog


def _same_numbers(a: pd.DataFrame, b: pd.DataFrame, cols) -> None:
    for c in cols:
        np.testing.assert_allclose(a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float), rtol=1e-12)


def test_a_european_excel_export_reads_as_the_original(shop, tmp_path):
    tx, cat = shop
    tx.to_csv(tmp_path / "tx.csv", index=False, sep=";", decimal=",", encoding="cp1252")
    cat.assign(category=cat["category"] + "é").to_csv(tmp_path / "cat.csv", index=False, sep=";",
                                                       decimal=",", encoding="cp1252")
    rt = load_transactions(tmp_path / "tx.csv")
    rc = load_catalog(tmp_path / "cat.csv")
    assert list(rt.columns) == list(tx.columns)
    _same_numbers(rt, tx, ["quantity", "unit_price"])
    _same_numbers(rc, cat, ["unit_cost", "list_price"])
    assert rc["category"].str.endswith("é").all()
    notes = " | ".join(rt.attrs["read_notes"] + rc.attrs["read_notes"])
    assert "separated by ';'" in notes and "decimal mark" in notes and "Windows-1252" in notes
    assert len(validate(rt, rc).transactions) == len(tx)  # nothing dropped


def test_a_plain_file_reads_without_notes(shop, tmp_path):
    tx, _ = shop
    tx.to_csv(tmp_path / "tx.csv", index=False)
    assert load_transactions(tmp_path / "tx.csv").attrs["read_notes"] == []


@pytest.mark.parametrize("fmt", ["€{:,.2f}", "{:,.2f} EUR", "$ {:,.2f}", "CHF {:,.2f}"])
def test_currency_signs_and_thousands_separators(shop, tmp_path, fmt):
    tx, _ = shop
    big = tx.assign(unit_price=tx["unit_price"] * 1000)
    big.assign(unit_price=big["unit_price"].map(fmt.format)).to_csv(tmp_path / "tx.csv", index=False)
    rt = load_transactions(tmp_path / "tx.csv")
    _same_numbers(rt, big, ["unit_price"])
    assert "thousands separators removed" in " ".join(rt.attrs["read_notes"])


def test_an_uncertain_decimal_mark_is_refused_and_decimal_settles_it(tmp_path):
    pd.DataFrame({"product_id": ["a", "b"], "unit_cost": ["1,250", "2,500"],
                  "list_price": ["3,000", "4,125"]}).to_csv(tmp_path / "cat.csv", index=False, sep=";")
    with pytest.raises(DataValidationError, match=r"cannot tell the decimal mark.*decimal="):
        load_catalog(tmp_path / "cat.csv")
    assert load_catalog(tmp_path / "cat.csv", decimal=",")["unit_cost"].tolist() == [1.25, 2.5]
    assert load_catalog(tmp_path / "cat.csv", decimal=".")["unit_cost"].tolist() == [1250.0, 2500.0]


def test_both_decimal_marks_in_one_column_are_refused():
    with pytest.raises(AmbiguousNumberFormat, match="with '.' and with ','"):
        parse_number_column(pd.Series(["7,35", "7.35"], name="unit_price"))


def test_cells_that_are_not_numbers_are_left_for_validation_to_report(shop, tmp_path):
    tx, cat = shop
    bad = tx.assign(unit_price=tx["unit_price"].map("€{:.2f}".format).astype(object))
    bad.loc[3, "unit_price"] = "ask the shop"
    bad.to_csv(tmp_path / "tx.csv", index=False)
    rt = load_transactions(tmp_path / "tx.csv")
    assert rt.loc[3, "unit_price"] == "ask the shop"
    with pytest.raises(DataValidationError, match="unit_price"):
        validate(rt, cat, errors="raise")
    clean = validate(rt, cat, errors="drop")
    assert len(clean.transactions) == len(tx) - 1 and clean.report.count("transactions") >= 1


def test_signs_before_and_after():
    got, _ = parse_number_column(pd.Series(["-€5.00", "€5.00-", "+3", "4,5-"], name="x"), decimal=".")
    assert got.tolist() == [-5.0, -5.0, 3.0, -45.0]  # with decimal=".", "," separates thousands


def test_separator_is_read_from_the_header():
    known = ["product_id", "unit_cost", "list_price"]
    assert detect_separator("product_id;unit_cost;list_price", known) == ";"
    assert detect_separator("\ufeffproduct_id\tunit_cost", known) == "\t"
    assert detect_separator('"product_id"|"unit_cost"', known) == "|"
    assert detect_separator("a;b;c", known) == ","  # nothing known: the file's own error names it


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1e7, allow_nan=False), min_size=1, max_size=20),
       st.sampled_from(["us", "eu", "swiss", "plain_eu"]))
def test_formatted_numbers_read_back(values, style):
    """Any column written in one locale's style reads back to its values (to the cents shown)."""
    def fmt(x: float) -> str:
        us = f"{x:,.2f}"
        return {"us": us, "eu": us.replace(",", "_").replace(".", ",").replace("_", "."),
                "swiss": us.replace(",", "'"), "plain_eu": f"{x:.2f}".replace(".", ",")}[style]
    text = pd.Series([fmt(x) for x in values], name="unit_price")
    got, _ = parse_number_column(text)
    np.testing.assert_allclose(got.to_numpy(dtype=float), np.round(values, 2), rtol=1e-12)
