"""What validation removed and why: :class:`CleaningReport` (one :class:`CleaningEntry` per
table, reason and column, the removed rows kept), the clean tables (:class:`ValidatedData`),
and :class:`DataValidationError` for what cannot be cleaned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

__all__ = ["CleaningEntry", "CleaningReport", "DataValidationError", "Errors", "ValidatedData"]

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
