"""A pricing scenario: plain data describing offers, price ladders, segments and rules.

A :class:`Scenario` holds no solver objects; :func:`bundleopt.solve` turns it into a
model, solves it and returns a :class:`bundleopt.Solution`.

Notation (ARCHITECTURE.md): offers ``o = 0..O-1`` (single products and bundles), ladder
levels ``k = 0..K-1`` with prices ``p[o, k]`` (NaN = no such level), segments
``s = 0..S-1`` with weights ``w[s]`` (shares of customers, summing to 1),
no-purchase weights ``v0[s]`` and preference weights ``v[s, o, k]``. A customer of
segment ``s`` offered the set ``S`` at levels ``k(o)`` buys ``o`` with probability
``v[s, o, k(o)] / (v0[s] + sum_{o' in S} v[s, o', k(o')])``.

Decisions: with uniform prices there is one menu (offer set and price levels) for
all segments; with personalised prices each segment has its own menu, and the
per-segment rules (cardinality, margin rate with ``margin_rate_scope="segment"``)
apply to each segment's menu.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from bundleopt.checks import flag, number

NOT_OFFERED = -1
# Largest odds of buying against not buying in a segment, (sum of the offers' largest
# weights) / v0: beyond about 1e15 ~ 1 / (4.5 eps), v0 + sum v rounds to sum v in double
# precision, so the no-purchase share, and every rule or profit figure that depends on
# it, is lost in rounding. Such weights come from a utility with a wrong unit or sign.
_MAX_PURCHASE_ODDS = 1e15


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


@dataclass(frozen=True)
class Decision:
    """Which offers are on each menu and at which ladder level.

    ``levels[g, o]`` is the ladder level of offer o on menu g, or ``NOT_OFFERED``
    (-1). There is one menu (g = 0) for uniform prices and one per segment
    (g = s) when prices are personalised.
    """

    levels: np.ndarray

    def __post_init__(self) -> None:
        raw = np.asarray(self.levels)
        if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and not np.all(raw == np.round(raw))):
            raise ValueError("Decision.levels must be whole numbers (a ladder level, or -1 for not "
                             f"offered), got {raw.ravel()[:10].tolist()}")
        levels = raw.astype(int)
        if levels.ndim != 2:
            raise ValueError(f"Decision.levels must be 2-D (menus x offers), got shape {levels.shape}")
        if np.any(levels < NOT_OFFERED):
            g, o = np.argwhere(levels < NOT_OFFERED)[0]
            raise ValueError(f"Decision.levels[{g}, {o}] = {levels[g, o]}: a level is >= 0, or -1 for not offered")
        object.__setattr__(self, "levels", levels)

    def menu_of(self, segment: int) -> np.ndarray:
        """Levels seen by a segment (row ``segment`` when personalised, else row 0)."""
        return self.levels[segment if self.levels.shape[0] > 1 else 0]


@dataclass(frozen=True)
class Scenario:
    """Offers x price ladder x segments, with preference weights and rules.

    Build one with :meth:`from_arrays` (numpy arrays) or :meth:`from_models`
    (fitted choice models).
    """

    offer_ids: tuple[Any, ...]
    components: tuple[tuple[Any, ...], ...]
    costs: np.ndarray  # (O,)
    prices: np.ndarray  # (O, K), NaN where an offer has fewer levels
    v: np.ndarray  # (S, O, K)
    v0: np.ndarray  # (S,)
    weights: np.ndarray  # (S,)
    segment_ids: tuple[Any, ...]
    personalised: bool = False
    constraints: Constraints = field(default_factory=Constraints)
    market_size: float = 1.0
    list_level: np.ndarray | None = None  # (O,) ladder index of the list price

    # ------------------------------------------------------------------ sizes
    @property
    def n_segments(self) -> int:
        return self.v.shape[0]

    @property
    def n_offers(self) -> int:
        return self.v.shape[1]

    @property
    def n_levels(self) -> int:
        return self.v.shape[2]

    @property
    def n_menus(self) -> int:
        """Number of menus a decision chooses: S when personalised, else 1."""
        return self.n_segments if self.personalised else 1

    @property
    def is_bundle(self) -> np.ndarray:
        """(O,) bool: offers with two or more components."""
        return np.array([len(c) > 1 for c in self.components])

    @property
    def products(self) -> tuple[Any, ...]:
        """All component products, in order of first appearance."""
        return tuple(dict.fromkeys(p for comp in self.components for p in comp))

    def single_offer(self) -> dict[Any, int]:
        """Product id -> index of its single (one-component) offer."""
        return {comp[0]: o for o, comp in enumerate(self.components) if len(comp) == 1}

    def list_prices(self) -> np.ndarray:
        """(O,) list price of each offer: ``prices[o, list_level[o]]``."""
        return self.prices[np.arange(self.n_offers), self.list_level]

    # ------------------------------------------------------------ derived data
    def allowed(self) -> np.ndarray:
        """(O, K) bool: levels that exist and pass the per-offer margin floor.

        A level is dropped when its price is NaN or ``(p - c) / p < min_margin``.
        """
        ok = np.isfinite(self.prices)
        floor = self.constraints.min_margin
        if floor is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                margin = (self.prices - self.costs[:, None]) / self.prices
            ok &= margin >= floor - 1e-12
        return ok

    def status_quo(self) -> Decision:
        """All single products at list price, no bundles, one menu for everybody."""
        levels = np.where(self.is_bundle, NOT_OFFERED, self.list_level)
        return Decision(np.tile(levels, (self.n_menus, 1)))

    def reference_sales(self) -> np.ndarray:
        """(O,) expected standalone sales share of each offer under :meth:`status_quo`.

        ``ref[o] = sum_s w_s v[s,o,list] / (v0[s] + sum_{singles o'} v[s,o',list])``
        for single offers, 0 for bundles. The cannibalisation cap compares against it.
        """
        levels = self.status_quo().levels[0]
        on = levels >= 0
        idx = np.arange(self.n_offers)
        vv = np.where(on[None, :], self.v[:, idx, np.where(on, levels, 0)], 0.0)
        probs = vv / (self.v0[:, None] + vv.sum(axis=1, keepdims=True))
        return self.weights @ probs

    def with_constraints(self, **changes: Any) -> Scenario:
        """A copy with some rules changed, e.g. ``sc.with_constraints(max_offers=5)``."""
        return replace(self, constraints=replace(self.constraints, **changes))

    # ------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        v = np.asarray(self.v, dtype=float)
        if v.ndim != 3:
            raise ValueError(f"v must have shape (segments, offers, levels), got {v.shape}")
        n_s, n_o, n_k = v.shape
        prices = np.asarray(self.prices, dtype=float)
        costs = np.asarray(self.costs, dtype=float).reshape(-1)
        v0 = np.asarray(self.v0, dtype=float).reshape(-1)
        weights = np.asarray(self.weights, dtype=float).reshape(-1)
        _check_shape("prices", prices, (n_o, n_k))
        _check_shape("costs", costs, (n_o,))
        _check_shape("v0", v0, (n_s,))
        _check_shape("weights", weights, (n_s,))
        for name in ("offer_ids", "segment_ids"):
            _check_hashable(name, getattr(self, name))
        if len(self.offer_ids) != n_o or len(set(self.offer_ids)) != n_o:
            raise ValueError(f"offer_ids must be {n_o} distinct ids, got {list(self.offer_ids)[:10]}")
        if len(self.components) != n_o:
            raise ValueError(f"components must list {n_o} tuples, got {len(self.components)}")
        if len(self.segment_ids) != n_s or len(set(self.segment_ids)) != n_s:
            raise ValueError(f"segment_ids must be {n_s} distinct ids, got {list(self.segment_ids)[:10]}")
        object.__setattr__(self, "personalised", flag("personalised", self.personalised))
        if number("market_size", self.market_size) <= 0:
            raise ValueError(f"market_size must be > 0, got {self.market_size!r}")
        components = _as_components(self.components)
        for o, comp in enumerate(components):
            _check_hashable(f"components[{o}]", comp)
        _check_finite_nonneg("costs", costs)
        _check_finite_nonneg("weights", weights)
        if not np.isclose(weights.sum(), 1.0, atol=1e-9):
            raise ValueError(f"weights must sum to 1, got {weights.sum():.6g}")
        if np.any(~np.isfinite(v0)) or np.any(v0 <= 0):
            raise ValueError(f"v0 (no-purchase weights) must be finite and > 0, got {v0[:10]}")
        if np.isinf(prices).any():
            o, k = np.argwhere(np.isinf(prices))[0]
            raise ValueError(f"prices[{o}, {k}] (offer {self.offer_ids[o]!r}, level {k}) is {prices[o, k]}: "
                             "prices must be finite; only NaN marks a missing level")
        price_ok = ~np.isnan(prices)
        if np.any(prices[price_ok] <= 0):
            bad = np.argwhere(price_ok & (np.nan_to_num(prices) <= 0))[:5]
            raise ValueError(f"prices must be > 0 (NaN marks a missing level); bad (offer, level): {bad.tolist()}")
        if not price_ok.any(axis=1).all():
            bad = [self.offer_ids[o] for o in np.flatnonzero(~price_ok.any(axis=1))[:5]]
            raise ValueError(f"every offer needs at least one price level; none for offers {bad}")
        v_ok = np.where(price_ok[None], v, 0.0)
        if np.any(~np.isfinite(v_ok)) or np.any(v_ok < 0):
            raise ValueError("v (preference weights) must be finite and >= 0 on every existing price level")
        v = np.where(price_ok[None], v, 0.0)
        _check_magnitudes(v, v0, prices, self.segment_ids)
        singles = {comp[0] for comp in components if len(comp) == 1}
        for o, comp in enumerate(components):
            if len(comp) == 0:
                raise ValueError(f"offer {self.offer_ids[o]!r} has no components")
            if len(set(comp)) != len(comp):
                raise ValueError(f"offer {self.offer_ids[o]!r} lists a product twice: {comp}")
            missing = [p for p in comp if p not in singles] if len(comp) > 1 else []
            if missing:
                raise ValueError(
                    f"bundle {self.offer_ids[o]!r} has components without a single offer: {missing}; "
                    "each bundle component needs its own single offer (for no-arbitrage and cannibalisation)"
                )
        n_singles = sum(len(comp) == 1 for comp in components)
        if n_singles != len(singles):
            twice = [p for p in singles if sum(comp == (p,) for comp in components) > 1]
            raise ValueError(f"product {twice[0]!r} has more than one single offer; give each product one")
        if self.list_level is None:
            list_level = np.array([np.flatnonzero(price_ok[o])[np.nanargmax(prices[o][price_ok[o]])]
                                   for o in range(n_o)])
        else:
            list_level = _check_list_level(self.list_level, price_ok, self.offer_ids)
        c = self.constraints
        if not isinstance(c, Constraints):
            raise ValueError(f"constraints must be a bundleopt.Constraints, got {type(c).__name__}")
        if c.stock is not None:
            unknown = set(c.stock) - set(self.products)
            if unknown:
                raise ValueError(f"Constraints.stock names unknown products: {sorted(map(str, unknown))[:10]}")
        if c.protected_products is not None:
            unknown = set(c.protected_products) - singles
            if unknown:
                raise ValueError(
                    f"Constraints.protected_products names products without a single offer: {sorted(map(str, unknown))[:10]}"
                )
        if c.must_offer is not None:
            unknown = set(c.must_offer) - singles
            if unknown:
                raise ValueError(
                    f"Constraints.must_offer names products without a single offer: {sorted(map(str, unknown))[:10]}"
                )
        for name, value in (("v", v), ("v0", v0), ("prices", prices), ("costs", costs),
                            ("weights", weights), ("list_level", list_level)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "offer_ids", tuple(self.offer_ids))
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "segment_ids", tuple(self.segment_ids))

    # ----------------------------------------------------------- constructors
    @classmethod
    def from_arrays(
        cls,
        v: np.ndarray,
        v0: np.ndarray,
        prices: np.ndarray,
        costs: np.ndarray,
        weights: np.ndarray,
        max_offers: int | None = None,
        personalised: bool = False,
        *,
        offer_ids: Sequence[Any] | None = None,
        components: Sequence[Sequence[Any]] | None = None,
        segment_ids: Sequence[Any] | None = None,
        constraints: Constraints | None = None,
        market_size: float = 1.0,
        list_level: np.ndarray | None = None,
    ) -> Scenario:
        """Build a scenario from numpy arrays.

        ``v`` (segments x offers x levels), ``v0`` (segments), ``prices`` (offers x
        levels, NaN for missing levels), ``costs`` (offers), ``weights`` (segments).
        Offers default to single products ``0..O-1``; pass ``components`` (a tuple of
        product ids per offer) to declare bundles. ``max_offers`` is a shortcut for
        ``Constraints(max_offers=...)``.

        >>> import numpy as np
        >>> sc = Scenario.from_arrays(np.ones((1, 2, 1)), [1.0], [[2.0], [3.0]], [1.0, 1.0], [1.0])
        >>> sc.n_segments, sc.n_offers, sc.n_levels
        (1, 2, 1)
        """
        v = np.asarray(v, dtype=float)
        if v.ndim != 3:
            raise ValueError(f"v must have shape (segments, offers, levels), got {v.shape}")
        n_s, n_o, _ = v.shape
        offer_ids = tuple(range(n_o)) if offer_ids is None else tuple(offer_ids)
        if components is None:
            components = tuple((oid,) for oid in offer_ids)
        constraints = constraints or Constraints()
        if max_offers is not None:
            constraints = replace(constraints, max_offers=max_offers)
        flag("personalised", personalised)
        return cls(
            offer_ids=offer_ids,
            components=_as_components(components),
            costs=np.asarray(costs, dtype=float),
            prices=np.asarray(prices, dtype=float),
            v=v,
            v0=np.asarray(v0, dtype=float),
            weights=np.asarray(weights, dtype=float),
            segment_ids=tuple(range(n_s)) if segment_ids is None else tuple(segment_ids),
            personalised=personalised,
            constraints=constraints,
            market_size=market_size,
            list_level=list_level,
        )

    @classmethod
    def from_models(
        cls,
        models: Any,
        alts: Sequence[Any],
        prices: np.ndarray,
        costs: np.ndarray,
        *,
        weights: np.ndarray | None = None,
        price_feature: str = "price",
        features: Mapping[str, np.ndarray] | None = None,
        no_purchase: Any | None = None,
        max_offers: int | None = None,
        personalised: bool = False,
        offer_ids: Sequence[Any] | None = None,
        components: Sequence[Sequence[Any]] | None = None,
        segment_ids: Sequence[Any] | None = None,
        constraints: Constraints | None = None,
        market_size: float = 1.0,
        list_level: np.ndarray | None = None,
    ) -> Scenario:
        """Build a scenario from fitted choice models.

        ``models`` is one fitted :class:`~bundleopt.choice.MNL` (one segment) or
        :class:`~bundleopt.choice.LatentClassMNL` (one segment per class, weights =
        its ``shares_``), a :class:`~bundleopt.choice.MixedLogit` (its default number of
        coefficient draws as segments of equal weight), a :class:`~bundleopt.choice.TasteNet`
        or :class:`~bundleopt.choice.bundle_net.BundleNet` (customers sampled from its
        training population as segments of equal weight; a BundleNet also scores bundles
        never sold and, when ``components`` is not given, names each offer's components);
        pass ``model.as_segments(n_draws=...)`` to choose the number of draws; or a sequence of them (e.g. one MNL per observed segment;
        then ``weights``, one per resulting segment, is required). ``alts`` are the
        offers as the models' alternative ids; ``v`` and ``v0`` come from
        :func:`bundleopt.choice.preference_weights` with ``prices`` (O, K). Offer ids
        default to ``alts``; the other arguments are as in :meth:`from_arrays`.
        """
        from bundleopt.choice.draw_segments import segments_of
        from bundleopt.choice.weights import preference_weights, segment_weights

        many = isinstance(models, (list, tuple))
        group = list(models) if many else [models]
        if not group:
            raise ValueError("from_models needs at least one fitted model")
        if components is None and hasattr(group[0], "components_of"):  # a BundleNet names its bundles' parts
            components = group[0].components_of(alts)
        vs, v0s, ws = [], [], []
        for model in group:
            model = segments_of(model, offers=alts)  # draws or sampled customers become segments
            v, v0 = preference_weights(model, alts, prices, price_feature=price_feature,
                                       features=features, no_purchase=no_purchase)
            vs.append(v)
            v0s.append(v0)
            ws.append(segment_weights(model))
        if weights is None:
            if many and len(group) > 1:
                raise ValueError("from_models with several models needs weights (one per segment)")
            weights = np.concatenate(ws)
        return cls.from_arrays(
            np.concatenate(vs), np.concatenate(v0s), prices, costs, weights, max_offers,
            personalised, offer_ids=list(alts) if offer_ids is None else offer_ids,
            components=components, segment_ids=segment_ids, constraints=constraints,
            market_size=market_size, list_level=list_level,
        )


def _check_shape(name: str, arr: np.ndarray, shape: tuple[int, ...]) -> None:
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")


def _check_finite_nonneg(name: str, arr: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        raise ValueError(f"{name} must be finite and >= 0; bad entries at {bad[:5].tolist()}: {arr[bad[:5]]}")


def _check_hashable(name: str, ids: Any) -> None:
    """Ids are dictionary keys throughout (menus, tables): a list or array as an id is refused."""
    for i, x in enumerate(ids):
        try:
            hash(x)
        except TypeError:
            raise ValueError(f"{name}[{i}] = {x!r} is not a usable id (a {type(x).__name__}); "
                             "use strings or numbers") from None


def _nonneg_number(value: object) -> bool:
    try:
        return number("", value) >= 0
    except ValueError:
        return False


def _as_components(components: Any) -> tuple[tuple[Any, ...], ...]:
    """Components as a tuple of tuples of product ids; a string in place of a tuple is
    refused (``tuple("AB")`` would silently be the products ``"A"`` and ``"B"``)."""
    if isinstance(components, (str, bytes)) or not isinstance(components, Iterable):
        raise ValueError(f"components must be a sequence of tuples of product ids, got {components!r}")
    out = []
    for o, comp in enumerate(components):
        if isinstance(comp, (str, bytes)) or not isinstance(comp, Iterable):
            raise ValueError(f"components[{o}] must be a tuple of product ids, got {comp!r} "
                             f"(for a single product write ({comp!r},))")
        out.append(tuple(comp))
    return tuple(out)


def _check_list_level(list_level: Any, price_ok: np.ndarray, offer_ids: Sequence[Any]) -> np.ndarray:
    """``list_level`` as ints, each the index of an existing level of its offer's ladder;
    the message names the entry and its offer."""
    raw = np.asarray(list_level).reshape(-1)
    n_o, n_k = price_ok.shape
    _check_shape("list_level", raw, (n_o,))
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"list_level must be whole numbers (ladder indices), got {raw[:10].tolist()}")
    for o, value in enumerate(raw):
        if not (np.isfinite(value) and value == np.round(value)):
            raise ValueError(f"list_level[{o}] (offer {offer_ids[o]!r}) = {value.item()!r} is not a whole number")
        if not 0 <= value < n_k:
            raise ValueError(f"list_level[{o}] (offer {offer_ids[o]!r}) = {int(value)} is outside the "
                             f"ladder's levels 0..{n_k - 1}")
        if not price_ok[o, int(value)]:
            raise ValueError(f"list_level[{o}] (offer {offer_ids[o]!r}) = {int(value)} points to a "
                             "missing level (its price is NaN)")
    return raw.astype(int)


def _check_magnitudes(v: np.ndarray, v0: np.ndarray, prices: np.ndarray, segment_ids: Sequence[Any]) -> None:
    """Refuse preference weights that double arithmetic cannot carry.

    Only ratios matter to the choice probabilities (``v`` and ``v0`` of a segment may be
    scaled together), so two things are refused per segment: sums or revenue terms
    ``p * (v0 + sum_o max_k v)`` that overflow, and purchase odds
    ``sum_o max_k v[s, o, k] / v0[s]`` above ``_MAX_PURCHASE_ODDS`` (1e15), where the
    no-purchase share is lost in rounding. A ``v0`` below the smallest normal double
    is refused for the same reason. A ``v0`` far from 1 is fine: the solver's model is
    conditioned (``bundleopt.optimize.conditioning``), and scaling a segment's ``v`` and
    ``v0`` together leaves the plan unchanged (tested).
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        most = v.max(axis=2).sum(axis=1)
        total = v0 + most
        odds = most / v0
        revenue = total * np.nanmax(prices)
    for s, sid in enumerate(segment_ids):
        if not np.isfinite(revenue[s]) or v0[s] < np.finfo(float).tiny:
            raise ValueError(
                f"segment {sid!r}: preference weights overflow double arithmetic (v0 = {v0[s]:.3g}, "
                f"sum of the largest v = {most[s]:.3g}); only v / v0 matters, so divide the "
                "segment's v and v0 by a common factor"
            )
        if odds[s] > _MAX_PURCHASE_ODDS:
            raise ValueError(
                f"segment {sid!r}: preference weights {odds[s]:.3g} times the no-purchase weight v0 "
                f"(more than {_MAX_PURCHASE_ODDS:.0e}) leave the no-purchase share below double "
                "precision; check the utilities (a price coefficient's unit or sign?)"
            )
