"""One MNL per customer segment (an ``ASC`` per alternative, one price coefficient, the
no-purchase alternative the reference), on menu-grouped data (:func:`fit_menu_models`,
what the planner uses) or long-format data (:func:`fit_segment_models`), with smoothing
pseudo-occasions at the segment's median prices. Part of the choice layer so that the
planner and its checks (the backtest refits on an earlier window) share it without
importing each other.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.alternatives import NO_PURCHASE

__all__ = ["fit_menu_models", "fit_segment_models"]


def _codes(column: pd.Series) -> np.ndarray:
    """Integer codes of an id column (categorical codes when it is one: no string copies)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy()
    return pd.factorize(column.astype(str), sort=False)[0]


def _rectangle(choice: pd.DataFrame, alts: pd.Index) -> tuple[np.ndarray, ...]:
    """(n_obs, J) arrays ``price``, ``available``, ``chosen`` of a long-format frame."""
    obs_codes, obs_ids = pd.factorize(_codes(choice["obs"]), sort=False)
    col = choice["alt"]
    if isinstance(col.dtype, pd.CategoricalDtype):  # map the few categories, not every row
        alt_codes = alts.get_indexer(col.cat.categories.astype(str))[col.cat.codes.to_numpy()]
    else:
        alt_codes = alts.get_indexer(col.astype(str))
    n, j = len(obs_ids), len(alts)
    price = np.zeros((n, j))
    avail = np.zeros((n, j), dtype=np.int8)
    chosen = np.zeros((n, j), dtype=np.int8)
    price[obs_codes, alt_codes] = choice["price"].to_numpy(dtype=float)
    avail[obs_codes, alt_codes] = choice["available"].to_numpy()
    chosen[obs_codes, alt_codes] = choice["chosen"].to_numpy()
    return price, avail, chosen


def fit_segment_models(
    choice: pd.DataFrame,
    segments: Sequence[Any],
    *,
    smoothing: float = 0.5,
    max_lbfgs: int = 0,
    progress: Callable[[Any], None] | None = None,
    tol: float = 1e-12,
) -> dict[Any, Any]:
    """One MNL (``ASC`` per alternative, one price coefficient) per segment.

    ``choice`` is :func:`bundleopt.data.build_choice_data` output with a ``segment``
    column; the no-purchase alternative is the reference (``v0 = 1``). Two devices
    keep the fits fast and finite:

    * **smoothing**: every alternative gets one pseudo-occasion choosing it (all
      alternatives available, at the segment's median listed prices) with weight
      ``smoothing``, so an alternative a segment never chose gets a small finite
      constant instead of ``-inf`` (additive smoothing of choice counts);
    * **padding**: every segment's data is padded with zero-weight copies to a
      common number of occasions, so JAX compiles the likelihood once for all
      segments; when that would more than double the work (very unequal
      segments), each is padded to the next power of two instead (few compiles).

    The log-likelihood is concave and has few parameters (one constant per
    alternative and the price coefficient), so the fit is damped Newton with the
    exact Hessian from zero (``max_lbfgs = 0`` L-BFGS steps first): 6-10 steps
    here, where L-BFGS took 170-250 iterations on make_market.

    Returns ``{segment: fitted MNL}``.
    """
    from bundleopt.choice import MNL

    alt_col = choice["alt"]
    if isinstance(alt_col.dtype, pd.CategoricalDtype):
        present = alt_col.cat.categories[np.unique(alt_col.cat.codes.to_numpy())]
        alts = pd.Index(present.astype(str)).sort_values()
    else:
        alts = pd.Index(pd.unique(alt_col.astype(str))).sort_values()
    if NO_PURCHASE not in alts:
        raise ValueError("choice data has no no-purchase alternative")
    j = len(alts)
    seg_col = choice["segment"].to_numpy()
    slim = choice[["obs", "alt", "chosen", "available", "price"]]
    blocks = {s: _rectangle(slim[seg_col == s], alts) for s in segments}
    targets = _padded_sizes({s: b[0].shape[0] + j for s, b in blocks.items()})
    models: dict[Any, Any] = {}
    for s, (price, avail, chosen) in blocks.items():
        n = price.shape[0]
        n_max = targets[s]
        listed = np.where(avail > 0, price, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an alternative never on sale
            med = np.nan_to_num(np.nanmedian(listed, axis=0), nan=0.0) if n else np.zeros(j)
        pad = n_max - n - j
        price_all = np.vstack([price, np.tile(med, (j + pad, 1))])
        avail_all = np.vstack([avail, np.ones((j + pad, j), dtype=np.int8)])
        pseudo = np.eye(j, dtype=np.int8)
        filler = np.zeros((pad, j), dtype=np.int8)
        filler[:, alts.get_loc(NO_PURCHASE)] = 1
        chosen_all = np.vstack([chosen, pseudo, filler])
        weights = np.concatenate([np.ones(n), np.full(j, smoothing), np.zeros(pad)])
        frame = pd.DataFrame({
            "obs": np.repeat(np.arange(n_max), j),
            "alt": pd.Categorical.from_codes(np.tile(np.arange(j), n_max), categories=alts),
            "chosen": chosen_all.ravel(),
            "available": avail_all.ravel(),
            "price": price_all.ravel(),
        })
        model = MNL(features=["price"], reference=NO_PURCHASE, max_iter=max_lbfgs, tol=tol)
        models[s] = model.fit(frame, obs="obs", alt="alt", choice="chosen", avail="available",
                              weights=weights)
        if progress is not None:
            progress(s)
    return models


def _weighted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """``np.median`` of ``values`` each repeated ``counts`` times (integer counts; NaN if none)."""
    keep = counts > 0
    values, counts = values[keep], counts[keep]
    n = int(round(counts.sum()))
    if n == 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    v, c = values[order], np.cumsum(counts[order])
    lo = v[np.searchsorted(c, (n - 1) // 2, side="right")]
    hi = v[np.searchsorted(c, n // 2, side="right")]
    return float((lo + hi) / 2)


def _median_menu(mc: Any) -> np.ndarray:
    """Per alternative, the median price over a segment's occasions where it is available
    (the price paid where chosen, else the listed one): the price rows of the long format
    the smoothing pseudo-occasions of :func:`fit_segment_models` use, from grouped data."""
    M, J = mc.avail.shape
    total = np.bincount(mc.menu, weights=mc.count, minlength=M)
    chose = np.zeros((M, J))
    np.add.at(chose, (mc.menu, mc.choice), mc.count)
    med = np.zeros(J)
    price = mc.X[:, :, 0]
    for j in range(J):
        listed_w = np.where(mc.avail[:, j], total - chose[:, j], 0.0)
        mine = mc.choice == j
        vals = np.concatenate([price[:, j], mc.x_chosen[mine, 0]])
        w = np.concatenate([listed_w, mc.count[mine]])
        m = _weighted_median(vals, w)
        med[j] = 0.0 if np.isnan(m) else m
    return med


def fit_menu_models(
    menus: Mapping[Any, Any],
    *,
    smoothing: float = 0.5,
    progress: Callable[[Any], None] | None = None,
    tol: float = 1e-12,
) -> dict[Any, Any]:
    """:func:`fit_segment_models` on menu-grouped data (``segment -> MenuChoices`` from
    :func:`bundleopt.data.choice_data.build_menu_choices`): the same model, smoothing
    pseudo-occasions (one extra menu at the segment's median prices, one record per
    alternative with count ``smoothing``) and estimates, without occasions x alternatives.
    Segments are padded to common sizes (zero-count records, unavailable menus) so JAX
    compiles the likelihood for few shapes.
    """
    from bundleopt.choice import MNL
    from bundleopt.choice.grouped import MenuChoices

    if not menus:
        return {}
    sizes = {s: (mc.avail.shape[0] + 1, len(mc.menu) + mc.avail.shape[1]) for s, mc in menus.items()}
    n_menus = max(m for m, _ in sizes.values())
    rec_targets = _padded_sizes({s: r for s, (_, r) in sizes.items()})
    models: dict[Any, Any] = {}
    for s, mc in menus.items():
        M, J = mc.avail.shape
        if NO_PURCHASE not in mc.alt_ids:
            raise ValueError("choice data has no no-purchase alternative")
        med = _median_menu(mc)
        smoothed = MenuChoices(
            X=np.concatenate([mc.X, med[None, :, None]]),
            avail=np.concatenate([mc.avail, np.ones((1, J), bool)]),
            menu=np.concatenate([mc.menu, np.full(J, M)]),
            choice=np.concatenate([mc.choice, np.arange(J)]),
            x_chosen=np.concatenate([mc.x_chosen, med[:, None]]),
            count=np.concatenate([mc.count, np.full(J, float(smoothing))]),
            alt_ids=mc.alt_ids, features=mc.features,
        ).padded(n_menus, rec_targets[s])
        models[s] = MNL(features=list(mc.features), reference=NO_PURCHASE, tol=tol).fit_menus(smoothed)
        if progress is not None:
            progress(s)
    return models


def _padded_sizes(sizes: Mapping[Any, int]) -> dict[Any, int]:
    """Number of occasions each segment's fit is padded to (see :func:`fit_segment_models`)."""
    largest, total = max(sizes.values()), sum(sizes.values())
    if len(sizes) * largest <= 2 * total:
        return {s: largest for s in sizes}
    return {s: max(1024, 1 << (n - 1).bit_length()) for s, n in sizes.items()}
