"""Loading tables from CSV or Parquet files.

Loading only reads and renames; checking is :mod:`bundleopt.data.validate`'s job.
Id columns are read as text so that leading zeros survive a CSV round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from bundleopt.data.schemas import CATALOG, SESSIONS, TRANSACTIONS, Schema

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
    schema : when given, its id columns are read as text from CSV.
    columns : renaming ``{name in the file: schema name}`` applied after reading.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for an
    unknown extension or a file that cannot be parsed.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {p}")
    name = p.name.lower()
    rename = dict(columns or {})
    try:
        if name.endswith(_PARQUET):
            frame = pd.read_parquet(p)
        elif name.endswith(_CSV):
            dtype = None
            if schema is not None:
                inverse = {v: k for k, v in rename.items()}
                dtype = {inverse.get(c, c): str for c in schema.of_kind("id")}
            sep = "\t" if name.endswith(".tsv") else ","
            frame = pd.read_csv(p, dtype=dtype, sep=sep)
        else:
            raise ValueError(
                f"{p.name}: unknown file type; use one of {', '.join(_CSV + _PARQUET)}"
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"{p.name}: cannot be read as a table: {exc}") from exc
    return frame.rename(columns=rename)


def load_transactions(
    path: str | Path, *, columns: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Read a transactions file (unvalidated); see :data:`bundleopt.data.schemas.TRANSACTIONS`."""
    return read_table(path, TRANSACTIONS, columns=columns)


def load_catalog(path: str | Path, *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a catalog file (unvalidated); see :data:`bundleopt.data.schemas.CATALOG`."""
    return read_table(path, CATALOG, columns=columns)


def load_sessions(path: str | Path, *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a sessions (visits) file (unvalidated); see :data:`bundleopt.data.schemas.SESSIONS`."""
    return read_table(path, SESSIONS, columns=columns)
