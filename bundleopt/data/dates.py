"""Reading a column of dates without guessing in silence: epoch units and day/month order.

pandas reads a column of integers as nanoseconds since 1970 (so Unix seconds all
become 1970-01-01) and reads ``03/04/2024`` as month first unless told, value by
value. :func:`parse_dates` decides once for the whole column and refuses what it
cannot decide, with a one-line message saying which argument settles it:

* **datetime values** are kept (time zones converted to naive UTC);
* **numbers** (or text that is all numbers) are Unix timestamps; the unit is the
  one of s / ms / us / ns under which the values fall between ``plausible[0]``
  and ``plausible[1]`` (1990-2100 by default; the four ranges do not overlap:
  seconds 6.3e8-4.1e9, ms 6.3e11-4.1e12, us 6.3e14-4.1e15, ns 6.3e17-4.1e18).
  Values under two units, or under none, are refused (``date_format="s"`` etc.
  says the unit);
* **text** is classified value by value: year first (ISO 8601, ``2024-01-31``,
  ``2024/01/31``), day/month first (``31/01/2024``, ``01-31-24``) or other
  (``Jan 31 2024``: month names are unambiguous, parsed value by value).
  A column that mixes year-first and day/month-first values is refused. For
  day/month-first values the order is day first when some first number is above
  12, month first when some second number is above 12, refused when both
  happen (mixed) or when neither does and some value reads differently either
  way (``03/04/2024``): ``dayfirst=`` or ``date_format=`` settles it.

Values that stay unparseable become ``NaT`` (validation counts and rejects those
rows); only whole-column problems raise.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

__all__ = ["DateFormatError", "parse_dates"]

EPOCH_UNITS = ("s", "ms", "us", "ns")
_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
_YEAR_FIRST = re.compile(r"^\s*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_DAY_MONTH = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})(?!\d)")
_TZ = re.compile(r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})\s*$")
_HOW = ("say how to read them: date_format='%d/%m/%Y' (another strptime format, 'ISO8601', or an "
        "epoch unit 's'/'ms'/'us'/'ns') or dayfirst=True/False in Python, --date-format / "
        "--dayfirst / --monthfirst with bundleopt plan")


class DateFormatError(ValueError):
    """A date column cannot be read without a guess; the message says which argument fixes it."""


def _utc_naive(out: pd.Series) -> pd.Series:
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[ns]")


def _epoch_unit(x: np.ndarray, plausible: tuple[str, str], column: str) -> str:
    """The one epoch unit under which the values are dates in ``plausible`` (else raise)."""
    lo, hi = (pd.Timestamp(t, tz="UTC").timestamp() for t in plausible)
    fits = {u: (x >= lo * k) & (x <= hi * k) for u, k in _PER_SECOND.items()}
    used = [u for u in EPOCH_UNITS if fits[u].any()]
    if len(used) > 1:
        raise DateFormatError(
            f"{column}: numbers look like Unix timestamps in several units ({', '.join(used)}); "
            f"use one unit, or {_HOW}")
    if not used:
        raise DateFormatError(
            f"{column}: numbers such as {x[0]:.0f} are not Unix timestamps between {plausible[0]} "
            f"and {plausible[1]} in s, ms, us or ns; {_HOW}")
    return used[0]


def _parse_epoch(values: pd.Series, unit: str) -> pd.Series:
    x = pd.to_numeric(values, errors="coerce").astype(float)
    ok = np.isfinite(x) & (x.abs() < 9.2e18 / (1e9 / _PER_SECOND[unit]))  # fits datetime64[ns]
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if ok.any():
        out[ok] = pd.to_datetime(np.round(x[ok].to_numpy() * (1e9 / _PER_SECOND[unit])).astype(np.int64),
                                 unit="ns")
    return out


def _parse_text(values: pd.Series, *, date_format: str | None = None,
                dayfirst: bool = False) -> pd.Series:
    """Parse strings; a value with a time-zone offset is converted, one without is taken as UTC."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if len(values) == 0:
        return out
    has_tz = values.str.contains(_TZ, na=False).to_numpy()
    for part in (has_tz, ~has_tz):
        if not part.any():
            continue
        v = values[part]
        if date_format is not None:
            try:
                parsed = pd.to_datetime(v, format=date_format, errors="coerce", utc=True)
            except ValueError as exc:  # not a format: "'Q' is a bad directive in format '%Q'"
                raise DateFormatError(f"date_format {date_format!r} is not a strptime format such as "
                                      f"'%d/%m/%Y' ({exc})") from exc
        else:
            try:  # one format inferred from the first value, applied to all: fast
                with warnings.catch_warnings():  # "could not infer format": the fallback below says more
                    warnings.simplefilter("ignore", UserWarning)
                    parsed = pd.to_datetime(v, dayfirst=dayfirst, errors="raise", utc=True)
            except (ValueError, TypeError, OverflowError):
                parsed = pd.to_datetime(v, format="mixed", dayfirst=dayfirst, errors="coerce",
                                        utc=True)
        out[part] = _utc_naive(parsed).to_numpy()
    return out


def _day_month_order(parts: pd.DataFrame, column: str) -> bool:
    """True for day first, False for month first, from ``parts`` (columns 0 and 1: the two numbers)."""
    a, b = parts[0].astype(int), parts[1].astype(int)
    day_first, month_first = bool((a > 12).any()), bool((b > 12).any())
    if day_first and month_first:
        i, j = int(np.argmax((a > 12).to_numpy())), int(np.argmax((b > 12).to_numpy()))
        raise DateFormatError(
            f"{column}: dates mix day-first ({parts.index[i]!r}) and month-first "
            f"({parts.index[j]!r}) values; use one order")
    if not day_first and not month_first and (a != b).any():
        raise DateFormatError(
            f"{column}: dates such as {parts.index[int(np.argmax((a != b).to_numpy()))]!r} read "
            f"either day first or month first (no day above 12); {_HOW}")
    return day_first


def parse_dates(
    values: pd.Series,
    *,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    plausible: tuple[str, str] = ("1990-01-01", "2100-01-01"),
    column: str = "timestamp",
) -> pd.Series:
    """A column of dates as naive-UTC ``datetime64[ns]``, read as the module docstring says.

    Parameters
    ----------
    values : the raw column (datetimes, numbers or text).
    date_format : a strptime format (``"%d/%m/%Y"``), ``"ISO8601"``, or an epoch unit
        ``"s"``, ``"ms"``, ``"us"``, ``"ns"``; ``None`` detects it.
    dayfirst : order of day and month in ``31/01/2024``-style text; ``None`` detects it.
    plausible : the date range epoch numbers must fall in for their unit to be detected.
    column : the name used in messages.

    Unparseable values become ``NaT``; raises :class:`DateFormatError` (a ``ValueError``)
    for a column that mixes formats or cannot be read without a guess.

    >>> parse_dates(pd.Series([1704067200, 1704153600])).dt.date.astype(str).tolist()
    ['2024-01-01', '2024-01-02']
    >>> parse_dates(pd.Series(["13/01/2024", "02/01/2024"])).dt.day.tolist()
    [13, 2]
    """
    if date_format is not None and not isinstance(date_format, str):
        raise ValueError(f"date_format must be a string such as '%d/%m/%Y' or 's', got {date_format!r}")
    if dayfirst is not None and not isinstance(dayfirst, bool | np.bool_):
        raise ValueError(f"dayfirst must be True, False or None, got {dayfirst!r}")
    out = _read_column(values, date_format, dayfirst, plausible, column)
    if date_format is not None and out.isna().all() and values.notna().any():
        shown = values[values.notna()].iloc[0]
        raise DateFormatError(f"{column}: date_format {date_format!r} reads none of the dates, e.g. "
                              f"{shown!r}; give the format they are written in ({_HOW})")
    return out


def _read_column(values: pd.Series, date_format: str | None, dayfirst: bool | None,
                 plausible: tuple[str, str], column: str) -> pd.Series:
    """:func:`parse_dates` once its arguments are checked."""
    if isinstance(values.dtype, pd.PeriodDtype):  # a day or a month: its start
        values = values.dt.to_timestamp()
    if pd.api.types.is_timedelta64_dtype(values):
        raise DateFormatError(f"{column}: holds durations (timedelta), not dates; add the date they "
                              "count from")
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.Series(_utc_naive(values), index=values.index)
    if date_format in EPOCH_UNITS:
        return _parse_epoch(values, date_format)
    if values.dtype != object:  # numbers (or booleans) throughout
        return _from_numbers(values, values, date_format, plausible, column)
    # object column: decide on the distinct values (dates repeat), then map back
    codes, unique = pd.factorize(values)
    u = pd.Series(unique, dtype=object)
    u = u.map(lambda x: x.strip() if isinstance(x, str) else x)
    blank = u.map(lambda x: isinstance(x, str) and not x).to_numpy(dtype=bool)
    if blank.any():
        codes = np.where(np.isin(codes, np.flatnonzero(blank)), -1, codes)
    parsed = _parse_unique(u.mask(blank), date_format, dayfirst, plausible, column).to_numpy()
    got = np.append(parsed, np.datetime64("NaT", "ns"))[codes]  # code -1: missing
    return pd.Series(got, index=values.index, dtype="datetime64[ns]")


def _from_numbers(values: pd.Series, numbers: pd.Series, date_format: str | None,
                  plausible: tuple[str, str], column: str) -> pd.Series:
    """Epoch numbers (unit detected), or numbers read as text by ``date_format`` (``%Y%m%d``)."""
    if pd.api.types.is_bool_dtype(numbers) or numbers.map(lambda x: isinstance(x, bool)).any():
        raise DateFormatError(f"{column}: holds True/False values, not dates")
    if date_format is not None:
        ok = values.notna().to_numpy()
        out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        whole = values[ok].map(lambda x: str(int(x)) if isinstance(x, float) and x == int(x) else str(x))
        out[ok] = _parse_text(whole, date_format=date_format).to_numpy()
        return out
    x = pd.to_numeric(numbers, errors="coerce").to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    return _parse_epoch(values, _epoch_unit(x, plausible, column))


def _parse_unique(u: pd.Series, date_format: str | None, dayfirst: bool | None,
                  plausible: tuple[str, str], column: str) -> pd.Series:
    """Parse distinct, stripped values (missing ones stay NaT)."""
    present = u[u.notna()]
    if len(present) == 0:
        return pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    is_text = present.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool)
    sample = pd.to_numeric(present.iloc[:100], errors="coerce")
    if sample.notna().all() and pd.to_numeric(present, errors="coerce").notna().all():
        # numbers, or text that is all numbers
        return _from_numbers(u, present, date_format, plausible, column)
    out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    if date_format is not None:  # a strptime format or ISO8601: every value read as text
        out[present.index] = _parse_text(present.map(str), date_format=date_format).to_numpy()
        return out
    other = present[~is_text]
    if len(other):  # datetime or date objects in an object column
        odd = other.map(lambda x: isinstance(x, int | float | bool | np.number))
        if odd.any():
            raise DateFormatError(
                f"{column}: dates mix numbers ({other[odd].iloc[0]!r}) and other values; "
                f"use one format, or {_HOW}")
        with_dt = pd.to_datetime(other.map(_scalar_datetime), errors="coerce", utc=True)
        out[other.index] = _utc_naive(with_dt).to_numpy()
    text = present[is_text]
    try:  # fast path: every value ISO 8601 without a time zone (nothing to decide)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # mixed offsets: not this path
            fast = pd.to_datetime(text, format="ISO8601", errors="raise")
        # naive throughout, or an offset on every value: pandas gives naive values that
        # follow an aware one its offset, so a mix goes the slow way (_parse_text)
        if fast.dtype == np.dtype("datetime64[ns]"):
            out[text.index] = fast.to_numpy()
            return out
        if isinstance(fast.dtype, pd.DatetimeTZDtype) and text.str.contains(_TZ).all():
            out[text.index] = _utc_naive(fast).to_numpy()  # one offset on every value
            return out
    except (ValueError, TypeError, OverflowError):
        pass
    year_first = text.str.contains(_YEAR_FIRST, na=False)
    dm = text.str.extract(_DAY_MONTH).dropna()
    dm.index = text[dm.index]
    if year_first.any() and len(dm):
        raise DateFormatError(
            f"{column}: dates mix year-first ({text[year_first].iloc[0]!r}) and day/month-first "
            f"({dm.index[0]!r}) formats; use one format, or {_HOW}")
    order = False
    if len(dm):
        order = bool(dayfirst) if dayfirst is not None else _day_month_order(dm, column)
    out[text.index] = _parse_text(text, dayfirst=order).to_numpy()
    return out


def _scalar_datetime(x: object) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(x)  # type: ignore[arg-type]
        return ts if not pd.isna(ts) else pd.NaT
    except (TypeError, ValueError, OverflowError):
        return pd.NaT
