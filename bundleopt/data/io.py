"""Loading tables from CSV or Parquet files.

Loading only reads and renames (and, when told how, reads dates); checking is
:mod:`bundleopt.data.validate`'s job. Reading rules, the same for CSV and Parquet:

* id and text columns (``category``) are text: leading zeros survive, and ids
  such as ``NA``, ``null``, ``None`` or ``nan`` are ids, not missing values (only
  an empty id is missing); number and date columns keep pandas' usual
  missing-value words;
* two columns with the same name (pandas would silently rename the second
  ``unit_price.1``) are an error naming the column, also after renaming;
* ``date_format=`` / ``dayfirst=`` say how to read the ``timestamp`` column
  (:func:`bundleopt.data.dates.parse_dates`); without them validation detects
  the format and refuses a column it cannot read without a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES  # the words read_csv takes as missing

from bundleopt.data.dates import parse_dates
from bundleopt.data.schemas import CATALOG, SESSIONS, TRANSACTIONS, Schema
from bundleopt.data.validate import DataValidationError

_CSV = (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz", ".txt", ".tsv")
_PARQUET = (".parquet", ".pq", ".parq")


def read_table(
    path: str | Path,
    schema: Schema | None = None,
    *,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a CSV (optionally compressed, ``.tsv`` tab-separated) or Parquet file.

    Parameters
    ----------
    path : file path; the format follows the extension.
    schema : when given, its id columns are read as text (module docstring).
    columns : renaming ``{name in the file: schema name}`` applied after reading.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for an
    unknown extension or a file that cannot be parsed.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {p}")
    name = p.name.lower()
    rename = dict(columns or {})
    inverse = {v: k for k, v in rename.items()}
    text = schema.of_kind("id") + schema.of_kind("str") if schema is not None else ()
    ids = {inverse.get(c, c) for c in text}  # read as text; only an empty value is missing
    try:
        if name.endswith(_PARQUET):
            frame = pd.read_parquet(p)
            _no_duplicates(list(map(str, frame.columns)), p.name)
        elif name.endswith(_CSV):
            sep = "\t" if name.endswith(".tsv") else ","
            header = pd.read_csv(p, sep=sep, header=None, nrows=1, dtype=str,
                                 keep_default_na=False).iloc[0].tolist()
            _no_duplicates(header, p.name)
            frame = pd.read_csv(
                p, sep=sep, dtype={c: str for c in header if c in ids}, keep_default_na=False,
                na_values={c: sorted(STR_NA_VALUES) for c in header if c not in ids},
            )
        else:
            raise ValueError(
                f"{p.name}: unknown file type; use one of {', '.join(_CSV + _PARQUET)}"
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"{p.name}: cannot be read as a table: {exc}") from exc
    except ImportError as exc:  # no Parquet engine
        raise ValueError(f"{p.name}: cannot be read as a table: {exc}") from exc
    frame = frame.rename(columns=rename)
    _no_duplicates(list(map(str, frame.columns)), f"{p.name} after renaming")
    return frame


def _no_duplicates(names: list[str], where: str) -> None:
    """Refuse two columns of the same name (pandas would rename the second ``name.1``)."""
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise DataValidationError(
                f"{where}: column {n!r} appears twice; keep one (rename or delete the other)",
                column=n)
        seen.add(n)


def _read_dates(
    frame: pd.DataFrame, date_format: str | None, dayfirst: bool | None
) -> pd.DataFrame:
    """Parse ``timestamp`` when the caller said how; otherwise validation detects the format."""
    if (date_format is None and dayfirst is None) or "timestamp" not in frame.columns:
        return frame
    return frame.assign(timestamp=parse_dates(frame["timestamp"], date_format=date_format,
                                              dayfirst=dayfirst))


def load_transactions(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """Read a transactions file (unvalidated); see :data:`bundleopt.data.schemas.TRANSACTIONS`.

    ``date_format`` (a strptime format such as ``"%d/%m/%Y"``, ``"ISO8601"``, or an
    epoch unit ``"s"``, ``"ms"``, ``"us"``, ``"ns"``) and ``dayfirst`` say how to read
    ``timestamp``; by default validation detects it (:mod:`bundleopt.data.dates`).
    """
    return _read_dates(read_table(path, TRANSACTIONS, columns=columns), date_format, dayfirst)


def load_catalog(path: str | Path, *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a catalog file (unvalidated); see :data:`bundleopt.data.schemas.CATALOG`."""
    return read_table(path, CATALOG, columns=columns)


def load_sessions(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """Read a sessions (visits) file (unvalidated); see :data:`bundleopt.data.schemas.SESSIONS`.

    ``date_format`` and ``dayfirst`` as in :func:`load_transactions`.
    """
    return _read_dates(read_table(path, SESSIONS, columns=columns), date_format, dayfirst)
