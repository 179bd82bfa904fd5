"""Preference weights ``v[s, o, k]`` for the optimizer, from a fitted choice model.

For segment (class) s, offer o (an alternative id known to the model) at price level k::

    u[s, o, k] = ASC_s(o) + beta_s,price * p[o, k] + sum_f beta_s,f * x_f[o, k]
    v[s, o, k] = exp(u[s, o, k]),        v0[s] = exp(ASC_s(no_purchase))

(alternative-specific coefficients ``<f>_<o>`` enter offer o only). Constants are on the
model's scale (reference alternative: 0), so when the no-purchase alternative is the
reference ``v0 = 1`` and ``v`` is the utility relative to not buying; otherwise both are
on the same scale and ``P(o at k | offer set S) = v[s, o, k] / (v0[s] + sum_S v)`` is
unchanged. A NaN price (level missing) gives ``v = 0``. The no-purchase alternative's
features are taken as 0 (it only has its constant).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def _check_model(model: Any) -> None:
    if not (hasattr(model, "segment_coefficients") and hasattr(model, "segment_weights")):
        raise ValueError(f"expected a fitted MNL, LatentClassMNL or other bundleopt.choice.ChoiceModel, "
                         f"got {type(model).__name__}")


def _coef_table(model: Any) -> pd.DataFrame:
    """Fitted coefficients, one row per segment (S x parameters):
    :meth:`~bundleopt.choice.protocol.ChoiceModel.segment_coefficients`."""
    _check_model(model)
    return model.segment_coefficients()


def segment_weights(model: Any) -> np.ndarray:
    """Segment shares ``w_s`` matching :func:`preference_weights`' first axis (MNL: ``[1.0]``):
    :meth:`~bundleopt.choice.protocol.ChoiceModel.segment_weights`."""
    _check_model(model)
    return np.asarray(model.segment_weights(), dtype=float)


def preference_weights(
    model: Any,
    alts: Sequence[Hashable],
    prices: np.ndarray,
    price_feature: str = "price",
    features: Mapping[str, np.ndarray] | None = None,
    no_purchase: Hashable | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(v, v0)``: preference weights (S, O, K) and no-purchase weights (S,).

    Args:
        model: a fitted :class:`~bundleopt.choice.ChoiceModel`: an
            :class:`~bundleopt.choice.MNL` (S = 1), a
            :class:`~bundleopt.choice.LatentClassMNL` (S = n_classes), ...
        alts: the O offers, as alternative ids of the model (their constants are used).
        prices: (O, K) price ladder; NaN = level not offered (weight 0).
        price_feature: the model's price column (generic or alternative-specific).
        features: values of the model's other features, ``name -> (O,) or (O, K)``.
        no_purchase: the no-purchase alternative; ``None`` = the model's reference
            alternative (so ``v0 = 1``).

    Raises:
        ValueError: unknown offers, price feature absent from the model, a model
            feature without values, or arrays of the wrong shape.

    Example (by hand): one segment, ``ASC_1 = 0.5``, price coefficient ``-1``, reference
    0 as no purchase: ``v[0, 0, k] = exp(0.5 - p[k])`` and ``v0 = [1.0]``.
    """
    table = _coef_table(model)
    spec = model.spec_
    alt_ids: pd.Index = model.alternatives_
    alts = list(alts)
    unknown = [a for a in alts if a not in alt_ids]
    if unknown:
        raise ValueError(f"offers {unknown} are not alternatives of the model (known: {list(alt_ids)})")
    prices = np.asarray(prices, dtype=float)
    if prices.ndim == 1:
        prices = prices[:, None]
    if prices.ndim != 2 or prices.shape[0] != len(alts):
        raise ValueError(f"prices must be an (O, K) array with O = {len(alts)} offers, got shape {prices.shape}")
    n_off, n_lev = prices.shape
    values: dict[str, np.ndarray] = {price_feature: prices}
    for name, arr in (features or {}).items():
        a = np.asarray(arr, dtype=float)
        if a.shape == (n_off,):
            a = np.repeat(a[:, None], n_lev, axis=1)
        if a.shape != (n_off, n_lev):
            raise ValueError(f"feature {name!r} must have shape ({n_off},) or ({n_off}, {n_lev}), got {a.shape}")
        values[name] = a
    by_alt = dict(spec.features_by_alt)
    price_terms = price_feature in spec.features or any(price_feature in fs for fs in by_alt.values())
    if not price_terms:
        raise ValueError(f"price_feature={price_feature!r} is not a feature of the model ({spec.used_columns()})")
    needed = set(spec.features) | {f for a, fs in by_alt.items() if a in alts for f in fs}
    missing = sorted(needed - set(values))
    if missing:
        raise ValueError(f"no values given for the model's feature(s) {missing}: pass features={{name: array}}")

    S = len(table)
    u = np.zeros((S, n_off, n_lev))
    for o, a in enumerate(alts):
        u[:, o, :] += _asc(table, a)[:, None]
        for f in spec.features:
            u[:, o, :] += table[f].to_numpy()[:, None] * values[f][o][None, :]
        for f in by_alt.get(a, ()):
            u[:, o, :] += table[f"{f}_{a}"].to_numpy()[:, None] * values[f][o][None, :]
    v = np.where(np.isnan(prices)[None, :, :], 0.0, np.exp(np.nan_to_num(u, nan=-np.inf)))
    ref = spec.reference_alt(alt_ids)
    np_alt = ref if no_purchase is None else no_purchase
    if np_alt not in alt_ids:
        raise ValueError(f"no_purchase={no_purchase!r} is not an alternative of the model (known: {list(alt_ids)})")
    v0 = np.exp(_asc(table, np_alt))
    return v, v0


def _asc(table: pd.DataFrame, alt: Hashable) -> np.ndarray:
    """``ASC_<alt>`` per segment (0 for the reference or a model without constants)."""
    name = f"ASC_{alt}"
    return table[name].to_numpy(dtype=float) if name in table.columns else np.zeros(len(table))
