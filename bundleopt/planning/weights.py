"""Preference weights of the plan's offers from the fitted choice models
(``formulations/bundle_utility.md``): for segment ``s``, offer ``o`` at price level ``k``,

    v[s, o, k] = exp(ASC_s(o) + beta_s * p[o, k]),    v0[s] = 1 (no purchase),

where a bundle's constant ``ASC_s(b)`` is estimated from co-purchases (``"copurchase"``)
or is the sum of its components' constants plus ``log(lift_b)`` (``"additive"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["_bundle_weights", "_utility_design"]


def _bundle_weights(
    model: Any, offer_ids: Sequence[str], components: Sequence[tuple[str, ...]],
    prices: np.ndarray, lift: Mapping[str, float], bundle_utility: str,
) -> np.ndarray:
    """(O, K) preference weights of one segment; bundles by the ``bundle_utility`` rule."""
    from bundleopt.choice import preference_weights

    known = set(map(str, model.alternatives_))
    direct = [o for o, oid in enumerate(offer_ids) if oid in known]
    v = np.zeros(prices.shape)
    vd, v0 = preference_weights(model, [offer_ids[o] for o in direct], prices[direct])
    if not np.allclose(v0, 1.0):
        raise RuntimeError("the no-purchase alternative must be the model's reference")
    v[direct] = vd[0]
    params = model.params_
    beta = float(params["price"])
    for o, oid in enumerate(offer_ids):
        if oid in known:
            continue
        if bundle_utility != "additive" or len(components[o]) < 2:
            raise ValueError(f"offer {oid!r} has no fitted constant")
        asc = sum(float(params.get(f"ASC_{p}", 0.0)) for p in components[o]) + math.log(lift[oid])
        with np.errstate(invalid="ignore"):
            v[o] = np.where(np.isfinite(prices[o]), np.exp(asc + beta * np.nan_to_num(prices[o])), 0.0)
    return v


def _utility_design(model: Any, offer_ids: Sequence[str], components: Sequence[tuple[str, ...]]) -> np.ndarray:
    """(O, P) 0/1 matrix: which of the model's parameters make up each offer's constant in
    :func:`_bundle_weights` (its own ``ASC``, or its components' for an additive bundle)."""
    names = list(model.params_.index)
    known = set(map(str, model.alternatives_))
    design = np.zeros((len(offer_ids), len(names)))
    for o, oid in enumerate(offer_ids):
        for alt in ([oid] if oid in known else components[o]):
            if f"ASC_{alt}" in names:
                design[o, names.index(f"ASC_{alt}")] = 1.0
    return design
