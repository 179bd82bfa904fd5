"""Exact best menu of one segment under one price per offer and at most C offers.

A segment with attractions ``v[o, k]``, no-purchase weight ``v0`` and a reward
``r[o, k]`` per unit of purchase probability (profit, or profit plus multiplier
terms in :mod:`bundleopt.optimize.coupled`) buys ``(o, k)`` with probability
``v[o, k] / (v0 + sum of the menu's v)``. The best menu (one level per offer, at most
C offers) has value ``t* = max_S sum_S v r / (v0 + sum_S v)``, the root of

    h(t) = v0 t,   h(t) = sum of the C largest  max(0, max_k v[o, k] (r[o, k] - t)),

since ``F(S) >= t`` iff ``sum_S v (r - t) >= v0 t`` (``formulations/coupled_decomposition.md``).
:func:`best_menu` finds it by Dinkelbach's iteration ``t <- F(argmax h(t))`` from
``t = 0`` (finite, increasing), and returns with it an upper bound that holds in
floating point too: every menu has ``F(S) <= t + max(0, h(t) - v0 t) / v0``.

These are the classical results for assortment under the MNL (Talluri & van Ryzin
2004; Rusmevichientong, Shen & Shmoys 2010 for the cardinality cap). Rules beyond the
level mask and the offer cap are not handled here: :func:`simple_rules` says when
this oracle is exact for a scenario's per-menu rules.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from bundleopt.scenario import NOT_OFFERED, Scenario

# Per-menu rule families this oracle solves exactly: the margin floor is a level mask,
# the offer cap is the C of h(t) (a cap on bundles is a second cardinality: not here).
ORACLE_FAMILIES = frozenset({"margin_floor", "cardinality"})


def simple_rules(scenario: Scenario, local: Collection[str]) -> bool:
    """True when the per-menu rule families ``local`` are a level mask and an offer cap."""
    return set(local) <= ORACLE_FAMILIES and scenario.constraints.max_bundles is None


def best_menu(v: np.ndarray, v0: float, reward: np.ndarray, mask: np.ndarray,
              cap: int | None = None, max_iter: int = 200) -> tuple[float, float, np.ndarray]:
    """The best menu of one segment: ``(value, upper bound, levels)``.

    ``v``, ``reward``, ``mask``: (O, K); ``cap``: most offers (None: no cap). ``levels``
    (O,) holds the level of each offered offer, ``NOT_OFFERED`` elsewhere; ``value``
    is its exact objective, ``upper bound`` bounds every allowed menu's (module
    docstring).
    """
    n_o = v.shape[0]
    usable = mask & (v > 0) & np.isfinite(reward)
    vv = np.where(usable, v, 0.0)
    rr = np.where(usable, reward, 0.0)
    best_levels = np.full(n_o, NOT_OFFERED, dtype=int)
    t = 0.0
    for _ in range(max_iter):
        score = np.where(usable, vv * (rr - t), -np.inf)
        k = np.argmax(score, axis=1)
        top = score[np.arange(n_o), k]
        chosen = np.flatnonzero(top > 0)
        if cap is not None and len(chosen) > cap:
            chosen = chosen[np.argpartition(-top[chosen], int(cap) - 1)[:int(cap)]]
        h = float(top[chosen].sum()) if len(chosen) else 0.0
        if not len(chosen):
            break
        kk = k[chosen]
        val = float((vv[chosen, kk] * rr[chosen, kk]).sum() / (v0 + vv[chosen, kk].sum()))
        if val <= t * (1 + 1e-15) + 1e-300:
            break
        t = val
        best_levels = np.full(n_o, NOT_OFFERED, dtype=int)
        best_levels[chosen] = kk
    else:  # pragma: no cover - Dinkelbach converges in a few steps
        h = float(np.sort(np.where(usable, vv * (rr - t), 0.0).max(axis=1).clip(0))[::-1][:cap].sum())
    bound = t + max(0.0, h - v0 * t) / v0
    return t, bound, best_levels


def relaxation_bound(scenario: Scenario, families: Collection[str]) -> float:
    """An upper bound on the profit of every decision of ``scenario``, cheap to compute.

    Each segment on its own menu (a relaxation of uniform prices), every rule relaxed
    except the level mask of ``families``' margin floor and no-arbitrage (levels no
    decision can use) and the offer cap: ``M sum_s w_s t*_s`` with ``t*_s`` the best
    menu's bound (:func:`best_menu`). Valid for every rule family, coupling ones
    included (relaxing a rule only enlarges the set maximised over).
    """
    from bundleopt.optimize.families import level_mask

    sc = scenario
    mask = level_mask(sc, families)
    cap = sc.constraints.max_offers if "cardinality" in set(families) else None
    margin = np.nan_to_num(sc.prices - sc.costs[:, None])
    total = 0.0
    for s in range(sc.n_segments):
        _, bound, _ = best_menu(sc.v[s], float(sc.v0[s]), margin, mask, cap)
        total += sc.weights[s] * bound
    return float(sc.market_size * total)


__all__ = ["ORACLE_FAMILIES", "best_menu", "relaxation_bound", "simple_rules"]
