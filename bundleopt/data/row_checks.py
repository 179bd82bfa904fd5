"""Row checks shared by the table validators: read ids, numbers and dates, then raise on or
drop-and-report the rows that fail (``errors="raise"`` / ``"drop"``, :mod:`bundleopt.data.validation`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bundleopt.data.cleaning import _SAMPLE, CleaningReport, DataValidationError, Errors
from bundleopt.data.dates import DateFormatError, parse_dates
from bundleopt.data.schemas import Schema

__all__ = ["as_id"]


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
    """Numbers as float; what is not a real number is NaN (reported by the row checks): text,
    True/False (not read as 1/0) and complex numbers whose imaginary part is not 0 (not cut to
    their real part)."""
    try:
        out = pd.to_numeric(values, errors="coerce")
    except (TypeError, ValueError):
        out = values.map(_scalar_float)
    out = pd.Series(out, index=values.index)
    if pd.api.types.is_complex_dtype(out):  # a real number only when its imaginary part is 0
        out = pd.Series(np.where(np.imag(out) == 0, np.real(out), np.nan), index=values.index)
    if not pd.api.types.is_numeric_dtype(out) or pd.api.types.is_bool_dtype(out):
        out = out.map(_scalar_float)
    out = out.astype(float)
    if values.dtype == object:  # pandas reads True in a column of numbers as 1
        out[values.map(lambda x: isinstance(x, bool | np.bool_)).to_numpy(dtype=bool)] = np.nan
    retry = (out.isna() & values.notna()).to_numpy()
    if retry.any():  # pandas reads "1e400" as NaN; it is an overflow (inf), not a missing value
        out[retry] = values[retry].map(_scalar_float).to_numpy(dtype=float)
    return out


def _scalar_float(x: object) -> float:
    if isinstance(x, bool | np.bool_):
        return float("nan")
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


def _reject_bad_dates(frame: pd.DataFrame, date_range: tuple[str | None, str | None] = ("1990-01-01", None),
                      **kw) -> pd.DataFrame:
    """Raise or drop rows whose ``timestamp`` is missing, did not parse, or lies outside
    ``date_range`` (``None`` as the end: tomorrow, UTC): a date no shop recorded, such as
    Excel's day 0 (1900-01-00), a mistyped year, or one in the future. One such date would
    stretch the data's span (the periods of stock, the report's first day).
    """
    frame = _reject(frame, frame["timestamp"].isna(), column="timestamp", reason="bad_timestamp",
                    what="a missing or unparseable date", **kw)
    lo = pd.Timestamp(date_range[0]) if date_range[0] is not None else pd.Timestamp.min
    hi = (pd.Timestamp(date_range[1]) if date_range[1] is not None
          else pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=1))
    stamps = frame["timestamp"]
    out = (stamps < lo) | (stamps > hi)
    if not out.any():
        return frame
    shown = stamps[out].drop_duplicates().head(3).astype(str).tolist()
    where = f"outside {lo.date()} to {hi.date()}" + (" (tomorrow)" if date_range[1] is None else "")
    return _reject(frame, out, column="timestamp", reason="implausible_timestamp",
                   what=f"a date {where}: a mistyped year or a placeholder such as 1900-01-01?",
                   detail=f"{int(out.sum())} date(s) {where}, e.g. {shown}; fix them (in Python, "
                   "date_range= widens the range)", **kw)


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
    if report is None:  # the table as given
        raise DataValidationError(f"{table}: the table has no rows (a header only?); give the file "
                                  "with its data", table=table)
    if not why:
        raise DataValidationError(f"{table}: no valid rows left after validation", table=table)
    why.sort(key=lambda e: -e.n_rows)
    said = "; ".join(f"{e.n_rows} row(s) {e.reason} (column {e.column!r}"
                     + (f": {e.detail}" if e.detail else "") + ")" for e in why[:3])
    raise DataValidationError(f"{table}: no valid rows left after validation; removed: {said}",
                              table=table, column=why[0].column)


def _plain(value: object) -> object:
    """A cell's value as the user wrote it (numpy scalars as plain Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value
