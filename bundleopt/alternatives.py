"""Names every layer shares about the alternatives of a choice, defined once at the bottom
of the package so that data, choice models and the planner can all import them."""

from __future__ import annotations

#: Identifier of the no-purchase alternative in long-format and menu-grouped choice data.
NO_PURCHASE = "__none__"

__all__ = ["NO_PURCHASE"]
