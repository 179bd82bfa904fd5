"""Loading tables from CSV or Parquet files.

Loading only reads and renames (and, when told how, reads dates); checking is
:mod:`bundleopt.data.validation`'s job. Reading rules, the same for CSV and Parquet:

* id and text columns (``category``) are text: leading zeros survive, and ids
  such as ``NA``, ``null``, ``None`` or ``nan`` are ids, not missing values (only
  an empty id is missing); number and date columns keep pandas' usual
  missing-value words;
* two columns with the same name (pandas would silently rename the second
  ``unit_price.1``) are an error naming the column, also after renaming;
* a header spelt like a schema column but for case, spaces, ``-`` or ``_`` (``Product ID ``,
  ``UNIT_PRICE``, ``list-price``) is that column, named in a note; two headers that
  both read as one column are an error;
* ``date_format=`` / ``dayfirst=`` say how to read the ``timestamp`` column
  (:func:`bundleopt.data.dates.parse_dates`); without them validation detects
  the format and refuses a column it cannot read without a guess;
* a CSV file's field separator (``,`` ``;`` tab ``|``) is detected from its header,
  and number columns written as a shop's export writes them (``7,35``,
  ``"€1,234.50"``, ``1.234,50``) are read as meant, or refused when the decimal mark
  is uncertain (``decimal=``); a file that is not UTF-8 is read as Windows-1252, the
  encoding of Excel's "CSV" on Windows (``encoding=`` to say otherwise)
  (:mod:`bundleopt.data.number_format`). What was read so is listed in the frame's
  ``attrs["read_notes"]`` (the command line prints it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES  # the words read_csv takes as missing

from bundleopt.data.dates import parse_dates
from bundleopt.data.number_format import (
    AmbiguousNumberFormat,
    detect_separator,
    parse_number_column,
)
from bundleopt.data.schemas import CATALOG, SESSIONS, TRANSACTIONS, Schema
from bundleopt.data.validation import DataValidationError

_CSV = (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz", ".txt", ".tsv")
_PARQUET = (".parquet", ".pq", ".parq")
_COMPRESSED = (".gz", ".zip", ".bz2", ".xz")
_EXCEL = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
#: the first bytes of files that are not text, and what they are
_NOT_TEXT = {b"PK\x03\x04": "a zip file (an Excel .xlsx workbook?): save it as CSV UTF-8",
             b"\xd0\xcf\x11\xe0": "an Excel .xls workbook: save it as CSV UTF-8",
             b"PAR1": "a Parquet file: name it .parquet", b"%PDF": "a PDF document",
             b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"\x1f\x8b": "gzip-compressed: name it .csv.gz"}


def read_table(
    path: str | Path,
    schema: Schema | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a CSV (optionally compressed, ``.tsv`` tab-separated) or Parquet file.

    Parameters
    ----------
    path : file path; the format follows the extension.
    schema : when given, its id columns are read as text and its number columns as
        a shop's export writes numbers (module docstring).
    columns : renaming ``{name in the file: schema name}`` applied after reading.
    decimal : ``"."`` or ``","``, the decimal mark of the number columns (default:
        read from the values; refused when they do not tell it).
    encoding : the CSV file's text encoding (default: UTF-8, else Windows-1252).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for an
    unknown extension or a file that cannot be parsed.
    """
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{p} is a folder, not a file; give the path of the table file")
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {p}")
    name = p.name.lower()
    rename = dict(columns or {})
    inverse = {v: k for k, v in rename.items()}
    text = schema.of_kind("id") + schema.of_kind("str") if schema is not None else ()
    ids = {inverse.get(c, c) for c in text}  # read as text; only an empty value is missing
    try:
        if name.endswith(_PARQUET):
            with p.open("rb") as f:
                if f.read(4) != b"PAR1":
                    raise ValueError(f"{p.name}: not a Parquet file (a Parquet file starts with PAR1); "
                                     "a CSV file should be named .csv")
            frame = pd.read_parquet(p)
            _no_duplicates(list(map(str, frame.columns)), p.name)
            notes = []
            spelt = _header_spellings(list(map(str, frame.columns)), schema, rename, p.name, notes)
            frame = frame.rename(columns=spelt)
        elif name.endswith(_CSV):
            enc = encoding if name.endswith(_COMPRESSED) else _check_text(p, encoding)
            frame, notes = _read_csv(p, name, schema, rename, ids, enc)
            if enc != encoding:
                notes.append(f"{p.name}: read as UTF-16 (it starts with a UTF-16 byte-order mark)")
        else:
            excel = " (an Excel workbook: save it as CSV UTF-8)" if name.endswith(_EXCEL) else ""
            raise ValueError(
                f"{p.name}: unknown file type{excel}; use one of {', '.join(_CSV + _PARQUET)}"
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, LookupError, OSError) as exc:
        raise ValueError(f"{p.name}: cannot be read as a table: {exc}") from exc
    except ImportError as exc:  # no Parquet engine
        raise ValueError(f"{p.name}: cannot be read as a table: {exc}") from exc
    frame = frame.rename(columns=rename)
    _no_duplicates(list(map(str, frame.columns)), f"{p.name} after renaming")
    if schema is not None:
        for col in schema.of_kind("float"):
            if col in frame.columns:
                try:
                    values, note = parse_number_column(frame[col], decimal=decimal, table=p.name, column=col)
                except AmbiguousNumberFormat as exc:
                    raise DataValidationError(str(exc), table=schema.name, column=col) from exc
                if note is not None:
                    frame[col] = values
                    notes.append(note)
    frame.attrs["read_notes"] = notes
    return frame


def _check_text(p: Path, encoding: str | None) -> str | None:
    """Refuse a file named .csv that is not text (a workbook, an image: every byte would be read
    as a garbled header); return the encoding to read it with (UTF-16 when it starts with a
    UTF-16 byte-order mark, as Excel's "Unicode Text" does)."""
    with p.open("rb") as f:
        head = f.read(4096)
    for magic, what in _NOT_TEXT.items():
        if head.startswith(magic):
            raise ValueError(f"{p.name}: not a CSV file: it is {what}")
    if encoding is None and head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if encoding is None and b"\x00" in head:
        raise ValueError(f"{p.name}: not a CSV file: it holds binary data (NUL bytes); export the table "
                         "as CSV UTF-8, or give its encoding if it is UTF-16/32 text")
    return encoding


def _read_csv(p: Path, name: str, schema: Schema | None, rename: dict[str, str], ids: set[str],
              encoding: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Read a CSV file: separator from the header, UTF-8 else Windows-1252 (module docstring)."""
    notes: list[str] = []
    tried = [encoding] if encoding else ["utf-8", "cp1252"]
    for i, enc in enumerate(tried):
        notes.clear()  # a header note from a failed encoding
        try:
            first = pd.read_csv(p, sep="\x1f", header=None, nrows=1, dtype=str, keep_default_na=False,
                                quoting=3, encoding=enc).iloc[0, 0]
            known = set(schema.names if schema is not None else ()) | set(rename)
            sep = "\t" if name.endswith(".tsv") else detect_separator(str(first), known)
            header = pd.read_csv(p, sep=sep, header=None, nrows=1, dtype=str,
                                 keep_default_na=False, encoding=enc).iloc[0].tolist()
            _no_duplicates(header, p.name)
            spelt = _header_spellings(header, schema, rename, p.name, notes)
            is_id = {c: c in ids or spelt.get(c) in ids for c in header}
            frame = pd.read_csv(
                p, sep=sep, dtype={c: str for c in header if is_id[c]}, keep_default_na=False,
                na_values={c: sorted(STR_NA_VALUES) for c in header if not is_id[c]}, encoding=enc,
            ).rename(columns=spelt)
        except UnicodeDecodeError:
            if i + 1 < len(tried):
                continue
            raise
        if enc == "cp1252" and encoding is None:
            notes.append(f"{p.name}: not UTF-8; read as Windows-1252 (Excel's CSV on Windows); "
                         "give the encoding if that is wrong")
        if sep != ",":
            notes.append(f"{p.name}: fields separated by {'tab' if sep == chr(9) else repr(sep)}")
        return frame, notes
    raise AssertionError("unreachable")


def _header_key(name: str) -> str:
    """A header as compared with the schema's names: lower case, runs of spaces, ``-`` and
    ``_`` as one ``_``, none at the ends (``" Product ID "`` -> ``"product_id"``), without a
    byte-order mark (``"\ufeff"``, or ``"ï»¿"``: a UTF-8 one read as Windows-1252)."""
    name = name.lstrip("\ufeff").removeprefix("\u00ef\u00bb\u00bf")
    return re.sub(r"[\s_\-]+", "_", name.strip().lower()).strip("_")


def _header_spellings(header: list[str], schema: Schema | None, rename: dict[str, str], where: str,
                      notes: list[str]) -> dict[str, str]:
    """``{header in the file: schema name}`` for the headers that name a schema column but
    for case, spaces, ``-`` or ``_`` (noted in ``notes``); none for a name the file already has
    exactly, or one the caller renames. Two headers reading as one column are an error."""
    if schema is None:
        return {}
    exact = {rename.get(h, h) for h in header}
    wanted = {_header_key(n): n for n in schema.names if n not in exact}
    out: dict[str, str] = {}
    for h in header:
        target = wanted.get(_header_key(h)) if h not in rename and h not in schema.names else None
        if target is None:
            continue
        if target in out.values():
            first = next(k for k, v in out.items() if v == target)
            raise DataValidationError(
                f"{where}: columns {first!r} and {h!r} both read as {target!r}; keep one (rename or "
                "delete the other)", column=target)
        out[h] = target
    if out:
        notes.append(f"{where}: column(s) " + ", ".join(f"{k!r} read as {v!r}" for k, v in out.items()))
    return out


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
    decimal: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a transactions file (unvalidated); see :data:`bundleopt.data.schemas.TRANSACTIONS`.

    ``date_format`` (a strptime format such as ``"%d/%m/%Y"``, ``"ISO8601"``, or an
    epoch unit ``"s"``, ``"ms"``, ``"us"``, ``"ns"``) and ``dayfirst`` say how to read
    ``timestamp``; by default validation detects it (:mod:`bundleopt.data.dates`).
    ``decimal`` and ``encoding`` as in :func:`read_table`.
    """
    return _read_dates(read_table(path, TRANSACTIONS, columns=columns, decimal=decimal, encoding=encoding),
                       date_format, dayfirst)


def load_catalog(path: str | Path, *, columns: Mapping[str, str] | None = None,
                 decimal: str | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Read a catalog file (unvalidated); see :data:`bundleopt.data.schemas.CATALOG`.

    ``decimal`` and ``encoding`` as in :func:`read_table`.
    """
    return read_table(path, CATALOG, columns=columns, decimal=decimal, encoding=encoding)


def load_sessions(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a sessions (visits) file (unvalidated); see :data:`bundleopt.data.schemas.SESSIONS`.

    ``date_format``, ``dayfirst``, ``decimal`` and ``encoding`` as in :func:`load_transactions`.
    """
    return _read_dates(read_table(path, SESSIONS, columns=columns, decimal=decimal, encoding=encoding),
                       date_format, dayfirst)
