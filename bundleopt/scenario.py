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

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bundleopt.checks import flag, number
from bundleopt.constraints import Constraints
from bundleopt.scenario_checks import (
    _as_components,
    _check_finite_nonneg,
    _check_hashable,
    _check_list_level,
    _check_magnitudes,
    _check_shape,
)

NOT_OFFERED = -1


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

    @functools.cached_property
    def is_bundle(self) -> np.ndarray:
        """(O,) bool, read-only: offers with two or more components (computed once: rule
        checks read it per batch, and it is a Python loop over thousands of offers)."""
        out = np.array([len(c) > 1 for c in self.components], dtype=bool)
        out.setflags(write=False)
        return out

    @functools.cached_property
    def products(self) -> tuple[Any, ...]:
        """All component products, in order of first appearance (computed once)."""
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
