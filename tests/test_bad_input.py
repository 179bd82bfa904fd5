"""Hostile input (issue 13, items 2, 3, 4, 10, 11): every class ends in a clear one-line
error or a reported, counted correction; nothing read wrongly in silence.

End-to-end cases run ``build_plan`` on a tiny market (6 products, one segment) in a
few seconds each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.data import (
    DataValidationError,
    load_catalog,
    load_transactions,
    read_table,
    validate,
)
from bundleopt.data.dates import parse_dates
from bundleopt.datasets import make_market
from bundleopt.pipeline import build_plan, stock_limits

TINY = {"n_products": 6, "n_customers": 200, "n_segments": 1, "n_pairs": 2, "n_days": 30,
        "synergy_range": (4.0, 5.0)}
PLAN = {"purchase_share": 0.5, "n_segments": 1, "threads": 1, "time_limit": 30}
# the fixture `tiny` (conftest.py) is make_market(seed=0, **TINY): six products; P000+P001 is a
# planted pair (mined as a bundle); P005 never sells


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg, msg
    return msg


# --------------------------------------------------------------------- 2. stock
def test_stock_zero_everywhere_sells_nothing(tiny):
    plan = build_plan(tiny.transactions, tiny.catalog.assign(stock=0), **PLAN)
    assert plan.table.empty and plan.profit == 0.0
    assert plan.scenario.constraints.stock is not None
    ignored = build_plan(tiny.transactions, tiny.catalog.assign(stock=0), constraints={"stock": None},
                         **PLAN)
    assert ignored.scenario.constraints.stock is None and not ignored.table.empty


def test_stock_zero_product_is_sold_neither_alone_nor_in_a_bundle(tiny):
    free = build_plan(tiny.transactions, tiny.catalog.assign(stock=np.nan), **PLAN)
    assert any("P000" in c.split("+") for c in free.table["components"])  # sold without the rule
    assert free.scenario.constraints.stock is None  # missing stock = no limit
    cat = tiny.catalog.assign(stock=np.nan)
    cat.loc[cat["product_id"] == "P000", "stock"] = 0
    plan = build_plan(tiny.transactions, cat, **PLAN)
    assert plan.scenario.is_bundle.any()
    assert not any("P000" in c.split("+") for c in plan.table["components"])
    assert not plan.table.empty
    assert plan.cleaning.count() == free.cleaning.count()  # no line of P000 dropped


def test_binding_stock_is_respected_in_product_units(tiny):
    """Expected purchases x mean units per purchase stay within the stock (units)."""
    free = build_plan(tiny.transactions, tiny.catalog.assign(stock=np.nan), **PLAN)
    units = free.table.assign(p=free.table["components"].str.split("+")).explode("p")
    sold = units.groupby("p")["units"].sum()
    top = sold.idxmax()
    tx = tiny.transactions
    per_purchase = tx.groupby(["order_id", "product_id"])["quantity"].sum().groupby("product_id").mean()
    cap = 0.5 * sold[top] * per_purchase[top]  # half of what the free plan sells, in units
    cat = tiny.catalog.assign(stock=np.nan)
    cat.loc[cat["product_id"] == top, "stock"] = cap
    plan = build_plan(tx, cat, **PLAN)
    units = plan.table.assign(p=plan.table["components"].str.split("+")).explode("p")
    assert units.loc[units["p"] == top, "units"].sum() * per_purchase[top] <= cap * (1 + 1e-6)
    assert plan.profit < free.profit


def test_stock_limits_convert_units_to_purchases():
    cat = pd.DataFrame({"product_id": ["a", "b", "c"], "stock": [10.0, np.nan, 0.0]})
    tx = pd.DataFrame({"order_id": ["1", "1", "2", "3"], "product_id": ["a", "a", "a", "c"],
                       "quantity": [1.0, 1.0, 4.0, 1.0]})
    # a: purchases (order, product) take 2 and 4 units -> 3 per purchase
    assert stock_limits(cat, tx, ["a", "b", "c"]) == {"a": 10 / 3, "c": 0.0}
    assert stock_limits(cat.drop(columns="stock"), tx, ["a"]) == {}


@pytest.mark.parametrize("value", [-5, "lots"])
def test_a_bad_stock_cell_keeps_the_products_sales(tiny, value):
    cat = tiny.catalog.astype({"stock": object})
    cat.loc[cat["product_id"] == "P002", "stock"] = value  # the best seller
    plan = build_plan(tiny.transactions, cat, **PLAN)
    assert plan.cleaning.count("catalog", "bad_stock") == 1
    assert plan.cleaning.count("transactions") == 0  # no line of P002 lost
    assert "P002" in plan.scenario.offer_ids
    assert "P002" not in (plan.scenario.constraints.stock or {})  # that cell: no limit
    with pytest.raises(DataValidationError, match="stock"):
        build_plan(tiny.transactions, cat, errors="raise", **PLAN)


# --------------------------------------------------------------------- 3. dates
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_epoch_numbers_are_read_in_their_unit(tiny, unit):
    tx = tiny.transactions.copy()
    scale = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    tx["timestamp"] = tx["timestamp"].astype("int64") // 10**9 * scale
    v = validate(tx, tiny.catalog)
    expect = tiny.transactions["timestamp"].dt.floor("s")
    assert (v.transactions["timestamp"].to_numpy() == expect.to_numpy()).all()
    assert v.transactions["timestamp"].dt.year.min() >= 2024  # never 1970


def test_epoch_seconds_from_csv_and_parquet(tmp_path, tiny):
    tx = tiny.transactions.assign(timestamp=tiny.transactions["timestamp"].astype("int64") // 10**9)
    for path in (tmp_path / "tx.csv", tmp_path / "tx.parquet"):
        tx.to_parquet(path) if path.suffix == ".parquet" else tx.to_csv(path, index=False)
        v = validate(load_transactions(path), tiny.catalog)
        assert v.transactions["timestamp"].min().year == 2024
    v = validate(load_transactions(tmp_path / "tx.csv", date_format="s"), tiny.catalog)
    assert v.transactions["timestamp"].min().year == 2024


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (["2024-01-31", "02/01/2024"], "mix year-first"),  # ISO among day-first
        (["13/01/2024", "01/13/2024"], "mix day-first"),
        (["03/04/2024", "05/06/2024"], "either day first or month first"),  # ambiguous
        ([1704067200, 1704067200000], "several units"),
        ([20240131, 20240201], "not Unix timestamps"),  # YYYYMMDD numbers: say the format
        ([1704067200, "2024-01-02"], "mix numbers"),
    ],
)
def test_dates_that_need_a_guess_are_refused_saying_how_to_fix(values, match):
    tx = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["u", "u"], "timestamp": values,
                       "product_id": ["a", "a"], "quantity": [1, 1], "unit_price": [2.0, 2.0]})
    cat = pd.DataFrame({"product_id": ["a"], "unit_cost": [1.0], "list_price": [2.0]})
    with pytest.raises(DataValidationError, match=match) as err:
        validate(tx, cat, errors="drop")
    assert err.value.column == "timestamp"
    msg = _one_line(err)
    assert "date_format=" in msg or "use one" in msg


def test_day_first_is_detected_over_the_whole_column_and_options_settle_ambiguity(tmp_path):
    # 02/01 comes first: pandas alone infers month first from it; 13/01 later proves day first
    assert parse_dates(pd.Series(["02/01/2024", "13/01/2024"])).dt.month.tolist() == [1, 1]
    assert parse_dates(pd.Series(["01/13/2024", "02/01/2024"])).dt.month.tolist() == [1, 2]
    path = tmp_path / "tx.csv"
    path.write_text("order_id,customer_id,timestamp,product_id,quantity,unit_price\n"
                    "1,u,03/04/2024,a,1,2\n2,u,05/06/2024,a,1,2\n")
    with pytest.raises(DataValidationError, match="dayfirst"):
        validate(load_transactions(path),
                 pd.DataFrame({"product_id": ["a"], "unit_cost": [1.0], "list_price": [2.0]}))
    assert load_transactions(path, dayfirst=True)["timestamp"].dt.month.tolist() == [4, 6]
    assert load_transactions(path, dayfirst=False)["timestamp"].dt.month.tolist() == [3, 5]
    got = load_transactions(path, date_format="%m/%d/%Y")["timestamp"].dt.day.tolist()
    assert got == [4, 6]


# --------------------------------------------------------------------- 4. ids colliding
def test_a_product_named_like_a_bundle_gets_a_distinct_bundle_id(tiny):
    ren = {"P003": "P000+P001"}  # a selling product named like the mined pair
    tx = tiny.transactions.replace({"product_id": ren})
    cat = tiny.catalog.replace({"product_id": ren})
    plan = build_plan(tx, cat, **PLAN)
    ids = plan.scenario.offer_ids
    assert len(set(ids)) == len(ids)
    assert "P000+P001" in ids and "P000+P001#bundle" in ids
    o = ids.index("P000+P001#bundle")
    assert plan.scenario.components[o] == ("P000", "P001")
    assert plan.scenario.components[ids.index("P000+P001")] == ("P000+P001",)


def test_the_no_purchase_id_is_reserved(tiny):
    ren = {"P003": "__none__"}
    with pytest.raises(DataValidationError, match="reserved") as err:
        validate(tiny.transactions.replace({"product_id": ren}),
                 tiny.catalog.replace({"product_id": ren}), errors="drop")
    _one_line(err)


# --------------------------------------------------------------------- 10. one bad value
def _first_line_of(tx: pd.DataFrame, product: str) -> int:
    return int(tx.index[tx["product_id"] == product][0])


@pytest.mark.parametrize("price", [999_999.0, 1e300])
def test_one_wild_unit_price_is_reported_by_product_and_line(tiny, price):
    tx = tiny.transactions.copy()
    row = _first_line_of(tx, "P000")
    tx.loc[row, "unit_price"] = price
    plan = build_plan(tx, tiny.catalog, **PLAN)
    assert plan.cleaning.count("transactions", "price_outlier") == 1
    entry = next(e for e in plan.cleaning.entries if e.reason == "price_outlier")
    assert entry.sample == (row,) and "'P000'" in entry.detail and f"{price:.6g}" in entry.detail
    assert (plan.price_coefficients < 0).all()
    with pytest.raises(DataValidationError, match="P000") as err:
        validate(tx, tiny.catalog)
    _one_line(err)


def test_a_list_price_of_1e300_is_reported_and_leaves_the_product_out(tiny):
    cat = tiny.catalog.copy()
    cat.loc[cat["product_id"] == "P001", "list_price"] = 1e300
    plan = build_plan(tiny.transactions, cat, **PLAN)
    assert plan.cleaning.count("catalog", "list_price_outlier") == 1
    n_lines = int((tiny.transactions["product_id"] == "P001").sum())
    assert plan.cleaning.count("transactions", "list_price_outlier") == n_lines
    assert all("'P001'" in e.detail and "1e+300" in e.detail
               for e in plan.cleaning.entries if e.reason == "list_price_outlier")
    assert "P001" not in plan.scenario.products and plan.solution.status == "optimal"
    with pytest.raises(DataValidationError, match="list price outlier.*P001") as err:
        validate(tiny.transactions, cat)
    _one_line(err)


def test_overflowing_numbers_are_errors(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("order_id,customer_id,timestamp,product_id,quantity,unit_price\n"
                    "1,u,2024-01-01,a,1,2\n2,u,2024-01-02,a,1,1e400\n")
    cat = pd.DataFrame({"product_id": ["a"], "unit_cost": [1.0], "list_price": [2.0]})
    v = validate(load_transactions(path), cat, errors="drop")
    assert v.report.count("transactions", "non_finite") == 1 and len(v.transactions) == 1
    with pytest.raises(DataValidationError, match="infinite"):
        validate(load_transactions(path), cat)


def test_one_bad_catalog_cell_is_reported_with_product_column_and_value(tiny):
    cat = tiny.catalog.astype({"unit_cost": object})
    cat.loc[cat["product_id"] == "P002", "unit_cost"] = "n/a?"
    plan = build_plan(tiny.transactions, cat, **PLAN)
    n_lines = int((tiny.transactions["product_id"] == "P002").sum())
    assert plan.cleaning.count("transactions", "unknown_product") == 0
    assert plan.cleaning.count("transactions", "bad_catalog_row") == n_lines
    entry = next(e for e in plan.cleaning.entries if e.reason == "bad_catalog_row")
    assert "'P002'" in entry.detail and "unit_cost" in entry.detail and "'n/a?'" in entry.detail
    assert "'P002'" in plan.cleaning.summary()


def test_a_positive_price_coefficient_stops_the_plan_unless_allowed():
    m = make_market(seed=0, **{**TINY, "beta_range": (-0.4, -0.3)})  # demand rising with price
    with pytest.raises(ValueError, match="segment 0: fitted price coefficient .* >= 0") as err:
        build_plan(m.transactions, m.catalog, **PLAN)
    assert "allow_positive_price_coef=True" in _one_line(err)
    plan = build_plan(m.transactions, m.catalog, allow_positive_price_coef=True, **PLAN)
    assert plan.price_coefficients[0] > 0 and any(">= 0 (allowed)" in n for n in plan.notes)


# --------------------------------------------------------------------- 11. read wrongly
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_ids_that_look_missing_are_ids(tmp_path, suffix):
    ids = ["NA", "null", "None", "nan", "N/A"]
    cat = pd.DataFrame({"product_id": ids, "unit_cost": 1.0, "list_price": 2.0,
                        "category": ["NA", "x", "x", "x", "x"]})
    tx = pd.DataFrame({"order_id": ["NA", "1", "2", "3", "4"], "customer_id": ["null"] * 5,
                       "timestamp": pd.date_range("2024-01-01", periods=5).astype(str),
                       "product_id": ids, "quantity": 1, "unit_price": 2.0})
    paths = tmp_path / f"cat{suffix}", tmp_path / f"tx{suffix}"
    for frame, path in zip((cat, tx), paths, strict=True):
        frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    v = validate(load_transactions(paths[1]), load_catalog(paths[0]))
    assert v.report.count() == 0
    assert v.catalog["product_id"].tolist() == ids and v.catalog["category"].iloc[0] == "NA"
    assert v.transactions["order_id"].iloc[0] == "NA" and set(v.transactions["customer_id"]) == {"null"}


def test_only_an_empty_id_is_missing(tmp_path):
    path = tmp_path / "cat.csv"
    path.write_text("product_id,unit_cost,list_price,stock\nNA,1,2,\n,1,2,3\nb,1,NA,\n")
    v = load_catalog(path)
    assert v["product_id"].iloc[0] == "NA" and pd.isna(v["stock"].iloc[0])
    assert pd.isna(v["list_price"].iloc[2])  # "NA" in a number column is still missing
    with pytest.raises(DataValidationError, match="missing"):
        from bundleopt.data import validate_catalog
        validate_catalog(v)


def test_duplicate_columns_are_an_error_naming_the_column(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("order_id,customer_id,timestamp,product_id,quantity,unit_price,unit_price\n"
                    "1,u,2024-01-01,a,1,2,3\n")
    with pytest.raises(DataValidationError, match="'unit_price' appears twice") as err:
        load_transactions(path)
    _one_line(err)
    cat = tmp_path / "cat.csv"
    cat.write_text("sku,product_id,unit_cost,list_price\na,b,1,2\n")
    with pytest.raises(DataValidationError, match="'product_id' appears twice"):
        read_table(cat, columns={"sku": "product_id"})
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["unit_price", "unit_price"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(ValueError, match="unit_price"):
        read_table(tmp_path / "dup.parquet")


def test_catalog_products_that_never_sold_are_noted(tiny):
    assert "P005" not in set(tiny.transactions["product_id"])
    v = validate(tiny.transactions, tiny.catalog)
    assert v.report.count("catalog", "never_sold") == 1
    entry = next(e for e in v.report.entries if e.reason == "never_sold")
    assert entry.action == "noted" and "P005" in entry.detail
    assert "never_sold" in v.report.summary()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_candidates": -1}, "max_candidates must be a non-negative integer"),
        ({"max_candidates": 2.5}, "max_candidates"),
        ({"max_products": 0}, "max_products must be an integer >= 1"),
        ({"max_products": True}, "max_products"),
        ({"ladder": (0.9, 1e308)}, r"ladder must be multiples of the list price in \(0, 10\]"),
        ({"ladder": (0.9, float("nan"))}, "ladder"),
        ({"ladder": ("x",)}, "ladder must be numbers"),
        ({"n_segments": 1.5}, "n_segments"),
    ],
)
def test_bad_plan_arguments_say_what_to_fix(tiny, kwargs, match):
    with pytest.raises(ValueError, match=match) as err:
        build_plan(tiny.transactions, tiny.catalog, **{**PLAN, **kwargs})
    _one_line(err)


def test_a_product_sold_once_is_checked_against_its_list_price():
    cat = pd.DataFrame({"product_id": ["a", "b"], "unit_cost": [1.0, 1.0], "list_price": [2.0, 5.0]})
    tx = pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": "u",
                       "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
                       "product_id": ["a", "a", "b"], "quantity": 1.0,
                       "unit_price": [2.0, 1.9, 1e300]})
    v = validate(tx, cat, errors="drop")
    assert v.report.count("transactions", "price_outlier") == 1
    assert v.report.rejected["transactions"].index.tolist() == [2]
    assert v.report.count("catalog", "never_sold") == 1  # b: its one line was the outlier


def test_row_errors_are_one_line_with_rows_and_values():
    cat = pd.DataFrame({"product_id": ["a"], "unit_cost": [1.0], "list_price": [2.0]})
    tx = pd.DataFrame({"order_id": ["1", "2"], "customer_id": "u",
                       "timestamp": ["2024-01-01", "2024-01-02"], "product_id": ["a", "a"],
                       "quantity": [1.0, 1.0], "unit_price": [2.0, "abc"]})
    with pytest.raises(DataValidationError, match=r"rows \[1\] \(values 'abc'\)") as err:
        validate(tx, cat)
    _one_line(err)


def test_a_segment_with_demand_rising_with_price_is_merged_and_refitted():
    """Default plan on a synthetic shop where silhouette picks 4 segments and one of them
    (125 customers) fits a price coefficient >= 0: that segment is merged into its nearest
    and the models refitted, with a note (before: the plan stopped with an error)."""
    m = make_market(seed=0, n_products=15, n_customers=500, n_segments=3, n_pairs=3)
    plan = build_plan(m.transactions, m.catalog, sessions=m.sessions, threads=1, random_state=0)
    merged = [n for n in plan.notes if "merged into segment" in n and "demand rising" in n]
    assert len(merged) == 1 and len(plan.segments) == 3
    assert (plan.price_coefficients < 0).all()
    assert plan.segments["n_customers"].sum() == m.transactions["customer_id"].nunique()


def test_demand_rising_in_every_segment_still_stops_the_plan():
    m = make_market(seed=0, **{**TINY, "n_segments": 2, "beta_range": (-0.4, -0.3)})
    with pytest.raises(ValueError, match="fitted price coefficient .* >= 0"):
        build_plan(m.transactions, m.catalog, **{**PLAN, "n_segments": 2})
