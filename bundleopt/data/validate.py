"""Validation and cleaning of catalogs, transactions and sessions, with a report.

Nothing is dropped silently: every removed row is counted in a
:class:`CleaningReport` with the reason, the column and a sample, and the
removed rows themselves are kept in ``report.rejected``.

Policy (``errors`` argument):

===========================  ==========================  ===========================
problem                      ``errors="raise"`` (default) ``errors="drop"``
===========================  ==========================  ===========================
missing required column      fatal                        fatal
not a DataFrame / no rows    fatal                        fatal
catalog: conflicting         fatal                        fatal
duplicate product ids
exact duplicate lines        dropped and reported         dropped and reported
missing (NaN / empty) id     fatal                        rows rejected, reported
timestamp missing or         fatal                        rows rejected, reported
unparseable
price <= 0 or not a number   fatal                        rows rejected, reported
quantity <= 0 / not number   fatal                        rows rejected, reported
catalog: cost < 0 / NaN,     fatal                        product rejected, reported
stock < 0
unknown product id           fatal                        rows rejected, reported
cost above every price       fatal                        product and its lines
(``unit_cost >= list_price``                              rejected, reported
and ``>=`` every price paid)
all rows rejected            fatal                        fatal
===========================  ==========================  ===========================

Fatal problems raise :class:`DataValidationError` (a ``ValueError``) whose
message names the table, the column, the number of rows and a sample of them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from bundleopt.data.schemas import CATALOG, SESSIONS, TRANSACTIONS, Schema

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
    """One cleaning action: ``n_rows`` rows of ``table`` removed for ``reason`` (in ``column``)."""

    table: str
    reason: str
    column: str
    n_rows: int
    sample: tuple = ()


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
        The removed rows per table, with a ``reason`` column, indexed as in the input.
    """

    n_rows_in: dict[str, int] = field(default_factory=dict)
    n_rows_out: dict[str, int] = field(default_factory=dict)
    entries: list[CleaningEntry] = field(default_factory=list)
    rejected: dict[str, pd.DataFrame] = field(default_factory=dict)

    def add(self, table: str, reason: str, column: str, rows: pd.DataFrame) -> None:
        """Record that ``rows`` of ``table`` were removed for ``reason``."""
        if len(rows) == 0:
            return
        sample = tuple(rows.index[:_SAMPLE].tolist())
        self.entries.append(CleaningEntry(table, reason, column, len(rows), sample))
        tagged = rows.assign(reason=reason)
        prev = self.rejected.get(table)
        self.rejected[table] = tagged if prev is None else pd.concat([prev, tagged])

    def count(self, table: str | None = None, reason: str | None = None) -> int:
        """Number of rows removed, optionally for one table and/or one reason."""
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
        """The entries as a DataFrame (table, reason, column, n_rows, sample)."""
        cols = ["table", "reason", "column", "n_rows", "sample"]
        return pd.DataFrame([e.__dict__ for e in self.entries], columns=cols)

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [
            f"{t}: {self.n_rows_in.get(t, '?')} rows in, {self.n_rows_out.get(t, '?')} kept"
            for t in self.n_rows_in
        ]
        lines += [
            f"  {e.table}: dropped {e.n_rows} row(s), {e.reason} (column {e.column!r}), e.g. {list(e.sample)}"
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
    sample = bad.head(_SAMPLE).to_string(max_colwidth=30)
    raise DataValidationError(
        f"{table}: column {column!r} has {len(bad)} row(s) with {what}; e.g. rows {rows}:\n{sample}",
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
    return out.astype(float)


def _scalar_float(x: object) -> float:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def _as_datetime(values: pd.Series) -> pd.Series:
    """Parse timestamps; unparseable values become NaT. Time zones are converted to naive UTC."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
            warnings.simplefilter("ignore", RuntimeWarning)  # inf cast to datetime
            try:
                out = pd.to_datetime(values, errors="coerce", utc=True)
            except (TypeError, ValueError, OverflowError):
                out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
            retry = (out.isna() & values.notna()).to_numpy()
            if retry.any():
                parsed = values[retry].map(_scalar_datetime)
                out = out.copy()
                out[retry] = pd.to_datetime(parsed, errors="coerce", utc=True)
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.Series(out, index=values.index).astype("datetime64[ns]")


def _scalar_datetime(x: object) -> pd.Timestamp:
    try:
        ts = pd.to_datetime(x, errors="coerce", utc=True, format="mixed")  # type: ignore[call-overload]
        return ts if isinstance(ts, pd.Timestamp) else pd.NaT
    except (TypeError, ValueError, OverflowError):
        return pd.NaT


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
) -> pd.DataFrame:
    """Raise or drop the rows of ``frame`` where ``mask`` holds."""
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return frame
    if errors == "raise":
        _fail(table, column, what, original.loc[frame.index], mask)
    report.add(table, reason, column, original.loc[frame.index[mask.to_numpy()]])
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


def _reject_nonpositive(frame: pd.DataFrame, column: str, reason: str, what: str, **kw) -> pd.DataFrame:
    """Raise or drop rows where ``column`` is zero, negative, missing or infinite."""
    x = frame[column]
    return _reject(frame, ~(x > 0) | ~np.isfinite(x), column=column, reason=reason, what=what, **kw)


def _finish(frame: pd.DataFrame, table: str, report: CleaningReport) -> pd.DataFrame:
    """Fail on an empty result, reset the index and record the rows kept."""
    _nonempty(frame, table)
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


def _nonempty(frame: pd.DataFrame, table: str) -> None:
    if len(frame) == 0:
        raise DataValidationError(f"{table}: no valid rows left after validation", table=table)


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
        df["category"] = df["category"].where(df["category"].isna(), df["category"].astype(str))

    kw = {"table": table, "errors": errors, "report": report, "original": original}
    df = _reject_missing_ids(df, ["product_id"], **kw)
    df = _drop_duplicates(df, table, report, original)
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
    uc = df["unit_cost"]
    df = _reject(
        df,
        ~(uc >= 0) | ~np.isfinite(uc),
        column="unit_cost",
        reason="negative_cost",
        what="a negative or missing cost",
        **kw,
    )
    if "stock" in df:
        df = _reject(
            df,
            df["stock"] < 0,
            column="stock",
            reason="negative_stock",
            what="a negative stock",
            **kw,
        )
    return _finish(df, table, report), report


def validate_transactions(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    *,
    errors: Errors = "raise",
) -> tuple[pd.DataFrame, CleaningReport]:
    """Check and normalise transactions (see :data:`bundleopt.data.schemas.TRANSACTIONS`).

    ``catalog`` (already validated, or raw) enables the unknown-product check.
    Returns the clean lines (ids ``str``, ``timestamp`` datetime64, numbers float,
    index reset) and the report.
    """
    _check_errors_arg(errors)
    table = TRANSACTIONS.name
    original = _require_frame(transactions, TRANSACTIONS)
    report = CleaningReport(n_rows_in={table: len(original)})
    _nonempty(original, table)
    df = original.copy()
    for col in TRANSACTIONS.of_kind("id"):
        df[col] = as_id(df[col])
    df["quantity"] = _as_float(df["quantity"])
    df["unit_price"] = _as_float(df["unit_price"])
    df["timestamp"] = _as_datetime(df["timestamp"])

    kw = {"table": table, "errors": errors, "report": report, "original": original}
    df = _reject_missing_ids(df, TRANSACTIONS.of_kind("id"), **kw)
    df = _reject_bad_dates(df, **kw)
    df = _reject_nonpositive(df, "unit_price", "nonpositive_price",
                             "a zero, negative or missing price", **kw)
    df = _reject_nonpositive(df, "quantity", "nonpositive_quantity",
                             "a zero, negative or missing quantity", **kw)
    if catalog is not None:
        known = set(as_id(catalog["product_id"]).dropna())
        df = _reject(
            df,
            ~df["product_id"].isin(known),
            column="product_id",
            reason="unknown_product",
            what="a product id not in the catalog",
            **kw,
        )
    df = _drop_duplicates(df, table, report, original)
    return _finish(df, table, report), report


def validate_sessions(
    sessions: pd.DataFrame, *, errors: Errors = "raise"
) -> tuple[pd.DataFrame, CleaningReport]:
    """Check and normalise sessions (visits); a missing ``order_id`` means no purchase."""
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
    df["timestamp"] = _as_datetime(df["timestamp"])
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
) -> ValidatedData:
    """Validate catalog, transactions (and sessions) together; see the module docstring for the policy.

    Adds the cross-table checks: unknown product ids in transactions and products
    whose cost is above every price on the ladder (list price and prices paid).
    """
    cat, report = validate_catalog(catalog, errors=errors)
    tx, tx_report = validate_transactions(transactions, cat, errors=errors)
    report = report.merge(tx_report)
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
        _nonempty(cat, "catalog")
        _nonempty(tx, "transactions")
        report.n_rows_out.update(catalog=len(cat), transactions=len(tx))
    ses = None
    if sessions is not None:
        ses, ses_report = validate_sessions(sessions, errors=errors)
        report = report.merge(ses_report)
    return ValidatedData(tx, cat, report, ses)
