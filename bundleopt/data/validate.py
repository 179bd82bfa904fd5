"""Validation and cleaning of catalogs, transactions and sessions, with a report.

Nothing is dropped silently: every removed row is counted in a
:class:`CleaningReport` with the reason, the column and a sample, and the
removed rows themselves are kept in ``report.rejected``.

Policy (``errors`` argument):

===========================  ==========================  ===========================
problem                      ``errors="raise"`` (default) ``errors="drop"``
===========================  ==========================  ===========================
missing required column      fatal                        fatal
same column name twice       fatal                        fatal
not a DataFrame / no rows    fatal                        fatal
catalog: conflicting         fatal                        fatal
duplicate product ids
dates in mixed or ambiguous  fatal (say ``date_format=``  fatal
formats, epoch numbers of    or ``dayfirst=``)
no plausible unit
exact duplicate lines        dropped and reported         dropped and reported
missing (NaN / empty) id     fatal                        rows rejected, reported
timestamp missing or         fatal                        rows rejected, reported
unparseable
infinite number (overflow)   fatal                        rows rejected, reported
price <= 0 or not a number   fatal                        rows rejected, reported
quantity <= 0 / not number   fatal                        rows rejected, reported
catalog: cost < 0, missing   fatal                        product rejected, reported;
or not a number                                           its lines reported as
                                                          ``bad_catalog_row`` naming
                                                          the product, column, value
catalog: stock < 0, not a    fatal                        the cell cleared (no
number or infinite                                        limit), reported; the
(missing stock = no limit)                                product and its lines kept
unknown product id           fatal                        rows rejected, reported
price outlier: a line's      fatal                        the line rejected, reported
unit price above ``f`` times                              by product
or below ``1/f`` of its
product's reference price
list price outlier (same     fatal                        product and its lines
rule against the median                                   rejected, reported
price paid)
cost above every price       fatal                        product and its lines
(``unit_cost >= list_price``                              rejected, reported
and ``>=`` every price paid)
catalog product never sold   noted (counted), left out    noted (counted), left out
all rows rejected            fatal                        fatal
===========================  ==========================  ===========================

**Outliers.** A product's reference price is the median of its list price and
every unit price paid for it (a median: robust to a minority of wrong values,
and to a wrong list price when the product sold more than once; a product sold
once is compared with its list price). A line whose
unit price is more than ``outlier_factor`` (default 10) times its product's
reference, or less than the reference divided by it, is an outlier: far beyond
any promotion or price change (promotions are rarely past 70% off). The list
price is then checked with the same factor against the median price paid. One
wrong value, such as a unit price of 999,999 among prices near 5 or a list
price of 1e300, would otherwise flip a fitted price coefficient or overflow the
preference weights ``exp(beta p)``. ``outlier_factor=None`` turns the check off.

Fatal problems raise :class:`DataValidationError` (a ``ValueError``) whose
message names the table, the column, the number of rows and a sample of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from bundleopt.data.dates import DateFormatError, parse_dates
from bundleopt.data.outliers import check_factor, describe, line_outliers, list_price_outliers
from bundleopt.data.schemas import CATALOG, NO_PURCHASE, SESSIONS, TRANSACTIONS, Schema

Errors = Literal["raise", "drop"]
_SAMPLE = 5


class DataValidationError(ValueError):
    """A table breaks its schema; the message names the column and sample rows."""

    def __init__(
        self, message: str, *, table: str = "", column: str = "", rows: list | None = None
    ):
        super().__init__(message)
        self.table = table
        self.column = column
        self.rows = list(rows or [])


@dataclass(frozen=True)
class CleaningEntry:
    """One cleaning action on ``n_rows`` rows of ``table`` for ``reason`` (in ``column``).

    ``action`` says what happened to the rows: ``"dropped"`` (removed), ``"cleared"``
    (the cell set to missing, the row kept) or ``"noted"`` (left out of the plan,
    e.g. a catalog product that never sold). ``detail`` names the product and the
    value where one entry concerns one product.
    """

    table: str
    reason: str
    column: str
    n_rows: int
    sample: tuple = ()
    action: str = "dropped"
    detail: str = ""


@dataclass
class CleaningReport:
    """What validation removed and why.

    Attributes
    ----------
    n_rows_in, n_rows_out : dict
        Row counts per table before and after cleaning.
    entries : list of CleaningEntry
        One entry per (table, reason, column) with the count and a sample of row labels.
    rejected : dict of DataFrame
        The removed (``action="dropped"``) rows per table, with a ``reason`` column,
        indexed as in the input.
    """

    n_rows_in: dict[str, int] = field(default_factory=dict)
    n_rows_out: dict[str, int] = field(default_factory=dict)
    entries: list[CleaningEntry] = field(default_factory=list)
    rejected: dict[str, pd.DataFrame] = field(default_factory=dict)

    def add(self, table: str, reason: str, column: str, rows: pd.DataFrame, *,
            action: str = "dropped", detail: str = "") -> None:
        """Record that ``rows`` of ``table`` were removed (or ``action``) for ``reason``."""
        if len(rows) == 0:
            return
        sample = tuple(rows.index[:_SAMPLE].tolist())
        self.entries.append(CleaningEntry(table, reason, column, len(rows), sample, action, detail))
        if action != "dropped":  # cleared or noted rows stay in the data
            return
        tagged = rows.assign(reason=reason)
        prev = self.rejected.get(table)
        self.rejected[table] = tagged if prev is None else pd.concat([prev, tagged])

    def count(self, table: str | None = None, reason: str | None = None) -> int:
        """Number of rows removed, cleared or noted, optionally for one table and/or one reason."""
        return sum(
            e.n_rows
            for e in self.entries
            if (table is None or e.table == table) and (reason is None or e.reason == reason)
        )

    def merge(self, other: CleaningReport) -> CleaningReport:
        """A new report holding the entries of both (row counts of ``other`` win)."""
        out = CleaningReport(
            {**self.n_rows_in, **other.n_rows_in},
            {**self.n_rows_out, **other.n_rows_out},
            [*self.entries, *other.entries],
            dict(self.rejected),
        )
        for table, frame in other.rejected.items():
            prev = out.rejected.get(table)
            out.rejected[table] = frame if prev is None else pd.concat([prev, frame])
        return out

    def to_frame(self) -> pd.DataFrame:
        """The entries as a DataFrame (table, reason, column, n_rows, sample, action, detail)."""
        cols = ["table", "reason", "column", "n_rows", "sample", "action", "detail"]
        return pd.DataFrame([e.__dict__ for e in self.entries], columns=cols)

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [
            f"{t}: {self.n_rows_in.get(t, '?')} rows in, {self.n_rows_out.get(t, '?')} kept"
            for t in self.n_rows_in
        ]
        lines += [
            f"  {e.table}: {e.action} {e.n_rows} row(s), {e.reason} (column {e.column!r})"
            + (f": {e.detail}" if e.detail else f", e.g. {list(e.sample)}")
            for e in self.entries
        ]
        return "\n".join(lines) if lines else "nothing cleaned"

    def __str__(self) -> str:
        return self.summary()


@dataclass
class ValidatedData:
    """Clean tables plus the report of what was removed."""

    transactions: pd.DataFrame
    catalog: pd.DataFrame
    report: CleaningReport
    sessions: pd.DataFrame | None = None


# ----------------------------------------------------------------------------- helpers


def _fail(table: str, column: str, what: str, frame: pd.DataFrame, mask: pd.Series) -> None:
    bad = frame[mask]
    rows = bad.index[:_SAMPLE].tolist()
    values = bad[column].head(_SAMPLE).tolist() if column in bad.columns else []
    shown = ", ".join(repr(v)[:30] for v in values)
    raise DataValidationError(
        f"{table}: column {column!r} has {len(bad)} row(s) with {what}; e.g. rows {rows}"
        + (f" (values {shown})" if values else ""),
        table=table,
        column=column,
        rows=rows,
    )


def _require_frame(frame: object, schema: Schema) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            f"{schema.name}: expected a pandas DataFrame, got {type(frame).__name__}",
            table=schema.name,
        )
    missing = [c.name for c in schema.required if c.name not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{schema.name}: missing required column(s) {missing}; "
            f"found {list(map(str, frame.columns))[:20]}",
            table=schema.name,
            column=missing[0],
        )
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()].tolist()
        raise DataValidationError(
            f"{schema.name}: duplicated column name(s) {dup}", table=schema.name
        )
    return frame


def as_id(values: pd.Series) -> pd.Series:
    """Identifiers as ``str`` (object dtype); missing or blank ids become NaN.

    Whole floats print without the ``.0`` so ``42.0`` (an int column with NaN read
    from CSV) and ``42`` name the same product.

    >>> as_id(pd.Series([1.0, None, 3.0])).tolist()
    ['1', nan, '3']
    """
    s = values
    missing = s.isna().to_numpy()
    if pd.api.types.is_float_dtype(s):
        finite = s[~missing].to_numpy(dtype=float)
        if np.all(np.isfinite(finite)) and np.all(np.mod(finite, 1) == 0):
            s = s.astype("Int64")
    out = pd.Series(
        np.where(missing, None, s.astype(str).to_numpy(dtype=object)), index=s.index, dtype=object
    )
    out = out.str.strip()
    out[missing | out.eq("").to_numpy()] = np.nan
    return out


def _as_float(values: pd.Series) -> pd.Series:
    try:
        out = pd.to_numeric(values, errors="coerce")
    except (TypeError, ValueError):
        out = values.map(_scalar_float)
    out = pd.Series(out, index=values.index)
    if not pd.api.types.is_numeric_dtype(out) or pd.api.types.is_bool_dtype(out):
        out = out.map(_scalar_float)
    out = out.astype(float)
    retry = (out.isna() & values.notna()).to_numpy()
    if retry.any():  # pandas reads "1e400" as NaN; it is an overflow (inf), not a missing value
        out[retry] = values[retry].map(_scalar_float).to_numpy(dtype=float)
    return out


def _scalar_float(x: object) -> float:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def _as_datetime(
    values: pd.Series, table: str, date_format: str | None = None, dayfirst: bool | None = None
) -> pd.Series:
    """Parse timestamps (:func:`bundleopt.data.dates.parse_dates`); unparseable values become NaT.

    A column that cannot be read without a guess is a :class:`DataValidationError`.
    """
    try:
        return parse_dates(values, date_format=date_format, dayfirst=dayfirst,
                           column=str(values.name))
    except DateFormatError as exc:
        raise DataValidationError(f"{table}: {exc}", table=table, column=str(values.name)) from exc


def _reject(
    frame: pd.DataFrame,
    mask: pd.Series,
    *,
    table: str,
    column: str,
    reason: str,
    what: str,
    errors: Errors,
    report: CleaningReport,
    original: pd.DataFrame,
    detail: str = "",
) -> pd.DataFrame:
    """Raise or drop the rows of ``frame`` where ``mask`` holds."""
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return frame
    if errors == "raise":
        _fail(table, column, what, original.loc[frame.index], mask)
    report.add(table, reason, column, original.loc[frame.index[mask.to_numpy()]], detail=detail)
    return frame[~mask]


def _reject_missing_ids(frame: pd.DataFrame, columns, **kw) -> pd.DataFrame:
    """Raise or drop rows with a missing id in any of ``columns``."""
    for col in columns:
        frame = _reject(frame, frame[col].isna(), column=col, reason="missing_id",
                        what="a missing (NaN or empty) id", **kw)
    return frame


def _reject_bad_dates(frame: pd.DataFrame, **kw) -> pd.DataFrame:
    """Raise or drop rows whose ``timestamp`` is missing or did not parse."""
    return _reject(frame, frame["timestamp"].isna(), column="timestamp", reason="bad_timestamp",
                   what="a missing or unparseable date", **kw)


def _reject_nonfinite(frame: pd.DataFrame, column: str, **kw) -> pd.DataFrame:
    """Raise or drop rows where ``column`` is infinite (``inf``, or a number too large for a float)."""
    return _reject(frame, np.isinf(frame[column]), column=column, reason="non_finite",
                   what="an infinite or overflowing number", **kw)


def _reject_nonpositive(frame: pd.DataFrame, column: str, reason: str, what: str, **kw) -> pd.DataFrame:
    """Raise or drop rows where ``column`` is infinite (``non_finite``), zero, negative or missing."""
    frame = _reject_nonfinite(frame, column, **kw)
    x = frame[column]
    return _reject(frame, ~(x > 0), column=column, reason=reason, what=what, **kw)


def _finish(frame: pd.DataFrame, table: str, report: CleaningReport) -> pd.DataFrame:
    """Fail on an empty result, reset the index and record the rows kept."""
    _nonempty(frame, table, report)
    frame = frame.reset_index(drop=True)
    report.n_rows_out[table] = len(frame)
    return frame


def _drop_duplicates(
    frame: pd.DataFrame, table: str, report: CleaningReport, original: pd.DataFrame
) -> pd.DataFrame:
    dup = frame.duplicated(keep="first")
    if dup.any():
        report.add(table, "duplicate", "*", original.loc[frame.index[dup.to_numpy()]])
    return frame[~dup]


def _check_errors_arg(errors: str) -> None:
    if errors not in ("raise", "drop"):
        raise ValueError(f"errors must be 'raise' or 'drop', got {errors!r}")


def _nonempty(frame: pd.DataFrame, table: str, report: CleaningReport | None = None) -> None:
    """Raise when ``frame`` is empty, saying why its rows were removed (``report``'s entries)."""
    if len(frame) > 0:
        return
    why = [e for e in (report.entries if report is not None else []) if e.table == table
           and e.action == "dropped"]
    if not why:
        raise DataValidationError(f"{table}: no valid rows left after validation", table=table)
    why.sort(key=lambda e: -e.n_rows)
    said = "; ".join(f"{e.n_rows} row(s) {e.reason} (column {e.column!r}"
                     + (f": {e.detail}" if e.detail else "") + ")" for e in why[:3])
    raise DataValidationError(f"{table}: no valid rows left after validation; removed: {said}",
                              table=table, column=why[0].column)


# ----------------------------------------------------------------------------- tables


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


def _plain(value: object) -> object:
    """A cell's value as the user wrote it (numpy scalars as plain Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def validate_transactions(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    *,
    errors: Errors = "raise",
    date_format: str | None = None,
    dayfirst: bool | None = None,
    outlier_factor: float | None = 10.0,
    rejected_products: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Check and normalise transactions (see :data:`bundleopt.data.schemas.TRANSACTIONS`).

    ``catalog`` (already validated, or raw) enables the unknown-product check and
    adds list prices to the outlier reference (module docstring).
    ``date_format`` / ``dayfirst`` say how to read ``timestamp``
    (:func:`bundleopt.data.dates.parse_dates`; detected when None).
    ``rejected_products`` (product id -> why its catalog row was rejected): their
    lines are reported as ``bad_catalog_row`` with that reason, not as unknown.
    Returns the clean lines (ids ``str``, ``timestamp`` datetime64, numbers float,
    index reset) and the report.
    """
    _check_errors_arg(errors)
    check_factor(outlier_factor)
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
    df = _reject_bad_dates(df, **kw)
    df = _reject_nonpositive(df, "unit_price", "nonpositive_price",
                             "a zero, negative or missing price", **kw)
    df = _reject_nonpositive(df, "quantity", "nonpositive_quantity",
                             "a zero, negative or missing quantity", **kw)
    for pid, why in (rejected_products or {}).items():
        df = _reject(df, df["product_id"].eq(pid), column="product_id", reason="bad_catalog_row",
                     what=f"product {pid!r} whose catalog row was rejected ({why})",
                     detail=f"product {pid!r}: its catalog row was rejected ({why})", **kw)
    list_price = None
    if catalog is not None:
        cat_ids = as_id(catalog["product_id"])
        known = set(cat_ids.dropna())
        df = _reject(
            df,
            ~df["product_id"].isin(known),
            column="product_id",
            reason="unknown_product",
            what="a product id not in the catalog",
            **kw,
        )
        ok = cat_ids.notna().to_numpy()
        list_price = pd.Series(_as_float(catalog["list_price"]).to_numpy()[ok],
                               index=cat_ids[ok].to_numpy())
        list_price = list_price[np.isfinite(list_price) & (list_price > 0)]
        list_price = list_price[~list_price.index.duplicated()]
    df = _drop_duplicates(df, table, report, original)
    if outlier_factor is not None and len(df):
        df = _reject_price_outliers(df, list_price, outlier_factor, **kw)
    return _finish(df, table, report), report


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
    dayfirst: bool | None = None,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Check and normalise sessions (visits); a missing ``order_id`` means no purchase.

    ``date_format`` / ``dayfirst`` as in :func:`validate_transactions`.
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
    df = _reject_bad_dates(df, **kw)
    df = _drop_duplicates(df, table, report, original)
    return _finish(df, table, report), report


def products_without_margin(catalog: pd.DataFrame, transactions: pd.DataFrame) -> pd.Index:
    """Products whose unit cost is at or above every price seen: the list price and every price paid.

    Such a product cannot be sold at a profit at any level of a price ladder built
    from observed prices. Both frames must be validated already.
    """
    max_paid = transactions.groupby("product_id")["unit_price"].max()
    cat = catalog.set_index("product_id")
    top = np.fmax(cat["list_price"], max_paid.reindex(cat.index))
    return cat.index[(cat["unit_cost"] >= top).to_numpy()]


def validate(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    sessions: pd.DataFrame | None = None,
    errors: Errors = "raise",
    date_format: str | None = None,
    dayfirst: bool | None = None,
    outlier_factor: float | None = 10.0,
) -> ValidatedData:
    """Validate catalog, transactions (and sessions) together; see the module docstring for the policy.

    Adds the cross-table checks: lines of a product whose catalog row was rejected
    (reported with the product, column and value, not as unknown), unknown product
    ids, price outliers (lines, then list prices), products whose cost is above
    every price on the ladder (list price and prices paid), and catalog products
    that never sold (noted: no data to model their demand, so no plan offers them).
    ``date_format`` / ``dayfirst``: how to read the timestamps
    (:func:`bundleopt.data.dates.parse_dates`; detected when None).
    """
    cat, report = validate_catalog(catalog, errors=errors)
    tx, tx_report = validate_transactions(
        transactions, cat, errors=errors, date_format=date_format, dayfirst=dayfirst,
        outlier_factor=outlier_factor, rejected_products=_rejected_products(report))
    report = report.merge(tx_report)
    if outlier_factor is not None:
        cat, tx = _drop_list_price_outliers(cat, tx, outlier_factor, errors, report)
    bad = products_without_margin(cat, tx)
    if len(bad):
        mask = cat["product_id"].isin(bad)
        what = "unit_cost at or above the list price and every price paid (no profitable price)"
        if errors == "raise":
            _fail("catalog", "unit_cost", what, cat, mask)
        report.add("catalog", "cost_above_prices", "unit_cost", cat[mask])
        line_mask = tx["product_id"].isin(bad)
        report.add("transactions", "cost_above_prices", "product_id", tx[line_mask])
        cat = cat[~mask].reset_index(drop=True)
        tx = tx[~line_mask].reset_index(drop=True)
        _nonempty(cat, "catalog", report)
        _nonempty(tx, "transactions", report)
        report.n_rows_out.update(catalog=len(cat), transactions=len(tx))
    unsold = ~cat["product_id"].isin(set(tx["product_id"]))
    if unsold.any():
        ids = cat.loc[unsold, "product_id"].tolist()
        report.add("catalog", "never_sold", "product_id", cat[unsold], action="noted",
                   detail=f"{len(ids)} catalog product(s) without a sale (no data to model their "
                   f"demand; no plan offers them): {ids[:10]}")
    ses = None
    if sessions is not None:
        ses, ses_report = validate_sessions(sessions, errors=errors, date_format=date_format,
                                            dayfirst=dayfirst)
        report = report.merge(ses_report)
    return ValidatedData(tx, cat, report, ses)


def _rejected_products(report: CleaningReport) -> dict[str, str]:
    """Product id -> ``"<column> <value> (<reason>)"`` for each catalog row the report rejected."""
    rows = report.rejected.get("catalog")
    if rows is None or "product_id" not in rows:
        return {}
    column = {e.reason: e.column for e in report.entries
              if e.table == "catalog" and e.action == "dropped"}
    out: dict[str, str] = {}
    for pid, (_, row) in zip(as_id(rows["product_id"]), rows.iterrows(), strict=True):
        col = column.get(row["reason"], "")
        if pd.isna(pid) or row["reason"] == "duplicate" or col not in row:
            continue
        out.setdefault(pid, f"{col} {row[col]!r}: {row['reason']}")
    return out


def _drop_list_price_outliers(
    cat: pd.DataFrame, tx: pd.DataFrame, factor: float, errors: Errors, report: CleaningReport
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raise on, or drop with their lines (reported per product), list prices far from the prices paid."""
    lp = cat.set_index("product_id")["list_price"]
    mask, paid = list_price_outliers(lp, tx["product_id"], tx["unit_price"], factor)
    if not mask.any():
        return cat, tx
    what, why = "its median price paid", f"outlier factor {factor:g}"
    first = mask.index[mask.to_numpy()][0]
    if errors == "raise":
        raise DataValidationError(
            f"catalog: {int(mask.sum())} list price outlier(s), e.g. "
            + describe(first, "list_price", lp[first], paid[first], what, why)
            + "; fix the value or run with errors='drop' to leave such products out",
            table="catalog", column="list_price")
    for pid in mask.index[mask.to_numpy()]:
        detail = describe(pid, "list_price", lp[pid], paid[pid], what, why)
        report.add("catalog", "list_price_outlier", "list_price", cat[cat["product_id"].eq(pid)],
                   detail=detail)
        report.add("transactions", "list_price_outlier", "product_id", tx[tx["product_id"].eq(pid)],
                   detail=detail + "; the product's lines left out with it")
    bad = set(mask.index[mask.to_numpy()])
    cat = cat[~cat["product_id"].isin(bad)].reset_index(drop=True)
    tx = tx[~tx["product_id"].isin(bad)].reset_index(drop=True)
    _nonempty(cat, "catalog", report)
    _nonempty(tx, "transactions", report)
    report.n_rows_out.update(catalog=len(cat), transactions=len(tx))
    return cat, tx
