"""Which ladder levels get variables: the level mask and the dominated levels.

* :func:`level_mask`: existing levels, less those the margin floor or no-arbitrage
  rule can never allow;
* :func:`dominated_levels`: allowed levels a higher level of the same offer beats for
  every segment, safe to leave out when every active family is dominance-safe
  (:attr:`bundleopt.optimize.rules.RuleFamily.dominance_safe`);
* :func:`top_of_others`: the attraction sums both this and the model's bounds on the
  no-purchase share use.

Plain numpy on a :class:`~bundleopt.scenario.Scenario`; no Pyomo (the model builder and
the rows in :mod:`bundleopt.optimize.families` import this module, not the other way).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from bundleopt.scenario import Scenario

# Relative slack on price comparisons (no-arbitrage, discount band, fairness), so
# that a rule holding with equality in exact arithmetic is not lost to rounding.
PRICE_RTOL = 1e-9


def level_mask(scenario: Scenario, families: Iterable[str]) -> np.ndarray:
    """(O, K) ladder pairs that get variables.

    Existing levels (price not NaN); with ``margin_floor`` on, only levels with
    ``(p - c) / p >= min_margin`` (:meth:`Scenario.allowed`); with ``no_arbitrage``
    on, bundle levels that no choice of component prices can make legal are
    dropped too (see :func:`component_price_range`).
    """
    families = set(families)
    mask = scenario.allowed() if "margin_floor" in families else np.isfinite(scenario.prices)
    if "no_arbitrage" in families:
        lo, hi = component_price_range(scenario, mask)
        c = scenario.constraints
        for b in np.flatnonzero(scenario.is_bundle):
            for k in np.flatnonzero(mask[b]):
                p = scenario.prices[b, k]
                if c.min_bundle_discount is not None and p / (1 - c.min_bundle_discount) > hi[b] * (1 + PRICE_RTOL):
                    mask[b, k] = False
                if c.max_bundle_discount is not None and p / (1 - c.max_bundle_discount) < lo[b] * (1 - PRICE_RTOL):
                    mask[b, k] = False
    return mask



def dominated_levels(scenario: Scenario, mask: np.ndarray, cardinality: int | None) -> dict[tuple[int, int], int]:
    """Allowed levels ``(o, k)`` that a higher allowed level ``k'`` of o dominates: ``{(o, k): k'}``.

    Segment s's profit with o at level k and the other offers fixed
    (attraction ``B = v0_s + sum_other v``, margin-weighted attraction ``A >= 0``) is
    ``(A + a_k) / (B + v_k)`` with ``a_k = (p_ok - c_o) v_sok``. Moving o to ``k'`` never
    lowers it when ``v_sok >= v_sok'`` and
    ``A (v_k - v_k') + B (a_k' - a_k) + a_k' v_k - a_k v_k' >= 0``; linear in B, so it is
    checked at ``B = v0_s`` and at the largest B a menu of at most C offers reaches.
    When that holds for every segment, every menu using ``(o, k)`` is matched by one
    using ``(o, k')`` with at least the same profit, so ``(o, k)`` can be left out
    (``k'`` is followed to a level that is not itself dropped). Needs every allowed
    margin ``>= 0`` (``A >= 0``); otherwise nothing is dropped.
    """
    sc = scenario
    margin = np.nan_to_num(sc.prices - sc.costs[:, None])
    if np.any(margin[mask] < 0):
        return {}
    a = margin[None] * sc.v  # (S, O, K)
    vmax = np.where(mask[None], sc.v, 0.0).max(axis=2)
    c = sc.n_offers if cardinality is None else min(int(cardinality), sc.n_offers)
    # the largest B with o on: v0 + the C - 1 most attractive other offers (no cancellation)
    b_on = sc.v0[:, None] + top_of_others(vmax, c - 1)
    to: dict[tuple[int, int], int] = {}
    for o in range(sc.n_offers):
        ks = np.flatnonzero(mask[o])
        for k in ks:
            vk = sc.v[:, o, k]
            bmax = np.where(vk > 0, b_on[:, o], sc.v0)
            for k2 in ks:
                vk2 = sc.v[:, o, k2]
                if sc.prices[o, k2] <= sc.prices[o, k] or np.any(vk < vk2):
                    continue
                slope = a[:, o, k2] - a[:, o, k]
                const = a[:, o, k2] * vk - a[:, o, k] * vk2
                if np.all((slope * sc.v0 + const >= 0) & (slope * bmax + const >= 0)):
                    to[(int(o), int(k))] = int(k2)
                    break

    def final(o: int, k: int) -> int:
        while (o, k) in to:
            k = to[(o, k)]
        return k

    return {key: final(*key) for key in to}



def component_price_range(scenario: Scenario, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(O,) smallest and largest possible sum of a bundle's component prices.

    A component's price is its chosen (allowed) level or, not offered, its list
    price: ``S_min[b] = sum_j min(list_j, min_k p[j,k])``, ``S_max`` likewise with max.
    Zero for single offers.
    """
    single = scenario.single_offer()
    lists = scenario.list_prices()
    lo = np.zeros(scenario.n_offers)
    hi = np.zeros(scenario.n_offers)
    for b in np.flatnonzero(scenario.is_bundle):
        for j in scenario.components[b]:
            o = single[j]
            choices = np.append(scenario.prices[o][mask[o]], lists[o])
            lo[b] += choices.min()
            hi[b] += choices.max()
    return lo, hi



def top_of_others(vmax: np.ndarray, m: int) -> np.ndarray:
    """(S, O) sum of the ``m`` largest ``vmax[s, o']`` over the offers ``o' != o``.

    Computed without cancellation: for an offer inside the top ``m + 1`` it is the sum of
    the larger offers (ranks before it) plus that of the smaller ones up to rank ``m``,
    taken from sums accumulated from the small end; never ``total - vmax[o]``, which loses
    the other offers' attraction entirely when ``vmax[o]`` dwarfs it (an offer 1e13 times
    more attractive than the rest left ``L'`` 0.2% above the true no-purchase share and
    cut the optimum off).
    """
    n_s, n_o = vmax.shape
    if m <= 0:
        return np.zeros_like(vmax)
    order = np.argsort(-vmax, axis=1, kind="stable")
    ranked = np.take_along_axis(vmax, order, axis=1)
    prefix = np.concatenate([np.zeros((n_s, 1)), np.cumsum(ranked, axis=1)], axis=1)  # ranks < i
    suffix = np.concatenate([np.cumsum(ranked[:, ::-1], axis=1)[:, ::-1], np.zeros((n_s, 1))],
                            axis=1)  # ranks >= i, summed from the smallest
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n_o)[None].repeat(n_s, 0), axis=1)
    top = min(m, n_o)
    stop = min(m + 1, n_o)  # an offer inside the top m + 1 is replaced by rank m
    inside = rank < stop
    before = np.take_along_axis(prefix, rank, axis=1)
    after = np.take_along_axis(suffix, np.minimum(rank + 1, n_o), axis=1) - suffix[:, stop][:, None]
    return np.where(inside, before + np.maximum(after, 0.0), prefix[:, top][:, None])
