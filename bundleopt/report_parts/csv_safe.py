"""CSV files a spreadsheet opens safely: text cells that would start a formula get a leading ``'``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["_csv_safe", "_to_csv"]


#: first characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet shows as text: ``'`` prefixed when it starts a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells, headers and index made formula-safe; numeric columns untouched."""
    safe = frame.copy()
    for i in range(safe.shape[1]):
        col = safe.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            safe.isetitem(i, col.map(_csv_cell))
    safe.columns = [_csv_cell(str(c)) if isinstance(c, str) else c for c in safe.columns]
    safe.index = safe.index.map(_csv_cell)
    return safe


def _to_csv(frame: pd.DataFrame, path: Path, index: bool = False) -> None:
    _csv_safe(frame).to_csv(path, index=index)
