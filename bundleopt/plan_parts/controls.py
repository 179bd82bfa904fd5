"""Shop-owner controls on the price ladder and the assortment.

* **maximum price change** (:func:`limit_price_change`): a single product's price moves
  at most ``max_change`` (a share of its list price) away from its list price; ladder
  levels further away are removed (NaN) for that product. Bundles are priced by the
  bundle rules (discounts), not by this control.
* **price points** (:func:`round_to_price_points`): every price other than the list
  price (the shop's own) is moved to the nearest price point: ``".99"`` (prices end in
  .99: 4.99, 12.99) or a step such as ``0.1`` (multiples of 0.10). Two levels of one
  offer that round to the same price keep the one nearer the list price.
* **products kept on sale** (:func:`keep_on_sale_rules`): the rule
  ``Constraints.must_offer`` (the registry's ``must_offer`` family,
  ``formulations/rules.md``): each kept product's single offer is on every menu (every
  segment's, when prices are personalised), at some allowed price level.
* **names** (:func:`offer_names`): the catalog's optional ``name`` column, for reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_LADDER", "check_price_points", "keep_on_sale_rules", "ladder_edge_counts", "ladder_edge_note",
           "limit_price_change", "offer_names", "round_to_price_points"]


#: the planner's price levels, as multiples of the list price: up to 20 % below and 20 %
#: above list (:class:`bundleopt.planning.config.PlanConfig`'s default ``ladder``)
DEFAULT_LADDER = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2)


def check_price_points(points: str | float | None) -> str | float | None:
    """``None`` (no rounding), ``".99"`` (endings) or a step ``> 0``; one-line error otherwise."""
    if points is None or (isinstance(points, str) and points.strip().lower() in ("", "none")):
        return None
    if isinstance(points, str) and points.strip() in (".99", "0.99", "x.99", "99"):
        return ".99"
    try:
        step = float(points)
    except (TypeError, ValueError):
        raise ValueError(f"price_points must be '.99' (prices ending in .99), a step such as 0.1, "
                         f"or None; got {points!r}") from None
    if not (math.isfinite(step) and step > 0):
        raise ValueError(f"price_points step must be > 0 (e.g. 0.1 for multiples of 0.10), got {points!r}")
    return step


def _round(p: np.ndarray, points: str | float) -> np.ndarray:
    if points == ".99":
        whole = np.maximum(np.round(p + 0.01), 1.0)
        return whole - 0.01
    step = float(points)
    return np.round(np.round(p / step) * step, 10)


def round_to_price_points(prices: np.ndarray, list_level: Sequence[int] | np.ndarray,
                          points: str | float | None) -> np.ndarray:
    """(O, K) prices with every level but the list level moved to the nearest price point.

    A level that rounds to 0 or to a price another level of the same offer already has
    is removed (NaN); of two equal prices the level nearer the list level stays.
    """
    points = check_price_points(points)
    out = np.array(prices, dtype=float)
    if points is None:
        return out
    n_off, n_lev = out.shape
    for o in range(n_off):
        lv = int(list_level[o])
        row = _round(out[o], points)
        row[lv] = prices[o, lv]
        row[~np.isfinite(out[o]) | (row <= 0)] = np.nan
        seen: set[float] = set()
        for k in sorted(range(n_lev), key=lambda k: (abs(k - lv), k)):
            if np.isnan(row[k]):
                continue
            key = round(float(row[k]), 8)
            if key in seen:
                row[k] = np.nan
            seen.add(key)
        out[o] = row
    return out


def limit_price_change(prices: np.ndarray, list_level: Sequence[int] | np.ndarray,
                       components: Sequence[tuple[Any, ...]],
                       max_change: float | Mapping[Any, float] | None) -> np.ndarray:
    """(O, K) prices with the levels of single products more than ``max_change`` from list removed.

    ``max_change``: one share for every product (``0.1``: within 10 % of list), or
    ``{product: share}`` for some products; ``None`` changes nothing. The list level
    always stays.
    """
    out = np.array(prices, dtype=float)
    if max_change is None:
        return out
    singles = {comp[0]: o for o, comp in enumerate(components) if len(comp) == 1}
    if isinstance(max_change, Mapping):
        unknown = sorted(str(p) for p in max_change if p not in singles)
        if unknown:
            raise ValueError(f"max_price_change names products not in the plan's data: {unknown[:10]}")
        limits = {singles[p]: v for p, v in max_change.items()}
    else:
        limits = {o: max_change for o in singles.values()}
    for o, share in limits.items():
        if isinstance(share, bool) or not isinstance(share, int | float) or not (
                math.isfinite(share) and share >= 0):
            raise ValueError(f"max_price_change must be a share >= 0 of the list price (0.1 = 10 %), "
                             f"got {share!r}")
        list_p = prices[o, int(list_level[o])]
        far = np.abs(out[o] / list_p - 1.0) > share + 1e-9
        far[int(list_level[o])] = False
        out[o, far] = np.nan
    return out


def keep_on_sale_rules(keep: Sequence[Any] | None, products: Sequence[Any],
                       rules: Mapping[str, Any]) -> dict[str, Any]:
    """Constraints fields that keep the products ``keep`` on sale (module docstring).

    ``rules`` are the plan's other Constraints fields: products the user already listed
    in ``must_offer`` stay, and the kept ones are added. Returns the fields to change
    (empty if none). A product not in ``products`` is a one-line ``ValueError``.
    """
    if not keep:
        return {}
    if isinstance(keep, str):
        keep = [keep]
    unknown = sorted(str(p) for p in keep if p not in set(products))
    if unknown:
        raise ValueError(f"keep_on_sale names products not in the plan's data (after max_products "
                         f"and cleaning): {unknown[:10]}")
    return {"must_offer": tuple(dict.fromkeys([*(rules.get("must_offer") or ()), *keep]))}


def offer_names(catalog: pd.DataFrame, components: Sequence[tuple[Any, ...]]) -> list[str]:
    """Display name of each offer: the catalog's ``name`` (joined with " + " for a bundle),
    or the product id where the catalog has no name."""
    names: dict[str, str] = {}
    if "name" in catalog.columns:
        col = catalog.set_index(catalog["product_id"].astype(str))["name"]
        names = {k: str(v) for k, v in col.items() if isinstance(v, str) and v.strip()}
    return [" + ".join(names.get(str(p), str(p)) for p in comp) for comp in components]


def ladder_edge_counts(scenario: Any, levels: np.ndarray) -> tuple[int, int]:
    """``(at_top, offered)``: offered prices at the top of their ladder where that top is
    above list price, and all offered prices (menu x offer pairs)."""
    top = np.array([np.flatnonzero(np.isfinite(row))[-1] for row in scenario.prices])
    above = scenario.prices[np.arange(scenario.n_offers), top] > scenario.list_prices() * (1 + 1e-9)
    on = levels != -1
    at_top = on & (levels == top[None, :]) & above[None, :]
    return int(at_top.sum()), int(on.sum())


def ladder_edge_note(scenario: Any, levels: np.ndarray) -> list[str]:
    """A note when offered prices sit at the top of their ladder above list price.

    There the model's optimum lies beyond the ladder: the plan would raise prices further
    if allowed, on the strength of a price response measured mostly at lower prices.
    """
    n_top, n_on = ladder_edge_counts(scenario, levels)
    if n_top == 0:
        return []
    return [f"{n_top} of {n_on} offered prices are at the top of their ladder, above list price: the "
            "model would raise them further; these prices lie beyond most observed prices (extrapolation), "
            "so check the backtest and consider max_price_change"]
