"""A simulated market with a known true latent-class MNL that sells to arriving customers.

Offers ``o`` (singles and bundles) with costs ``c_o`` and a price ladder ``p[o, k]``;
segments ``s`` with shares ``w_s``, taste constants ``a[s, o]`` and price sensitivities
``b_s > 0``. A customer of segment s offered menu ``k(.)`` (a
:class:`~bundleopt.scenario.Decision`) buys offer o with probability::

    P[s, o] = exp(a_t[s, o] - b_s p[o, k(o)]) / (1 + sum_{o' on menu} exp(a_t[s, o'] - b_s p[o', k(o')]))

and buys nothing with probability ``1 / (1 + sum ...)`` (no-purchase utility 0), i.e. the
:class:`~bundleopt.scenario.Scenario` of :meth:`Market.scenario` with
``v[s, o, k] = exp(a_t[s, o] - b_s p[o, k])`` and ``v0[s] = 1``. Tastes may drift: the
constants follow a Gaussian random walk ``a_t = a_0 + sum_{u=1..t} eps_u``,
``eps_u ~ N(0, drift_sd^2)`` i.i.d. per (segment, offer), drawn from ``drift_seed``.

:meth:`Market.sell` draws ``n`` customers (segment ``~ w``, then one MNL choice each) and
returns the sales in long format (one row per customer x alternative on their menu, the
no-purchase alternative :data:`NO_PURCHASE` included). The formulation is in
``formulations/adaptive.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.data.schemas import NO_PURCHASE
from bundleopt.scenario import NOT_OFFERED, Constraints, Decision, Scenario


@dataclass(frozen=True, eq=False)
class Catalog:
    """What a seller knows: offers, ladder, costs, rules, segment ids (no tastes)."""

    offer_ids: tuple[Any, ...]
    components: tuple[tuple[Any, ...], ...]
    costs: np.ndarray  # (O,)
    prices: np.ndarray  # (O, K), NaN = no such level
    segment_ids: tuple[Any, ...]
    constraints: Constraints
    personalised: bool
    observed_segments: bool
    list_level: np.ndarray  # (O,)

    def __post_init__(self) -> None:
        if self.personalised and not self.observed_segments:
            raise ValueError("personalised prices need observed segments: pass observed_segments=True "
                             "or personalised=False")

    @property
    def n_offers(self) -> int:
        return len(self.offer_ids)

    def scenario(self, v: np.ndarray, v0: np.ndarray, weights: np.ndarray,
                 segment_ids: Sequence[Any] | None = None, personalised: bool | None = None) -> Scenario:
        """A :class:`Scenario` of this catalog with the given preference weights."""
        return Scenario.from_arrays(
            v, v0, self.prices, self.costs, weights,
            personalised=self.personalised if personalised is None else personalised,
            offer_ids=self.offer_ids, components=self.components,
            segment_ids=self.segment_ids if segment_ids is None else segment_ids,
            constraints=self.constraints, list_level=self.list_level,
        )


@dataclass(frozen=True, eq=False)
class Market:
    """The true market: latent-class MNL tastes over a catalog, optionally drifting.

    Attributes:
        catalog: the seller's view (offers, ladder, costs, rules, segments).
        tastes: ``a_0[s, o]`` (S, O), the taste constants at period 0.
        price_sensitivity: ``b_s`` (S,), > 0.
        shares: ``w_s`` (S,), summing to 1.
        drift_sd: standard deviation of the per-period random-walk step of ``a``.
        drift_seed: seed of the drift path (the path is a property of the market).
    """

    catalog: Catalog
    tastes: np.ndarray
    price_sensitivity: np.ndarray
    shares: np.ndarray
    drift_sd: float = 0.0
    drift_seed: int = 0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        S = len(self.catalog.segment_ids)
        n_off = self.catalog.n_offers
        a = np.asarray(self.tastes, dtype=float)
        b = np.asarray(self.price_sensitivity, dtype=float).reshape(-1)
        w = np.asarray(self.shares, dtype=float).reshape(-1)
        if a.shape != (S, n_off):
            raise ValueError(f"tastes must have shape (segments, offers) = {(S, n_off)}, got {a.shape}")
        if b.shape != (S,) or not np.all(np.isfinite(b)) or np.any(b <= 0):
            raise ValueError(f"price_sensitivity must be {S} finite numbers > 0, got {b}")
        if w.shape != (S,) or np.any(w < 0) or not np.isclose(w.sum(), 1.0):
            raise ValueError(f"shares must be {S} non-negative numbers summing to 1, got {w}")
        if not np.all(np.isfinite(a)):
            raise ValueError("tastes must be finite")
        if not (np.isfinite(self.drift_sd) and self.drift_sd >= 0):
            raise ValueError(f"drift_sd must be >= 0, got {self.drift_sd!r}")
        object.__setattr__(self, "tastes", a)
        object.__setattr__(self, "price_sensitivity", b)
        object.__setattr__(self, "shares", w)

    # ------------------------------------------------------------------ truth
    @property
    def drifts(self) -> bool:
        return self.drift_sd > 0

    def tastes_at(self, period: int) -> np.ndarray:
        """``a_t[s, o] = a_0 + sum_{u=1..t} eps_u`` (S, O)."""
        if period < 0:
            raise ValueError(f"period must be >= 0, got {period}")
        if not self.drifts or period == 0:
            return self.tastes
        steps = np.random.default_rng(self.drift_seed).normal(0.0, self.drift_sd, (period, *self.tastes.shape))
        return self.tastes + steps.sum(axis=0)

    def scenario(self, period: int = 0) -> Scenario:
        """The true :class:`Scenario` at ``period``: ``v = exp(a_t - b p)``, ``v0 = 1``."""
        key = period if self.drifts else 0
        if key not in self._cache:
            a = self.tastes_at(period)
            p = np.nan_to_num(self.catalog.prices, nan=0.0)
            v = np.exp(a[:, :, None] - self.price_sensitivity[:, None, None] * p[None])
            v = np.where(np.isfinite(self.catalog.prices)[None], v, 0.0)
            S = len(self.catalog.segment_ids)
            self._cache[key] = self.catalog.scenario(v, np.ones(S), self.shares)
        return self._cache[key]

    # ------------------------------------------------------------------ selling
    def sell(self, decision: Decision, n_customers: int, period: int = 0,
             rng: np.random.Generator | int | None = None, first_obs: int = 0) -> pd.DataFrame:
        """Draw ``n_customers`` customers and their choices given the offered ``decision``.

        Returns the sales in long format, one row per (customer, alternative on the
        customer's menu), rows of a customer contiguous: ``obs`` (customer id, from
        ``first_obs``), ``period``, ``segment``, ``alt`` (offer id or :data:`NO_PURCHASE`),
        ``chosen`` (0/1), ``price`` (0 for no purchase), ``cost``.

        >>> m = benchmark_market(seed=0)
        >>> sales = m.sell(m.scenario().status_quo(), 100, rng=0)
        >>> sales["obs"].nunique(), int(sales.groupby("obs")["chosen"].sum().max())
        (100, 1)
        """
        from bundleopt.optimize.evaluation import evaluate

        if int(n_customers) != n_customers or n_customers < 1:
            raise ValueError(f"n_customers must be a positive integer, got {n_customers!r}")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        sc = self.scenario(period)
        levels = _check_decision(sc, decision)
        probs = evaluate(sc, Decision(levels)).probabilities  # (S, O)
        S = sc.n_segments
        n = int(n_customers)
        seg = rng.choice(S, size=n, p=self.shares)
        order = np.argsort(seg, kind="stable")
        cat = self.catalog
        frames = []
        for s in range(S):
            idx = order[seg[order] == s]
            if idx.size == 0:
                continue
            menu = levels[s if levels.shape[0] > 1 else 0]
            on = np.flatnonzero(menu != NOT_OFFERED)
            p_menu = np.r_[1.0 - probs[s, on].sum(), probs[s, on]]
            pick = _categorical(rng, p_menu, idx.size)  # 0 = no purchase, i = on[i - 1]
            m = on.size + 1
            alt_ids = np.array([NO_PURCHASE, *[cat.offer_ids[o] for o in on]], dtype=object)
            price = np.r_[0.0, cat.prices[on, menu[on]]]
            cost = np.r_[0.0, cat.costs[on]]
            frames.append(pd.DataFrame({
                "obs": np.repeat(first_obs + idx, m),
                "period": period,
                "segment": np.repeat(np.array([cat.segment_ids[s]], dtype=object), idx.size * m),
                "alt": np.tile(alt_ids, idx.size),
                "chosen": (np.arange(m)[None, :] == pick[:, None]).reshape(-1).astype(np.int8),
                "price": np.tile(price, idx.size),
                "cost": np.tile(cost, idx.size),
            }))
        df = pd.concat(frames, ignore_index=True)
        return df.sort_values("obs", kind="stable", ignore_index=True)

    # ------------------------------------------------------------------ markets
    @classmethod
    def random(
        cls,
        n_products: int = 4,
        n_bundles: int = 2,
        n_segments: int = 2,
        n_levels: int = 5,
        *,
        seed: int = 0,
        max_offers: int | None = 3,
        personalised: bool = True,
        observed_segments: bool = True,
        no_purchase_share: float = 0.4,
        price_range: tuple[float, float] = (5.0, 20.0),
        ladder: tuple[float, float] = (0.7, 1.3),
        cost_ratio: tuple[float, float] = (0.35, 0.55),
        sensitivity: tuple[float, float] = (1.5, 4.0),
        taste_sd: float = 0.7,
        bundle_discount: float = 0.1,
        drift_sd: float = 0.0,
        constraints: Constraints | None = None,
    ) -> Market:
        """A random market (the generative model of ``formulations/adaptive.md``).

        List prices ``P_j ~ U(price_range)``, ladder ``p[o, k] = P_o * linspace(*ladder, K)``;
        costs ``c_j = P_j * U(cost_ratio)``; bundles of two distinct products with
        ``P_b = (1 - bundle_discount)(P_i + P_j)``, ``c_b = c_i + c_j``; sensitivities
        ``b_s = U(sensitivity) / mean_j P_j``; tastes ``a[s, j] = b_s P_j + N(0, taste_sd)``
        and for a bundle ``a[s, b] = b_s (P_i + P_j) + log(e^eta_i + e^eta_j)``; finally
        ``a[s, :]`` is shifted so that a share ``no_purchase_share`` of segment s buys
        nothing when every single is offered at list price.
        """
        if n_products < 2 and n_bundles:
            raise ValueError("bundles need at least two products")
        rng = np.random.default_rng(seed)
        P = rng.uniform(*price_range, n_products)
        c = P * rng.uniform(*cost_ratio, n_products)
        pairs: list[tuple[int, int]] = []
        all_pairs = [(i, j) for i in range(n_products) for j in range(i + 1, n_products)]
        if n_bundles > len(all_pairs):
            raise ValueError(f"at most {len(all_pairs)} two-product bundles with {n_products} products")
        for i in rng.permutation(len(all_pairs))[:n_bundles]:
            pairs.append(all_pairs[i])
        list_p = np.r_[P, [(1 - bundle_discount) * (P[i] + P[j]) for i, j in pairs]]
        costs = np.r_[c, [c[i] + c[j] for i, j in pairs]]
        prices = list_p[:, None] * np.linspace(*ladder, n_levels)[None, :]
        b = rng.uniform(*sensitivity, n_segments) / P.mean()
        eta = rng.normal(0.0, taste_sd, (n_segments, n_products))
        a_single = b[:, None] * P[None, :] + eta
        a_bundle = np.array([[b[s] * (P[i] + P[j]) + np.logaddexp(eta[s, i], eta[s, j]) for i, j in pairs]
                             for s in range(n_segments)]).reshape(n_segments, len(pairs))
        a = np.c_[a_single, a_bundle]
        list_level = np.full(len(list_p), int(np.argmin(np.abs(np.linspace(*ladder, n_levels) - 1.0))))
        v_list = np.exp(a[:, :n_products] - b[:, None] * prices[None, :n_products, list_level[0]])
        r = no_purchase_share
        a -= np.log(r / (1 - r) * v_list.sum(axis=1))[:, None]  # v0 -> 1
        shares = rng.dirichlet(np.full(n_segments, 2.0))
        offer_ids = tuple(f"p{j}" for j in range(n_products)) + tuple(f"b{i}" for i in range(len(pairs)))
        components = tuple((f"p{j}",) for j in range(n_products)) + tuple((f"p{i}", f"p{j}") for i, j in pairs)
        cons = constraints or Constraints()
        if max_offers is not None:
            cons = replace(cons, max_offers=max_offers)
        catalog = Catalog(
            offer_ids=offer_ids, components=components, costs=costs, prices=prices,
            segment_ids=tuple(f"s{s}" for s in range(n_segments)), constraints=cons,
            personalised=personalised, observed_segments=observed_segments, list_level=list_level,
        )
        return cls(catalog, a, b, shares, drift_sd=drift_sd, drift_seed=seed + 1)


def benchmark_market(seed: int = 0, drift_sd: float = 0.0, **kwargs: Any) -> Market:
    """The benchmark market of the issue: 4 products + 2 bundles, 2 observed segments,
    5 price levels (0.7x to 1.3x list), at most 3 offers per segment's menu, personalised."""
    return Market.random(4, 2, 2, 5, seed=seed, drift_sd=drift_sd, **kwargs)


def _check_decision(sc: Scenario, decision: Decision | np.ndarray) -> np.ndarray:
    levels = np.asarray(decision.levels if isinstance(decision, Decision) else decision, dtype=int)
    if levels.ndim != 2 or levels.shape[1] != sc.n_offers or levels.shape[0] not in (1, sc.n_menus):
        raise ValueError(f"decision must have shape ({sc.n_menus}, {sc.n_offers}), got {levels.shape}")
    on = levels != NOT_OFFERED
    if np.any((levels < NOT_OFFERED) | (levels >= sc.n_levels)):
        raise ValueError(f"decision levels must be in -1..{sc.n_levels - 1}")
    idx = np.broadcast_to(np.arange(sc.n_offers), levels.shape)
    if np.any(on & ~np.isfinite(sc.prices[idx, np.clip(levels, 0, None)])):
        raise ValueError("decision offers a price level that does not exist (NaN price)")
    return levels


def _categorical(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """``n`` i.i.d. draws of ``0..len(p)-1`` with probabilities ``p`` (inverse CDF)."""
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(n), side="right").astype(int)
