"""How a shop's export writes its table: the field separator and the numbers' format.

Spreadsheets and shop systems export the same table in several dialects. A European
Excel export separates fields with ``;`` and writes ``7,35`` for 7.35; a shop
system writes ``"€1,234.50"`` or ``1'234.50``. Read naively, the first is one column
and the second is text, and every row would be dropped. Here both are read as they
were meant, or refused when the meaning is not certain:

* **separator** (:func:`detect_separator`): of ``,`` ``;`` tab and ``|``, the one that
  splits the header into the most known column names (ties and no known name: ``,``);
* **numbers** (:func:`parse_number_column`): a currency sign or code before or after
  the number (``€ $ £ ¥ ₹``, ``EUR``, ``USD`` ...) is removed, and so are thousands
  separators (``,`` ``.`` ``'`` spaces) once the decimal mark is known. The decimal
  mark of a column is read from the values that show it:

  - a value with both ``.`` and ``,`` has its decimal mark last (``1.234,50``);
  - a mark that occurs twice in one value is a thousands separator (``1,234,567``);
  - a single ``,`` followed by other than three digits is a decimal comma (``7,35``);
  - a column whose commas are all ``d,ddd`` (``1,234``: a thousand, or 1.234?) and
    shows nothing else is **ambiguous** and refused, naming ``decimal=`` (the
    command line's ``--decimal``); so is a column that shows both marks as decimal.

  Cells that do not look like a number after this are left as they were, so that
  validation reports them with their row (nothing is dropped here).

What was done is returned as one line per column, for the cleaning notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["AmbiguousNumberFormat", "detect_separator", "parse_number_column"]

SEPARATORS = (",", ";", "\t", "|")

_CURRENCY = r"(?:[$€£¥₹]|[A-Z]{3}|R\$|CHF|kr\.?)"
_NUMBER = re.compile(
    rf"^(?P<sign1>[-+]?)\s*(?:{_CURRENCY}\s*)?(?P<sign2>[-+]?)\s*"
    r"(?P<body>\d[\d.,'\u00a0\u202f ]*\d|\d)"
    rf"\s*(?:{_CURRENCY})?\s*(?P<sign3>-?)$"
)
_THREE_AFTER_COMMA = re.compile(r"^\d{1,3},\d{3}$")


class AmbiguousNumberFormat(ValueError):
    """A number column whose decimal mark cannot be told from its values."""


def detect_separator(header_line: str, known: Iterable[str]) -> str:
    """The field separator of a CSV file from its first line.

    ``known`` are the column names the file may have (schema names and the keys of a
    renaming). The separator is the candidate that yields the most known names;
    ``","`` when none yields any (the file's own error then names what was found).
    """
    names = {n.strip().lower() for n in known}
    line = header_line.lstrip("\ufeff").rstrip("\r\n")
    best, hits = ",", 0
    for sep in SEPARATORS:
        found = sum(f.strip().strip('"').strip().lower() in names for f in line.split(sep))
        if found > hits:
            best, hits = sep, found
    return best


def _decimal_of(body: str) -> str | None:
    """What one value says about its decimal mark: ``"."``, ``","``, ``"ambiguous"`` or None."""
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        return "." if body.rfind(".") > body.rfind(",") else ","
    if commas > 1:
        return "."
    if dots > 1:
        return ","
    if commas == 1:
        return "ambiguous" if _THREE_AFTER_COMMA.match(body) else ","
    if dots == 1:
        return "ambiguous" if re.match(r"^\d{1,3}\.\d{3}$", body) else "."
    return None


def parse_number_column(values: pd.Series, *, decimal: str | None = None,
                        table: str = "", column: str | None = None) -> tuple[pd.Series, str | None]:
    """Read a column of numbers written by a shop's export; see the module docstring.

    Returns the column (floats where a cell reads as a number, the original text
    elsewhere) and a note saying what was done (``None`` when nothing was).
    ``decimal`` (``"."`` or ``","``) settles the decimal mark; by default it is read
    from the values, and :class:`AmbiguousNumberFormat` is raised when they do not
    tell it. A column pandas already read as numbers is returned unchanged.
    """
    name = column if column is not None else str(values.name)
    where = f"{table}: column {name!r}" if table else f"column {name!r}"
    if decimal not in (None, ".", ","):
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values, None
    text = values.astype("string").str.strip()
    match = text.str.extract(_NUMBER)
    ok = match["body"].notna() & values.notna()
    if not ok.any():
        return values, None
    bodies = match.loc[ok, "body"].str.replace(r"[\u00a0\u202f ']", "", regex=True)
    mark = decimal
    if mark is None:
        said = {_decimal_of(b) for b in bodies.unique()} - {None}
        certain = said - {"ambiguous"}
        if len(certain) > 1:
            raise AmbiguousNumberFormat(
                f"{where} writes numbers with '.' and with ',' as the decimal mark "
                f"(e.g. {_example(bodies, '.')} and {_example(bodies, ',')}); give decimal='.' or "
                "decimal=',' (--decimal on the command line)")
        if certain:
            mark = certain.pop()
        elif "ambiguous" in said:
            raise AmbiguousNumberFormat(
                f"{where}: cannot tell the decimal mark of values such as "
                f"{bodies[bodies.map(_decimal_of) == 'ambiguous'].iloc[0]!r} (a thousands separator or "
                "a decimal mark?); give decimal='.' or decimal=',' (--decimal on the command line)")
        else:
            mark = "."
    thousands = "," if mark == "." else "."
    plain = bodies.str.replace(thousands, "", regex=False)
    if mark == ",":
        plain = plain.str.replace(",", ".", regex=False)
    negative = (match.loc[ok, ["sign1", "sign2", "sign3"]] == "-").any(axis=1)
    numbers = pd.to_numeric(plain, errors="coerce").astype(float)
    numbers = numbers.where(~negative, -numbers)
    good = numbers.notna() & np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan))
    out = values.astype(object).copy()
    out[good[good].index] = numbers[good].to_numpy()
    changed = _changes(text[ok][good], bodies[good], mark)
    if all(isinstance(v, float) for v in out[values.notna()]):
        out = out.astype(float)
    return out, (f"{where}: {changed}" if changed else None)


def _example(bodies: pd.Series, mark: str) -> str:
    hit = bodies[bodies.map(_decimal_of) == mark]
    return repr(hit.iloc[0]) if len(hit) else "?"


def _changes(read: pd.Series, bodies: pd.Series, mark: str) -> str:
    """One line saying how the column's text was read (empty when it was plain numbers)."""
    parts = []
    if (read.str.len() != bodies.str.len()).any() and read.str.contains(_CURRENCY, regex=True).any():
        parts.append("currency signs removed")
    if mark == "," and bodies.str.contains(",", regex=False).any():
        parts.append("',' read as the decimal mark")
    if bodies.str.contains("." if mark == "," else ",", regex=False).any() or (
            read.str.contains(r"\d['\u00a0\u202f ]\d", regex=True).any()):
        parts.append("thousands separators removed")
    return "; ".join(parts) + (f" (e.g. {read.iloc[0]!r})" if parts else "")
