"""Column specifications of the tables bundleopt reads: catalog, transactions, sessions.

A schema is data: an ordered tuple of :class:`Column` specs. Validation
(:mod:`bundleopt.data.validation`) and loading (:mod:`bundleopt.data.io`) read them;
nothing else hard-codes column names.

Identifiers (product, order, customer, session ids) are normalised to ``str`` so
that ``"42"`` in a CSV and ``42`` in a Parquet file are the same product; ids
such as ``NA`` or ``null`` are ids, only an empty one is missing.
Extra columns (for example ``age_group``) are kept untouched.

>>> [c.name for c in CATALOG.required]
['product_id', 'unit_cost', 'list_price']
>>> [c.name for c in TRANSACTIONS.required]
['order_id', 'customer_id', 'timestamp', 'product_id', 'quantity', 'unit_price']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bundleopt.alternatives import NO_PURCHASE as NO_PURCHASE  # re-exported: defined once there

Kind = Literal["id", "float", "datetime", "str"]


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, kind, whether it is required, and a description."""

    name: str
    kind: Kind
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Schema:
    """An ordered set of columns describing one table."""

    name: str
    columns: tuple[Column, ...]

    @property
    def required(self) -> tuple[Column, ...]:
        """The columns a table must have."""
        return tuple(c for c in self.columns if c.required)

    @property
    def optional(self) -> tuple[Column, ...]:
        """The columns a table may have."""
        return tuple(c for c in self.columns if not c.required)

    @property
    def names(self) -> tuple[str, ...]:
        """All column names, required first in declaration order."""
        return tuple(c.name for c in self.columns)

    def of_kind(self, kind: Kind) -> tuple[str, ...]:
        """Names of the columns of one kind."""
        return tuple(c.name for c in self.columns if c.kind == kind)


CATALOG = Schema(
    "catalog",
    (
        Column("product_id", "id", True, "product identifier, unique"),
        Column("unit_cost", "float", True, "cost of one unit, >= 0"),
        Column("list_price", "float", True, "regular (shelf) price of one unit, > 0"),
        Column("category", "str", False, "product category"),
        Column("stock", "float", False, "units available over a period as long as the data's "
               "(the plan's horizon), >= 0; empty = no limit"),
    ),
)

TRANSACTIONS = Schema(
    "transactions",
    (
        Column("order_id", "id", True, "basket / order identifier"),
        Column("customer_id", "id", True, "customer identifier"),
        Column("timestamp", "datetime", True, "time of the order"),
        Column("product_id", "id", True, "product bought, must be in the catalog"),
        Column("quantity", "float", True, "units bought, > 0"),
        Column("unit_price", "float", True, "price paid per unit, > 0"),
    ),
)

SESSIONS = Schema(
    "sessions",
    (
        Column("session_id", "id", True, "visit identifier"),
        Column("customer_id", "id", True, "customer identifier"),
        Column("timestamp", "datetime", True, "time of the visit"),
        Column("order_id", "id", False, "order placed in the visit; missing = no purchase"),
    ),
)

SCHEMAS: dict[str, Schema] = {s.name: s for s in (CATALOG, TRANSACTIONS, SESSIONS)}
