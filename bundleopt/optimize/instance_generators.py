"""Random latent-class MNL pricing instances for tests and benchmarks.

The generative model follows the assortment-optimisation literature (Bront,
Méndez-Díaz & Vulcano 2009; Méndez-Díaz, Miranda-Bront, Vulcano & Zabala 2014):
each segment considers a random subset of the offers and chooses among them by an
MNL, extended here with a price ladder and with bundles.

Generative model (``rng = numpy.random.default_rng(seed)``; J singles, B bundles,
``J + B = n_offers``; S segments; K levels):

* list prices ``P_j ~ U(price_range)`` for singles;
* ladder discounts ``d_k = linspace(min_discount, 1, K)`` (``d = (1,)`` when K = 1),
  prices ``p[o, k] = P_o * d_k``; the list level is the top one (``k = K - 1``);
* single costs ``c_j = P_j * min_discount * U(cost_ratio)``, so every level of every
  offer sells above cost;
* bundles: distinct random component sets of 2 to ``max_bundle_size`` singles,
  ``c_b = sum_j c_j``, ``P_b = (1 - delta_b) * sum_j P_j`` with
  ``delta_b ~ U(bundle_discount)``; since ``delta_b <= 0.25`` and the cost ratio is at
  most 0.7, every bundle level also sells above cost;
* segments: weights ``w ~ Dirichlet(1, ..., 1)``; price sensitivities
  ``beta_s = b_s / mean_j P_j`` with ``b_s ~ U(sensitivity)`` (``beta_s > 0``);
* consideration sets: segment s considers offer o with probability ``consideration``
  (at least one single per segment); a bundle is considered when at least one of its
  components is;
* utilities ``u[s, o] = beta_s * R_o + eta[s, o]`` with taste shocks
  ``eta[s, j] ~ N(0, taste_sd)`` for singles, reference price ``R_j = P_j``; for a
  bundle ``R_b = sum_j P_j`` (customers value it as its components) and
  ``eta[s, b] = log sum_{j in b, considered} exp(eta[s, j]) + N(synergy, synergy_sd)``,
  so a bundle's utility can exceed its components';
* preference weights ``v[s, o, k] = exp(u[s, o] - beta_s p[o, k])`` for considered
  offers, 0 otherwise;
* no-purchase weights ``v0[s] = r / (1 - r) * sum_{singles j} v[s, j, list]`` with
  ``r = no_purchase_share``: with all singles at list price, a share r of segment s
  buys nothing.

:func:`ladder_instance` is a second generator (singles on a ladder around list price),
not used to tune the solver.
"""

from __future__ import annotations

from dataclasses import replace
from math import comb

import numpy as np

from bundleopt.scenario import Constraints, Scenario

__all__ = ["ladder_instance", "random_instance"]


def random_instance(
    n_offers: int,
    n_segments: int,
    n_levels: int,
    max_offers: int | None = None,
    *,
    n_bundles: int = 0,
    personalised: bool = False,
    seed: int = 0,
    constraints: Constraints | None = None,
    consideration: float = 0.7,
    no_purchase_share: float = 0.4,
    price_range: tuple[float, float] = (5.0, 20.0),
    min_discount: float = 0.7,
    cost_ratio: tuple[float, float] = (0.4, 0.7),
    sensitivity: tuple[float, float] = (1.5, 4.0),
    taste_sd: float = 1.0,
    bundle_discount: tuple[float, float] = (0.05, 0.25),
    max_bundle_size: int = 3,
    synergy: float = 0.0,
    synergy_sd: float = 0.5,
    market_size: float = 1.0,
) -> Scenario:
    """A random latent-class MNL scenario (generative model in the module docstring).

    ``n_offers`` counts all offers: ``n_offers - n_bundles`` singles (offer ids
    ``"p0", "p1", ...``, each the single of the product with the same id) followed by
    ``n_bundles`` bundles (``"b0", ...``). ``max_offers`` is a shortcut for
    ``Constraints(max_offers=...)``; ``constraints`` sets the other rules.

    >>> sc = random_instance(6, 3, 4, max_offers=3, n_bundles=2, seed=1)
    >>> sc.n_offers, sc.n_segments, sc.n_levels, int(sc.is_bundle.sum())
    (6, 3, 4, 2)
    """
    n_singles = n_offers - n_bundles
    _check_sizes(n_offers, n_segments, n_levels, n_bundles, n_singles, max_bundle_size)
    if not 0.0 < consideration <= 1.0:
        raise ValueError(f"consideration must be in (0, 1], got {consideration}")
    if not 0.0 < no_purchase_share < 1.0:
        raise ValueError(f"no_purchase_share must be in (0, 1), got {no_purchase_share}")
    if not 0.0 < min_discount <= 1.0:
        raise ValueError(f"min_discount must be in (0, 1], got {min_discount}")
    if not (0.0 <= cost_ratio[0] <= cost_ratio[1] <= 0.7):
        raise ValueError(f"cost_ratio must satisfy 0 <= lo <= hi <= 0.7, got {cost_ratio}")
    if not (0.0 <= bundle_discount[0] <= bundle_discount[1] <= 0.25):
        raise ValueError(f"bundle_discount must satisfy 0 <= lo <= hi <= 0.25, got {bundle_discount}")
    if not (0.0 < sensitivity[0] <= sensitivity[1]):
        raise ValueError(f"sensitivity must satisfy 0 < lo <= hi, got {sensitivity}")
    if not (0.0 < price_range[0] <= price_range[1]):
        raise ValueError(f"price_range must satisfy 0 < lo <= hi, got {price_range}")

    rng = np.random.default_rng(seed)
    list_single = rng.uniform(*price_range, size=n_singles)
    cost_single = list_single * min_discount * rng.uniform(*cost_ratio, size=n_singles)
    comps = _bundle_components(rng, n_singles, n_bundles, max_bundle_size)

    list_bundle = np.array([list_single[list(c)].sum() for c in comps])
    list_bundle = list_bundle * (1.0 - rng.uniform(*bundle_discount, size=n_bundles))
    cost_bundle = np.array([cost_single[list(c)].sum() for c in comps])
    ref_bundle = np.array([list_single[list(c)].sum() for c in comps])

    list_price = np.concatenate([list_single, list_bundle])
    costs = np.concatenate([cost_single, cost_bundle])
    ref_price = np.concatenate([list_single, ref_bundle])
    discounts = np.linspace(min_discount, 1.0, n_levels) if n_levels > 1 else np.ones(1)
    prices = list_price[:, None] * discounts[None, :]

    weights = rng.dirichlet(np.ones(n_segments))
    beta = rng.uniform(*sensitivity, size=n_segments) / list_single.mean()
    considered = rng.random((n_segments, n_singles)) < consideration
    nobody = ~considered.any(axis=1)
    considered[nobody, rng.integers(n_singles, size=int(nobody.sum()))] = True
    eta_single = rng.normal(0.0, taste_sd, size=(n_segments, n_singles))

    eta_bundle = np.zeros((n_segments, n_bundles))
    considered_bundle = np.zeros((n_segments, n_bundles), dtype=bool)
    for b, comp in enumerate(comps):
        idx = list(comp)
        considered_bundle[:, b] = considered[:, idx].any(axis=1)
        with np.errstate(divide="ignore"):
            logsum = np.log(np.where(considered[:, idx], np.exp(eta_single[:, idx]), 0.0).sum(axis=1))
        eta_bundle[:, b] = logsum + rng.normal(synergy, synergy_sd, size=n_segments)
    eta = np.concatenate([eta_single, eta_bundle], axis=1)
    consider = np.concatenate([considered, considered_bundle], axis=1)

    utility = beta[:, None] * ref_price[None, :] + np.where(consider, eta, 0.0)
    v = np.exp(utility[:, :, None] - beta[:, None, None] * prices[None, :, :])
    v = np.where(consider[:, :, None], v, 0.0)
    v0 = no_purchase_share / (1.0 - no_purchase_share) * v[:, :n_singles, -1].sum(axis=1)

    product_ids = [f"p{j}" for j in range(n_singles)]
    offer_ids = product_ids + [f"b{b}" for b in range(n_bundles)]
    components = [(pid,) for pid in product_ids] + [tuple(product_ids[j] for j in c) for c in comps]
    constraints = constraints or Constraints()
    if max_offers is not None:
        constraints = replace(constraints, max_offers=max_offers)
    return Scenario(
        offer_ids=tuple(offer_ids),
        components=tuple(components),
        costs=costs,
        prices=prices,
        v=v,
        v0=v0,
        weights=weights,
        segment_ids=tuple(f"s{s}" for s in range(n_segments)),
        personalised=personalised,
        constraints=constraints,
        market_size=market_size,
        list_level=np.full(n_offers, n_levels - 1),
    )


def _check_sizes(
    n_offers: int, n_segments: int, n_levels: int, n_bundles: int, n_singles: int, max_bundle_size: int
) -> None:
    """Raise ``ValueError`` for sizes no instance can have."""
    for name, value in (("n_offers", n_offers), ("n_segments", n_segments), ("n_levels", n_levels)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if int(n_bundles) != n_bundles or n_bundles < 0:
        raise ValueError(f"n_bundles must be a non-negative integer, got {n_bundles!r}")
    if n_bundles and n_singles < 2:
        raise ValueError(
            f"n_bundles={n_bundles} needs at least 2 singles, but n_offers - n_bundles = {n_singles}"
        )
    if n_bundles and max_bundle_size < 2:
        raise ValueError(f"max_bundle_size must be >= 2, got {max_bundle_size}")


def _bundle_components(
    rng: np.random.Generator, n_singles: int, n_bundles: int, max_size: int
) -> list[tuple[int, ...]]:
    """``n_bundles`` distinct sorted component sets of 2..max_size singles."""
    max_size = min(max_size, n_singles)
    sizes = range(2, max_size + 1)
    available = sum(comb(n_singles, k) for k in sizes)
    if n_bundles > available:
        raise ValueError(
            f"n_bundles={n_bundles} exceeds the {available} distinct bundles of 2..{max_size} "
            f"of {n_singles} singles"
        )
    seen: set[tuple[int, ...]] = set()
    out: list[tuple[int, ...]] = []
    while len(out) < n_bundles:
        size = int(rng.integers(2, max_size + 1))
        comp = tuple(sorted(rng.choice(n_singles, size=size, replace=False).tolist()))
        if comp not in seen:
            seen.add(comp)
            out.append(comp)
    return out


def ladder_instance(n_offers: int, n_segments: int, max_offers: int | None = None, *,
                    seed: int = 0, ladder: tuple[float, ...] = (0.8, 0.9, 1.0, 1.1, 1.2)) -> Scenario:
    """A second generator, not used to tune the solver (issue-14 speed goals):

    list price ``U(10, 50)``, cost ``= list x U(0.4, 0.7)``, prices ``list x ladder``
    (above list too), segment weights ``Dirichlet(1)``, price sensitivity
    ``beta_s ~ U(4, 12)`` per unit of ``price / list``, taste ``a_so ~ N(0, 1) + beta_s``,
    so ``v[s, o, k] = exp(a_so - beta_s p_ok / list_o)``, and no-purchase weight
    ``v0_s ~ U(2, 6)``. Singles only, uniform prices.

    >>> sc = ladder_instance(10, 3, 4, seed=1)
    >>> sc.n_offers, sc.n_segments, sc.n_levels
    (10, 3, 5)
    """
    rng = np.random.default_rng([seed, 2])
    lists = rng.uniform(10.0, 50.0, size=n_offers)
    costs = lists * rng.uniform(0.4, 0.7, size=n_offers)
    prices = lists[:, None] * np.asarray(ladder, dtype=float)[None]
    weights = rng.dirichlet(np.ones(n_segments))
    beta = rng.uniform(4.0, 12.0, size=n_segments)
    taste = rng.normal(0.0, 1.0, size=(n_segments, n_offers)) + beta[:, None]
    v = np.exp(taste[:, :, None] - beta[:, None, None] * (prices / lists[:, None])[None])
    v0 = rng.uniform(2.0, 6.0, size=n_segments)
    return Scenario.from_arrays(v, v0, prices, costs, weights, personalised=False,
                                constraints=Constraints(max_offers=max_offers))
