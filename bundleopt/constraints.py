"""Business rules of a pricing scenario (:class:`Constraints`): plain, validated data.

The rows each rule adds to the model, its exact check and its other properties are the
rule registry's (:mod:`bundleopt.optimize.rules`); the maths is ``formulations/rules.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bundleopt.checks import number
from bundleopt.scenario_checks import _nonneg_number

__all__ = ["Constraints"]


@dataclass(frozen=True)
class Constraints:
    """Business rules. ``None`` switches a rule off.

    Attributes
    ----------
    max_offers : C, most offers on a menu (per segment when personalised).
    max_bundles : C_b, most bundles on a menu (per segment when personalised).
    min_margin : per-offer margin floor: a level with ``(p - c) / p < min_margin``
        is never offered (dropped before the model is built).
    min_margin_rate : m, aggregate expected margin rate,
        ``sum (p - c) v z >= m * sum p v z``, per segment or overall
        (``margin_rate_scope``).
    max_bundles_per_product : r, each product is a component of at most r offered
        bundles (per menu).
    min_bundle_discount : d_min, no-arbitrage: an offered bundle costs at most
        ``(1 - d_min) * sum of its components' prices`` (a component's price is its
        chosen price on the same menu, or its list price when it is not offered).
        ``0.0`` is plain no-arbitrage.
    max_bundle_discount : d_max, an offered bundle costs at least
        ``(1 - d_max) * sum of its components' prices``.
    max_cannibalisation : gamma, expected standalone sales of each protected
        product stay at least ``(1 - gamma)`` of its reference sales
        (:meth:`Scenario.reference_sales`: all singles at list price, no bundles).
    protected_products : products the cannibalisation cap applies to
        (None = every product that has a single offer).
    max_price_spread : delta, personalised prices of one offer across two segments
        that are both offered it satisfy ``p_s <= (1 + delta) p_s'``.
    stock : product id -> units available; expected units of the product (through
        singles and bundles) times ``Scenario.market_size`` stay at most its stock.
    must_offer : products that must stay on sale: each one's single offer is on every
        menu (every segment's, when prices are personalised), at some allowed level.
    """

    max_offers: int | None = None
    max_bundles: int | None = None
    min_margin: float | None = None
    min_margin_rate: float | None = None
    margin_rate_scope: Literal["overall", "segment"] = "overall"
    max_bundles_per_product: int | None = None
    min_bundle_discount: float | None = None
    max_bundle_discount: float | None = None
    max_cannibalisation: float | None = None
    protected_products: tuple[Any, ...] | None = None
    max_price_spread: float | None = None
    stock: Mapping[Any, float] | None = None
    must_offer: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("max_offers", "max_bundles", "max_bundles_per_product"):
            value = getattr(self, name)
            if value is not None and number(f"Constraints.{name}", value, integer=True) < 0:
                raise ValueError(f"Constraints.{name} must be a non-negative integer, got {value!r}")
        for name in ("min_margin", "min_margin_rate", "min_bundle_discount",
                     "max_bundle_discount", "max_cannibalisation"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= number(f"Constraints.{name}", value) < 1.0:
                raise ValueError(f"Constraints.{name} must be in [0, 1), got {value!r}")
        if self.max_price_spread is not None and number(
            "Constraints.max_price_spread", self.max_price_spread
        ) < 0:
            raise ValueError(
                f"Constraints.max_price_spread must be >= 0, got {self.max_price_spread!r}"
            )
        if self.margin_rate_scope not in ("overall", "segment"):
            raise ValueError(
                "Constraints.margin_rate_scope must be 'overall' or 'segment', "
                f"got {self.margin_rate_scope!r}"
            )
        if (self.min_bundle_discount is not None and self.max_bundle_discount is not None
                and self.min_bundle_discount > self.max_bundle_discount):
            raise ValueError(
                f"Constraints.min_bundle_discount ({self.min_bundle_discount}) exceeds "
                f"max_bundle_discount ({self.max_bundle_discount})"
            )
        if self.stock is not None:
            if not isinstance(self.stock, Mapping):
                raise ValueError("Constraints.stock must be a mapping product id -> units, "
                                 f"got a {type(self.stock).__name__}")
            bad = {k: v for k, v in self.stock.items() if not _nonneg_number(v)}
            if bad:
                raise ValueError(f"Constraints.stock must be finite numbers >= 0; bad entries: {bad}")
        if self.protected_products is not None:
            if isinstance(self.protected_products, (str, bytes)) or not isinstance(
                self.protected_products, Iterable
            ):
                raise ValueError(
                    "Constraints.protected_products must be a collection of product ids, got "
                    f"{self.protected_products!r} (for one product write ({self.protected_products!r},))"
                )
            object.__setattr__(self, "protected_products", tuple(self.protected_products))
        if self.must_offer is not None:
            if isinstance(self.must_offer, (str, bytes)) or not isinstance(self.must_offer, Iterable):
                raise ValueError(
                    "Constraints.must_offer must be a collection of product ids, got "
                    f"{self.must_offer!r} (for one product write ({self.must_offer!r},))"
                )
            try:
                kept = tuple(dict.fromkeys(self.must_offer))  # each product once, in order
            except TypeError:
                raise ValueError(f"Constraints.must_offer must hold product ids, got {self.must_offer!r}") from None
            object.__setattr__(self, "must_offer", kept or None)  # () keeps nothing: off

    def active(self) -> list[str]:
        """Names of the rules that are switched on."""
        skip = {"margin_rate_scope", "protected_products"}
        return [f for f in self.__dataclass_fields__ if f not in skip and getattr(self, f) is not None]
