"""Hostile shop files, session 8: headers spelt the Excel way, ids written differently in the
two files, files that are not tables, dates no shop recorded, empty plans and tiny shops.
Each class ends in a clear one-line error or a counted, reported correction (tests/BAD_INPUTS.md).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

# the plan settings and one-line check of the first bad-input suite (the tiny shop: conftest)
from test_bad_input import PLAN, _one_line  # noqa: E402

from bundleopt.data import DataValidationError, load_catalog, load_transactions, validate
from bundleopt.datasets import make_market


def test_headers_spelt_the_excel_way_are_the_schema_columns(tmp_path, tiny):
    tx = tiny.transactions.assign(product_id="0" + tiny.transactions["product_id"].str[1:])
    tx.rename(columns={"product_id": "Product ID ", "order_id": "ORDER_ID", "unit_price": "unit-price"}
              ).to_csv(tmp_path / "tx.csv", index=False)
    tiny.catalog.rename(columns=str.upper).to_csv(tmp_path / "cat.csv", index=False)
    got = load_transactions(tmp_path / "tx.csv")
    assert list(got.columns) == list(tiny.transactions.columns)
    assert got["product_id"].iloc[0].startswith("0")  # still read as text: leading zeros kept
    assert "'Product ID ' read as 'product_id'" in " ".join(got.attrs["read_notes"])
    assert list(load_catalog(tmp_path / "cat.csv").columns) == list(tiny.catalog.columns)
    tiny.transactions.rename(columns={"order_id": "Product_ID", "product_id": "product id"}).to_csv(
        tmp_path / "two.csv", index=False)
    with pytest.raises(DataValidationError, match="both read as 'product_id'") as err:
        load_transactions(tmp_path / "two.csv")
    _one_line(err)


@pytest.mark.parametrize(("tx_id", "cat_id"), [(lambda s: s.str[1:].astype(int), lambda s: s.str[1:]),
                                               (lambda s: s.str[1:].astype(float), lambda s: s.str[1:])])
def test_ids_written_differently_in_the_two_files_are_named_not_matched(tmp_path, tiny, tx_id, cat_id):
    tiny.transactions.assign(product_id=tx_id(tiny.transactions["product_id"])).to_csv(
        tmp_path / "tx.csv", index=False)  # 7 or 7.0 in the transactions, "007" in the catalog
    tiny.catalog.assign(product_id=cat_id(tiny.catalog["product_id"])).to_csv(tmp_path / "cat.csv", index=False)
    tx, cat = load_transactions(tmp_path / "tx.csv"), load_catalog(tmp_path / "cat.csv")
    with pytest.raises(DataValidationError, match=r"catalog ids written another way .*'1(\.0)?' vs '001'") as err:
        validate(tx, cat, errors="raise")
    _one_line(err)
    with pytest.raises(DataValidationError, match="write the ids the same way in both files"):
        validate(tx, cat, errors="drop")  # every line unknown: the reason is in the error
    some = tiny.catalog.iloc[:3]  # really missing products: examples named, lines counted
    v = validate(tiny.transactions, some, errors="drop")
    entry = next(e for e in v.report.entries if e.reason == "unknown_product")
    assert entry.n_rows == int((~tiny.transactions["product_id"].isin(some["product_id"])).sum())
    assert "not in the catalog, e.g." in entry.detail


def test_files_that_are_not_tables_are_named_for_what_they_are(tmp_path, tiny):
    import zipfile

    with zipfile.ZipFile(tmp_path / "book.csv", "w") as z:  # an .xlsx renamed .csv
        z.writestr("xl/workbook.xml", "<workbook/>")
    (tmp_path / "logo.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "blob.txt").write_bytes(b"order_id\x00\x01\x02" * 50)
    (tmp_path / "book.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "folder.csv").mkdir()
    for name, match in [("book.csv", "not a CSV file: it is a zip file .*save it as CSV"),
                        ("logo.csv", "not a CSV file: it is a PNG image"),
                        ("blob.txt", "not a CSV file: it holds binary data"),
                        ("book.xlsx", r"unknown file type \(an Excel workbook: save it as CSV"),
                        ("folder.csv", "is a folder, not a file")]:
        with pytest.raises(ValueError, match=match) as err:
            load_transactions(tmp_path / name)
        _one_line(err)
    tiny.transactions.to_csv(tmp_path / "u16.txt", index=False, sep="\t", encoding="utf-16")
    got = load_transactions(tmp_path / "u16.txt")  # Excel's "Unicode Text": read, and said
    assert got.shape == tiny.transactions.shape and "UTF-16" in " ".join(got.attrs["read_notes"])


def test_a_plan_that_offers_nothing_writes_its_report(tmp_path, tiny):
    from bundleopt.pipeline import build_plan
    from bundleopt.report import write_report

    plan = build_plan(tiny.transactions, tiny.catalog.assign(stock=0), **PLAN)  # nothing to sell
    assert len(plan.table) == 0
    folder = write_report(plan, tmp_path / "plan")
    assert "## Plan" in (folder / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("when", ["1900-01-01", "2099-06-30", "1970-01-01 00:00:01"])
def test_dates_no_shop_recorded_are_rejected_and_counted(tiny, when):
    tx = tiny.transactions.copy()
    tx.loc[tx.index[:4], "timestamp"] = pd.Timestamp(when)  # Excel's day 0, a mistyped year
    with pytest.raises(DataValidationError, match="date outside 1990-01-01 to .* mistyped year") as err:
        validate(tx, tiny.catalog, errors="raise")
    _one_line(err)
    v = validate(tx, tiny.catalog, errors="drop")
    assert v.report.count("transactions", "implausible_timestamp") == 4
    assert v.transactions["timestamp"].min() >= tiny.transactions["timestamp"].min()
    assert when[:4] in next(e.detail for e in v.report.entries if e.reason == "implausible_timestamp")
    wide = validate(tx, tiny.catalog, errors="raise", date_range=("1900-01-01", "2100-01-01"))
    assert len(wide.transactions) == len(tiny.transactions)  # the caller may widen the range


def test_a_shop_with_fewer_baskets_than_the_mining_floor_gets_no_candidates(tiny):
    from bundleopt.planning.bundles import mine_candidates
    from bundleopt.planning.config import PlanConfig

    orders = tiny.transactions["order_id"].drop_duplicates().head(8)  # 8 baskets < 20 (min_pair_count)
    tx = tiny.transactions[tiny.transactions["order_id"].isin(orders)]
    cands = mine_candidates(tx, tiny.catalog, PlanConfig(purchase_share=0.5))
    assert len(cands) == 0 and cands.attrs["mining"]["n_baskets"] == 8
    assert "at least 20 of 8 baskets" in cands.attrs["mining"]["text"]


@pytest.mark.parametrize(("fmt", "match"), [("%Q", "'%Q' is not a strptime format"),
                                            ("xx", "'xx' reads none of the dates, e.g. '2024-"),
                                            ("%d/%m/%Y", "'%d/%m/%Y' reads none of the dates"),
                                            ("s", "'s' reads none of the dates")])
def test_a_date_format_that_reads_nothing_is_named(tmp_path, tiny, fmt, match):
    tiny.transactions.to_csv(tmp_path / "tx.csv", index=False)  # ISO dates
    with pytest.raises(ValueError, match=match) as err:
        load_transactions(tmp_path / "tx.csv", date_format=fmt)
    _one_line(err)


def test_dates_past_2262_warn_nothing_and_are_counted(tiny, recwarn):
    tx = tiny.transactions.assign(timestamp=tiny.transactions["timestamp"].astype(str))
    tx.loc[tx.index[:2], "timestamp"] = "3024-01-01 10:00:00"  # past datetime64[ns]
    v = validate(tx, tiny.catalog, errors="drop")
    assert v.report.count("transactions", "bad_timestamp") == 2
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)], [str(w.message) for w in recwarn]


def test_quantities_whose_totals_overflow_are_named(tiny):
    tx = tiny.transactions.copy()
    tx.loc[3, "quantity"] = 1e308  # times a price of ~5: past the largest double
    with pytest.raises(DataValidationError, match=r"quantity times unit price past the largest number .*rows \[3\]") as err:
        validate(tx, tiny.catalog, errors="raise")
    _one_line(err)
    v = validate(tx, tiny.catalog, errors="drop")
    assert v.report.count("transactions", "non_finite") == 1 and len(v.transactions) == len(tx) - 1
    tx = tiny.transactions.copy()
    tx.loc[[3, 4], "quantity"] = 1e308 / tx.loc[[3, 4], "unit_price"] * 0.9  # each fine, their sum not
    with pytest.raises(DataValidationError, match="adds up past the largest number .* row [34]") as err:
        validate(tx, tiny.catalog, errors="drop")
    _one_line(err)


@pytest.mark.parametrize("table", ["transactions", "catalog"])
def test_a_header_only_file_says_it_has_no_rows(tmp_path, tiny, table):
    frame = tiny.transactions if table == "transactions" else tiny.catalog
    frame.head(0).to_csv(tmp_path / "empty.csv", index=False)
    load = load_transactions if table == "transactions" else load_catalog
    tx = load(tmp_path / "empty.csv") if table == "transactions" else tiny.transactions
    cat = load(tmp_path / "empty.csv") if table == "catalog" else tiny.catalog
    with pytest.raises(DataValidationError, match=f"^{table}: the table has no rows") as err:
        validate(tx, cat, errors="drop")
    _one_line(err)


@pytest.mark.parametrize(("written", "shown"), [(str.lower, r"'p00(\d)' vs 'P00\1'"),
                                                (lambda s: s + "\u200b", r"'P00(\d)\\u200b' vs 'P00\1'"),
                                                (lambda s: s + "e\u0301", r"'P00(\d)e\\u0301' vs 'P00\1\\xe9'")])
def test_ids_differing_in_case_or_invisible_characters_are_named(tiny, written, shown):
    accent = "xe9" in shown  # the catalog's ids end in a composed é, the lines' in e + a combining accent
    cat = tiny.catalog.assign(product_id=tiny.catalog["product_id"] + ("\u00e9" if accent else ""))
    tx = tiny.transactions.assign(product_id=tiny.transactions["product_id"].map(written))
    with pytest.raises(DataValidationError, match="written another way") as err:
        validate(tx, cat, errors="raise")
    assert re.search(shown, _one_line(err)), str(err.value)


def test_true_false_and_complex_numbers_are_not_quantities_or_prices(tiny):
    tx = tiny.transactions.astype({"quantity": object, "unit_price": complex})
    tx.loc[[0, 1], "quantity"] = [True, False]
    tx.loc[2, "unit_price"] = 3 + 4j
    with pytest.raises(DataValidationError, match=r"'unit_price' .* rows \[2\] \(values \(3\+4j\)\)") as err:
        validate(tx, tiny.catalog, errors="raise")
    with pytest.raises(DataValidationError, match=r"'quantity' .* rows \[0, 1\] \(values True, False\)"):
        validate(tx.drop(index=2), tiny.catalog, errors="raise")
    _one_line(err)
    v = validate(tx, tiny.catalog, errors="drop")
    assert v.report.count("transactions", "nonpositive_quantity") == 2  # not read as 1 and 0
    assert v.report.count("transactions", "nonpositive_price") == 1  # 3+4j not cut to 3
    assert len(v.transactions) == len(tx) - 3


def test_periods_are_dates_and_durations_are_refused(tiny):
    from bundleopt.data.dates import DateFormatError, parse_dates

    days = tiny.transactions["timestamp"].dt.to_period("D")
    assert (parse_dates(days) == tiny.transactions["timestamp"].dt.normalize()).all()
    with pytest.raises(DateFormatError, match="durations") as err:
        parse_dates(tiny.transactions["timestamp"] - tiny.transactions["timestamp"].min())
    _one_line(err)


def test_a_csv_named_parquet_is_named_for_what_it_is(tmp_path, tiny):
    tiny.transactions.to_csv(tmp_path / "tx.parquet", index=False)
    with pytest.raises(ValueError, match=r"tx.parquet: not a Parquet file .* should be named .csv") as err:
        load_transactions(tmp_path / "tx.parquet")
    _one_line(err)


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--purchase-share", "1.5", "--purchase-share must be in (0, 1]"), ("--draws", "1", "--draws must be"),
    ("--seed", "-1", "--seed must be"), ("--segments", "0", "--segments must be"),
    ("--backtest", "1.5", "--backtest must be"), ("--min-support", "2", "--min-support must be")])
def test_a_bad_option_value_is_named_as_the_option(tmp_path, option, value, said):
    from typer.testing import CliRunner

    from bundleopt.cli import app

    args = ["plan", "-t", str(tmp_path / "tx.csv"), "-c", str(tmp_path / "cat.csv"), "-o", str(tmp_path / "out"),
            *(["--purchase-share", "0.3"] if option != "--purchase-share" else []), option, value]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1 and "Traceback" not in res.output
    line = res.output.strip()
    assert line.startswith("error: ") and "\n" not in line and said in line, res.output


def test_sessions_that_cannot_show_a_no_purchase_are_refused(tiny):
    from bundleopt.pipeline import build_plan

    assert tiny.sessions["order_id"].isna().any()
    with pytest.raises(ValueError, match="not both") as err:  # before: purchase_share ignored in silence
        build_plan(tiny.transactions, tiny.catalog, sessions=tiny.sessions, **PLAN)
    _one_line(err)
    every = tiny.sessions[tiny.sessions["order_id"].notna()]  # only the visits that bought
    with pytest.raises(ValueError, match="every one of the .* visits has an order") as err:
        build_plan(tiny.transactions, tiny.catalog, sessions=every, **{**PLAN, "purchase_share": None})
    _one_line(err)


def test_order_ids_reused_across_customers_or_days_are_not_merged(tiny):
    tx = tiny.transactions.copy()
    first, other = tx["order_id"].iloc[0], tx.loc[tx["customer_id"] != tx["customer_id"].iloc[0], "order_id"].iloc[0]
    tx.loc[tx["order_id"].eq(other), "order_id"] = first  # two customers' baskets under one id
    n = int(tx["order_id"].eq(first).sum())
    with pytest.raises(DataValidationError, match=f"order id reused .*order {first!r}: 2 customer") as err:
        validate(tx, tiny.catalog, errors="raise")
    _one_line(err)
    v = validate(tx, tiny.catalog, errors="drop")
    assert v.report.count("transactions", "reused_order_id") == n and first not in set(v.transactions["order_id"])
    daily = tiny.transactions.assign(order_id=tiny.transactions.groupby(
        tiny.transactions["timestamp"].dt.date)["order_id"].transform(lambda s: s.factorize()[0]).astype(str))
    with pytest.raises(DataValidationError, match=r"lines have .* ids that restart \(each day, per till\?\)") as err:
        validate(daily, tiny.catalog, errors="drop")  # receipt numbers restarting each day
    _one_line(err)


def test_a_utf8_byte_order_mark_read_as_windows_1252_is_not_part_of_the_header(tmp_path, tiny):
    cat = tiny.catalog.assign(category="Café")
    (tmp_path / "cat.csv").write_bytes(b"\xef\xbb\xbf" + cat.to_csv(index=False).encode("cp1252"))
    got = load_catalog(tmp_path / "cat.csv")  # a BOM, then Windows-1252 text
    assert list(got.columns) == list(cat.columns) and got["category"].iloc[0] == "Café"
    assert "read as 'product_id'" in " ".join(got.attrs["read_notes"])
    cat.to_csv(tmp_path / "sig.csv", index=False, encoding="utf-8-sig")
    assert list(load_catalog(tmp_path / "sig.csv", encoding="latin-1").columns) == list(cat.columns)


def test_a_backtest_window_without_a_segments_lines_is_scored_on_the_others(tiny):
    from bundleopt.pipeline import build_plan

    tx = tiny.transactions.copy()
    lone = tx["customer_id"].iloc[0]
    tx.loc[tx["customer_id"].eq(lone), "timestamp"] = pd.Timestamp("1995-01-01")  # a few stray old lines
    plan = build_plan(tx, tiny.catalog, **{**PLAN, "n_segments": 2, "backtest_split": 0.75})
    assert plan.backtest is not None  # before: "cannot reshape array of size 0 into shape (0,newaxis)"


def test_sessions_without_an_order_column_are_noted(tiny):
    v = validate(tiny.transactions, tiny.catalog, sessions=tiny.sessions.drop(columns="order_id"))
    entry = next(e for e in v.report.entries if e.reason == "no_order_column")
    assert entry.action == "noted" and entry.n_rows == len(tiny.sessions) and "overstated" in entry.detail
    assert v.report.count("sessions", "no_order_column") == len(tiny.sessions)
    assert not any(e.reason == "no_order_column" for e in validate(
        tiny.transactions, tiny.catalog, sessions=tiny.sessions).report.entries)


def _write_tiny(tmp_path, tiny):
    tiny.transactions.to_csv(tmp_path / "tx.csv", index=False)
    tiny.catalog.to_csv(tmp_path / "cat.csv", index=False)
    return ["plan", "-t", str(tmp_path / "tx.csv"), "-c", str(tmp_path / "cat.csv"),
            "--purchase-share", "0.5", "-k", "1", "--draws", "0", "-q", "-o", str(tmp_path / "out")]


def test_a_warning_on_the_command_line_is_one_readable_line(tmp_path, tiny, monkeypatch):
    import warnings

    from typer.testing import CliRunner

    import bundleopt.pipeline
    from bundleopt.cli import app

    class IdentificationWarning(UserWarning):
        pass

    def warns_then_stops(*args, **kwargs):
        warnings.warn("segment 0: the price coefficient is [bold]weakly[/] identified\n(see the report)",
                      IdentificationWarning, stacklevel=2)
        raise ValueError("stopped here")

    monkeypatch.setattr(bundleopt.pipeline, "build_plan", warns_then_stops)
    shown_before = warnings.showwarning
    result = CliRunner().invoke(app, _write_tiny(tmp_path, tiny))
    assert result.exit_code == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines == ["warning: segment 0: the price coefficient is [bold]weakly[/] identified (see the report) "
                     "(IdentificationWarning)", "error: stopped here"], lines  # before: path:line + code line
    assert warnings.showwarning is shown_before  # Python's own display is back after the command
    with pytest.warns(IdentificationWarning):  # and the library still warns as Python does
        warnings.warn("x", IdentificationWarning, stacklevel=1)


def test_an_unknown_keep_on_sale_product_names_the_option_and_close_ids(tmp_path, tiny):
    from typer.testing import CliRunner

    from bundleopt.cli import app

    known = str(tiny.catalog["product_id"].iloc[0])
    args = _write_tiny(tmp_path, tiny)
    result = CliRunner().invoke(app, [*args, "--keep-on-sale", f"{known}x,ZZZ"])
    assert result.exit_code == 1
    msg = result.stderr.strip()
    assert "\n" not in msg and msg.startswith("error: --keep-on-sale names 2 product id(s)"), msg
    assert f"did you mean '{known}'" in msg and "keep_on_sale" not in msg  # before: the Python field's name
    assert not (tmp_path / "out").exists()


def test_the_backtest_splits_by_share_of_orders_not_of_days(tiny):
    from bundleopt.plan_parts.backtest import backtest

    tx = tiny.transactions.copy()
    stray = tx["order_id"].drop_duplicates().iloc[:3]
    tx.loc[tx["order_id"].isin(stray), "timestamp"] -= pd.Timedelta(days=365 * 29)  # three orders in 1995
    segments = pd.Series(0, index=tx["customer_id"].unique())
    bt = backtest(tx, tiny.catalog, segments=segments, split=0.75, purchase_share=0.5)
    s = bt.summary
    n = tx["order_id"].nunique()
    assert s["fit_orders"] + s["test_orders"] == n
    assert abs(s["fit_orders"] / n - 0.75) < 0.1, s  # before: the earlier window held the 3 stray orders only
    assert s["split_day"] > "2000" and f"({s['fit_orders']:,} orders)" in s["fit_window"]
    assert s["split_rule"] == "75% of the orders"


def test_a_backtest_window_too_small_to_fit_is_refused_as_the_option(tmp_path, tiny):
    from typer.testing import CliRunner

    from bundleopt.cli import app
    from bundleopt.plan_parts.backtest import backtest

    tx = tiny.transactions.copy()
    stray = tx["order_id"].drop_duplicates().iloc[:5]
    tx.loc[tx["order_id"].isin(stray), "timestamp"] -= pd.Timedelta(days=365 * 29)  # five orders in 1995
    segments = pd.Series(0, index=tx["customer_id"].unique())
    with pytest.raises(ValueError, match=r"leaves 5 order\(s\) in the earlier \(fitting\) window") as err:
        backtest(tx, tiny.catalog, segments=segments, split="2000-01-01", purchase_share=0.5)
    _one_line(err)
    args = _write_tiny(tmp_path, tiny)
    tx.to_csv(tmp_path / "tx.csv", index=False)
    result = CliRunner().invoke(app, [*args, "--backtest", "2000-01-01"])
    assert result.exit_code == 1, result.stderr
    msg = result.stderr.strip()
    assert msg.startswith("error: --backtest '2000-01-01' leaves 5 order(s)") and "\n" not in msg, msg
    assert "backtest_split" not in msg and not (tmp_path / "out").exists()


def test_visits_naming_an_order_that_no_line_has_are_counted(tiny):
    ses = tiny.sessions.copy()
    with_order = ses.index[ses["order_id"].notna()][:4]
    ses.loc[with_order, "order_id"] = ["X1", "X2", "X3", "X3"]
    v = validate(tiny.transactions, tiny.catalog, sessions=ses)
    entry = next(e for e in v.report.entries if e.reason == "unknown_order")  # before: ignored, uncounted
    assert entry.table == "sessions" and entry.action == "noted" and entry.n_rows == 4
    assert "3 order id(s) in no transaction line" in entry.detail and "left out of the choice data" in entry.detail
    assert v.report.count("sessions", "unknown_order") == 4 and len(v.sessions) == len(ses)
    assert not any(e.reason == "unknown_order" for e in validate(
        tiny.transactions, tiny.catalog, sessions=tiny.sessions).report.entries)


def test_absurd_quantities_are_outliers_and_bulk_buyers_are_not(tiny):
    tx = tiny.transactions.copy()
    one = tx["product_id"].iloc[10]
    others = tx.index[tx["product_id"].ne(one)]
    tx.loc[others[:3], "quantity"] = [200.0, 500.0, 900.0]  # bulk buyers among lines of 1-5: kept
    assert not any(e.reason == "quantity_outlier" for e in validate(tx, tiny.catalog).report.entries)
    tx.loc[others[5], "quantity"] = 1e9  # one line of 1e9 units
    tx.loc[tx["product_id"].eq(one), "quantity"] = 1e300  # every line of one product (before: accepted)
    v = validate(tx, tiny.catalog, errors="drop")
    dropped = v.report.rejected["transactions"]
    assert set(dropped.loc[dropped["reason"].eq("quantity_outlier"), "quantity"]) == {1e9, 1e300}
    assert v.transactions["quantity"].max() == 900.0
    assert any(f"product {one!r}: quantity 1e+300" in e.detail for e in v.report.entries)
    with pytest.raises(DataValidationError, match=r"quantity outlier\(s\) .*e\.g\. row") as err:
        validate(tx, tiny.catalog)
    _one_line(err)
    assert validate(tx.drop(index=tx.index[tx["quantity"].eq(1e300)]), tiny.catalog, errors="drop",
                    quantity_factor=None, max_quantity=None).report.count(reason="quantity_outlier") == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_make_market_quantities_are_not_outliers(seed):
    m = make_market(seed=seed, n_customers=300)
    v = validate(m.transactions, m.catalog, sessions=m.sessions)
    assert v.report.count(reason="quantity_outlier") == 0 and len(v.transactions) == len(m.transactions)


def test_a_kept_product_left_out_by_max_products_is_named_as_the_options(tmp_path, tiny):
    from typer.testing import CliRunner

    from bundleopt.cli import app

    rare = tiny.transactions["product_id"].value_counts().index[-1]
    args = [*_write_tiny(tmp_path, tiny), "--max-products", "2", "--keep-on-sale", str(rare)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    msg = result.stderr.strip()
    assert msg.startswith("error: --keep-on-sale names products not in the plan's data (after --max-products"), msg
    assert "keep_on_sale" not in msg and "\n" not in msg
