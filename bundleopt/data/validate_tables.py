"""Each table checked and normalised on its own: :func:`validate_catalog`,
:func:`validate_transactions`, :func:`validate_sessions` (the policy is in
:mod:`bundleopt.data.validation`, which adds the checks across tables)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import numpy as np
import pandas as pd

from bundleopt.data.cleaning import _SAMPLE, CleaningReport, DataValidationError, Errors
from bundleopt.data.outliers import (
    check_factor,
    check_max_quantity,
    describe,
    line_outliers,
    quantity_outliers,
)
from bundleopt.data.row_checks import (
    _as_datetime,
    _as_float,
    _check_errors_arg,
    _drop_duplicates,
    _fail,
    _finish,
    _nonempty,
    _plain,
    _reject,
    _reject_bad_dates,
    _reject_missing_ids,
    _reject_nonfinite,
    _reject_nonpositive,
    _require_frame,
    as_id,
)
from bundleopt.data.schemas import CATALOG, NO_PURCHASE, SESSIONS, TRANSACTIONS

__all__ = ["validate_catalog", "validate_sessions", "validate_transactions"]


def validate_catalog(
    catalog: pd.DataFrame, *, errors: Errors = "raise"
) -> tuple[pd.DataFrame, CleaningReport]:
    """Check and normalise a catalog (see :data:`bundleopt.data.schemas.CATALOG`).

    Returns the clean catalog (ids as ``str``, prices as float, index reset) and the
    report. Conflicting duplicate product ids are always fatal.

    >>> cat, rep = validate_catalog(pd.DataFrame(
    ...     {"product_id": [1, 2], "unit_cost": [1.0, 2.0], "list_price": [2.0, 3.0]}))
    >>> cat.product_id.tolist(), rep.count()
    (['1', '2'], 0)
    """
    _check_errors_arg(errors)
    table = CATALOG.name
    original = _require_frame(catalog, CATALOG)
    report = CleaningReport(n_rows_in={table: len(original)})
    if len(original) == 0:
        _nonempty(original, table)
    df = original.copy()
    df["product_id"] = as_id(df["product_id"])
    for col in ("unit_cost", "list_price", "stock"):
        if col in df:
            df[col] = _as_float(df[col])
    if "category" in df:
        cat_text = df["category"].where(df["category"].isna(), df["category"].astype(str).str.strip())
        df["category"] = cat_text.mask(cat_text.eq(""))

    kw = {"table": table, "errors": errors, "report": report, "original": original}
    df = _reject_missing_ids(df, ["product_id"], **kw)
    df = _drop_duplicates(df, table, report, original)
    if df["product_id"].eq(NO_PURCHASE).any():
        raise DataValidationError(
            f"{table}: product id {NO_PURCHASE!r} is reserved for the no-purchase choice; "
            "rename that product", table=table, column="product_id")
    dup_id = df["product_id"].duplicated(keep=False)
    if dup_id.any():
        _fail(
            table,
            "product_id",
            "a duplicated id with conflicting values",
            original.loc[df.index],
            dup_id,
        )
    df = _reject_nonpositive(df, "list_price", "nonpositive_price",
                             "a zero, negative or missing price", **kw)
    df = _reject_nonfinite(df, "unit_cost", **kw)
    df = _reject(df, df["unit_cost"].isna(), column="unit_cost", reason="missing_cost",
                 what="a missing or non-numeric cost", **kw)
    df = _reject(df, df["unit_cost"] < 0, column="unit_cost", reason="negative_cost",
                 what="a negative cost", **kw)
    if "stock" in df:
        df = _clear_bad_stock(df, original, errors=errors, report=report)
    return _finish(df, table, report), report


def _clear_bad_stock(
    df: pd.DataFrame, original: pd.DataFrame, *, errors: Errors, report: CleaningReport
) -> pd.DataFrame:
    """A negative, infinite or non-numeric stock is an error of that cell only.

    Missing stock means no limit. With ``errors="drop"`` a bad cell is cleared (no
    limit) and reported per product; the product and its sales stay: the stock
    value is wrong, not the sales.
    """
    raw = original.loc[df.index, "stock"]
    blank = raw.isna() | raw.map(lambda x: isinstance(x, str) and not x.strip())
    x = df["stock"]
    bad = ~blank & ~((x >= 0) & np.isfinite(x))
    if not bad.any():
        return df
    if errors == "raise":
        _fail("catalog", "stock", "a negative, infinite or non-numeric stock (leave it empty "
              "for no limit)", original.loc[df.index], bad)
    for i in df.index[bad.to_numpy()]:
        report.add("catalog", "bad_stock", "stock", original.loc[[i]], action="cleared",
                   detail=f"product {df.at[i, 'product_id']!r}: stock {_plain(raw[i])!r} is not a number "
                   ">= 0; ignored (no stock limit)")
    return df.assign(stock=x.where(~bad, np.nan))


def validate_transactions(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    *,
    errors: Errors = "raise",
    date_format: str | None = None,
    dayfirst: bool | None = None,
    outlier_factor: float | None = 10.0,
    rejected_products: Mapping[str, str] | None = None,
    date_range: tuple[str | None, str | None] = ("1990-01-01", None),
    quantity_factor: float | None = 1000.0,
    max_quantity: float | None = 1e6,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Check and normalise transactions (see :data:`bundleopt.data.schemas.TRANSACTIONS`).

    ``catalog`` (already validated, or raw) enables the unknown-product check and
    adds list prices to the outlier reference (module docstring).
    ``date_format`` / ``dayfirst`` say how to read ``timestamp``
    (:func:`bundleopt.data.dates.parse_dates`; detected when None).
    ``rejected_products`` (product id -> why its catalog row was rejected): their
    lines are reported as ``bad_catalog_row`` with that reason, not as unknown.
    ``date_range`` (first, last day; None as the last: tomorrow): lines dated outside it are
    rejected as ``implausible_timestamp`` (a mistyped year, Excel's 1900-01-00).
    ``quantity_factor`` / ``max_quantity``: a line's quantity above ``quantity_factor`` times
    its product's median quantity, or above ``max_quantity``, is a ``quantity_outlier``
    (:mod:`bundleopt.data.outliers`; None turns either off).
    Returns the clean lines (ids ``str``, ``timestamp`` datetime64, numbers float,
    index reset) and the report.
    """
    _check_errors_arg(errors)
    check_factor(outlier_factor)
    check_max_quantity(quantity_factor, max_quantity)
    table = TRANSACTIONS.name
    original = _require_frame(transactions, TRANSACTIONS)
    report = CleaningReport(n_rows_in={table: len(original)})
    _nonempty(original, table)
    df = original.copy()
    for col in TRANSACTIONS.of_kind("id"):
        df[col] = as_id(df[col])
    df["quantity"] = _as_float(df["quantity"])
    df["unit_price"] = _as_float(df["unit_price"])
    df["timestamp"] = _as_datetime(df["timestamp"], table, date_format, dayfirst)

    kw = {"table": table, "errors": errors, "report": report, "original": original}
    df = _reject_missing_ids(df, TRANSACTIONS.of_kind("id"), **kw)
    df = _reject_bad_dates(df, date_range, **kw)
    df = _reject_nonpositive(df, "unit_price", "nonpositive_price",
                             "a zero, negative or missing price", **kw)
    df = _reject_nonpositive(df, "quantity", "nonpositive_quantity",
                             "a zero, negative or missing quantity", **kw)
    df = _reject_overflowing_totals(df, **kw)
    for pid, why in (rejected_products or {}).items():
        df = _reject(df, df["product_id"].eq(pid), column="product_id", reason="bad_catalog_row",
                     what=f"product {pid!r} whose catalog row was rejected ({why})",
                     detail=f"product {pid!r}: its catalog row was rejected ({why})", **kw)
    list_price = None
    if catalog is not None:
        cat_ids = as_id(catalog["product_id"])
        known = set(cat_ids.dropna())
        unknown = ~df["product_id"].isin(known)
        hint = _unknown_id_hint(df.loc[unknown, "product_id"], known)
        df = _reject(
            df,
            unknown,
            column="product_id",
            reason="unknown_product",
            what="a product id not in the catalog" + (f" ({hint})" if hint else ""),
            detail=hint,
            **kw,
        )
        ok = cat_ids.notna().to_numpy()
        list_price = pd.Series(_as_float(catalog["list_price"]).to_numpy()[ok],
                               index=cat_ids[ok].to_numpy())
        list_price = list_price[np.isfinite(list_price) & (list_price > 0)]
        list_price = list_price[~list_price.index.duplicated()]
    df = _drop_duplicates(df, table, report, original)
    df = _reject_reused_orders(df, **kw)
    if len(df):
        df = _reject_quantity_outliers(df, quantity_factor, max_quantity, **kw)
    if outlier_factor is not None and len(df):
        df = _reject_price_outliers(df, list_price, outlier_factor, **kw)
    return _finish(df, table, report), report


def _reject_reused_orders(df: pd.DataFrame, max_span: str = "1D", **kw) -> pd.DataFrame:
    """Raise on, or drop and report, the lines of order ids used for more than one customer or
    over more than ``max_span`` (``reused_order_id``): receipt numbers that restart each day or
    per till would merge different baskets into one, and bundles would be mined from them.
    Fatal in both modes when such orders hold more than half of the lines (the ids' scheme)."""
    if not len(df):
        return df
    g = df.groupby("order_id", sort=False)
    span = g["timestamp"].transform("max") - g["timestamp"].transform("min")
    bad = (g["customer_id"].transform("nunique") > 1) | (span > pd.Timedelta(max_span))
    if not bad.any():
        return df
    orders = pd.unique(df.loc[bad, "order_id"])
    lines = df[df["order_id"].eq(orders[0])]
    customers = lines["customer_id"].drop_duplicates().tolist()
    example = (f"order {orders[0]!r}: {len(customers)} customer(s) {customers[:3]}, "
               f"{lines['timestamp'].min()} to {lines['timestamp'].max()}")
    why = (f"{len(orders)} order id(s) used for more than one customer or over more than {max_span}, e.g. "
           f"{example}: ids that restart (each day, per till?) merge baskets; give each order its own id, "
           "e.g. date + till + receipt number")
    if bad.mean() > 0.5:  # an id scheme, not a slip: dropping would leave a few lines and a riddle
        raise DataValidationError(f"{kw['table']}: {int(bad.sum())} of {len(df)} lines have {why}",
                                  table=kw["table"], column="order_id")
    return _reject(df, bad, column="order_id", reason="reused_order_id",
                   what=f"an order id reused ({why})", detail=why, **kw)


def _reject_overflowing_totals(df: pd.DataFrame, **kw) -> pd.DataFrame:
    """Raise on, or drop and report, lines whose ``quantity * unit_price`` overflows a double
    (``non_finite``), then refuse lines whose totals add up past it: revenue, customer spend
    and prices per occasion are such sums, and would be inf or NaN further on."""
    with np.errstate(over="ignore"):
        total = df["quantity"] * df["unit_price"]
    df = _reject(df, ~np.isfinite(total), column="quantity", reason="non_finite",
                 what="a quantity times unit price past the largest number (1.8e308)", **kw)
    total = total[df.index]
    with np.errstate(over="ignore"):
        overflow = not np.isfinite(total.sum())
    if overflow:
        i = total.idxmax()
        raise DataValidationError(
            f"transactions: quantity times unit_price adds up past the largest number (1.8e308); "
            f"check the largest quantities and prices, e.g. row {i}: quantity {df.at[i, 'quantity']:g}, "
            f"unit_price {df.at[i, 'unit_price']:g}", table="transactions", column="quantity", rows=[i])
    return df


def _id_key(value: str) -> str:
    """An id as compared across files to spot one written two ways: an id that reads as a
    whole number as its digits (``"007"``, ``"7.0"`` -> ``"7"``); any other in Unicode NFKC,
    case-folded, without invisible format characters (``"P\u200b"``, ``"p"`` -> ``"p"``)."""
    try:
        x = float(value)
    except ValueError:
        x = float("nan")
    if np.isfinite(x) and x == int(x):
        return str(int(x))
    text = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _unknown_id_hint(unknown: pd.Series, known: set[str], sample: int = 3) -> str:
    """Which unknown product ids are catalog ids written another way (``7`` vs ``007``,
    ``1.0`` vs ``1``: a spreadsheet that read them as numbers; ``p1`` vs ``P1``; accents
    composed or not; a zero-width space), and examples of the rest (:func:`_id_key`).

    Such ids are never matched in silence: which writing is right is the user's call.
    """
    ids = pd.unique(unknown.to_numpy())
    if not len(ids):
        return ""
    by_key = {_id_key(k): k for k in known}
    pairs = [(u, by_key[n]) for u in ids if (n := _id_key(u)) in by_key]
    if pairs:
        plain = all(x.isascii() and x.isprintable() for pair in pairs[:sample] for x in pair)
        shown = ", ".join(f"{u!r} vs {k!r}" if plain else f"{ascii(u)} vs {ascii(k)}"  # é and e + ´ print alike
                          for u, k in pairs[:sample])
        return (f"{len(pairs)} of the {len(ids)} unknown id(s) are catalog ids written another way "
                f"(transactions vs catalog: {shown}); write the ids the same way in both files, "
                "as text (a spreadsheet drops leading zeros and adds '.0')")
    return f"{len(ids)} id(s) not in the catalog, e.g. {[str(u) for u in ids[:sample]]}"


def _reject_quantity_outliers(df: pd.DataFrame, factor: float | None, max_quantity: float | None, *,
                              table: str, errors: Errors, report: CleaningReport,
                              original: pd.DataFrame) -> pd.DataFrame:
    """Raise on, or drop and report per product, the lines whose quantity is an outlier
    (:func:`bundleopt.data.outliers.quantity_outliers`)."""
    mask, ref = quantity_outliers(df["product_id"], df["quantity"], factor, max_quantity)
    if not mask.any():
        return df
    rules = ([f"above {factor:g} x its product's median quantity"] if factor is not None else []) + (
        [f"above max_quantity {max_quantity:g}"] if max_quantity is not None else [])
    why = " or ".join(rules)

    def one(i: object) -> str:
        return (f"product {df.at[i, 'product_id']!r}: quantity {df.at[i, 'quantity']:.6g} "
                f"(its median quantity {ref[i]:.6g})")

    rows = df.index[mask.to_numpy()]
    if errors == "raise":
        raise DataValidationError(
            f"{table}: {len(rows)} quantity outlier(s) ({why}), e.g. row {rows[0]}: {one(rows[0])}; fix the "
            "value, or run with errors='drop' to leave such lines out (validate(quantity_factor=..., "
            "max_quantity=...) changes the rule)", table=table, column="quantity", rows=rows[:_SAMPLE].tolist())
    for _, lines in pd.Series(rows, index=rows).groupby(df.loc[rows, "product_id"]):
        report.add(table, "quantity_outlier", "quantity", original.loc[lines.to_numpy()],
                   detail=one(lines.iloc[0]) + f" is {why}"
                   + (f" (and {len(lines) - 1} more line(s))" if len(lines) > 1 else "")
                   + f", rows {lines.tolist()[:_SAMPLE]}")
    return df[~mask]


def _reject_price_outliers(df: pd.DataFrame, list_price: pd.Series | None, factor: float, *,
                           table: str, errors: Errors, report: CleaningReport,
                           original: pd.DataFrame) -> pd.DataFrame:
    """Raise on, or drop and report per product, the lines whose unit price is an outlier."""
    mask, ref = line_outliers(df["product_id"], df["unit_price"], list_price, factor)
    if not mask.any():
        return df
    what, why = "its reference price", f"median of list and paid prices; outlier factor {factor:g}"
    rows = df.index[mask.to_numpy()]
    if errors == "raise":
        i = rows[0]
        raise DataValidationError(
            f"{table}: {len(rows)} unit price outlier(s), e.g. row {i}: "
            + describe(df.at[i, "product_id"], "unit_price", df.at[i, "unit_price"], ref[i], what, why)
            + "; fix the value or run with errors='drop' to leave such lines out",
            table=table, column="unit_price", rows=rows[:_SAMPLE].tolist())
    for pid, lines in pd.Series(rows, index=rows).groupby(df.loc[rows, "product_id"]):
        i = lines.iloc[0]
        report.add(table, "price_outlier", "unit_price", original.loc[lines.to_numpy()],
                   detail=describe(pid, "unit_price", df.at[i, "unit_price"], ref[i], what, why)
                   + (f" (and {len(lines) - 1} more line(s))" if len(lines) > 1 else "")
                   + f", rows {lines.tolist()[:_SAMPLE]}")
    return df[~mask]


def validate_sessions(
    sessions: pd.DataFrame, *, errors: Errors = "raise", date_format: str | None = None,
    dayfirst: bool | None = None, date_range: tuple[str | None, str | None] = ("1990-01-01", None),
) -> tuple[pd.DataFrame, CleaningReport]:
    """Check and normalise sessions (visits); a missing ``order_id`` means no purchase.

    ``date_format`` / ``dayfirst`` / ``date_range`` as in :func:`validate_transactions`.
    """
    _check_errors_arg(errors)
    table = SESSIONS.name
    original = _require_frame(sessions, SESSIONS)
    report = CleaningReport(n_rows_in={table: len(original)})
    _nonempty(original, table)
    df = original.copy()
    for col in ("session_id", "customer_id"):
        df[col] = as_id(df[col])
    df["order_id"] = (
        as_id(df["order_id"])
        if "order_id" in df
        else pd.Series(np.nan, index=df.index, dtype=object)
    )
    df["timestamp"] = _as_datetime(df["timestamp"], table, date_format, dayfirst)
    kw = {"table": table, "errors": errors, "report": report, "original": original}
    df = _reject_missing_ids(df, ("session_id", "customer_id"), **kw)
    df = _reject_bad_dates(df, date_range, **kw)
    df = _drop_duplicates(df, table, report, original)
    if "order_id" not in original:
        report.add(table, "no_order_column", "order_id", df, action="noted",
                   detail=f"no order_id column: all {len(df)} visits read as visits without a purchase "
                   "(the purchases come from the transactions); add order_id if some visits ended in "
                   "an order, or the no-purchase share is overstated")
    return _finish(df, table, report), report
