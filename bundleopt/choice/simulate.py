"""Simulated choice markets with known parameters (for tests, benchmarks and demos).

Utilities are ``V[n, j] = ASC_j + x[n, j] . beta`` with ``x ~ N(0, 1)`` i.i.d.; the choice
is ``argmax_j V[n, j] + e[n, j]`` with ``e`` standard Gumbel, i.e. an MNL draw.
Alternatives are ``0..J-1`` (0 is the reference: ``ASC_0 = 0``); features ``x0..x{K-1}``.
The returned truth uses the parameter names of :class:`~bundleopt.choice.mnl.MNL`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _default_params(n_alts: int, n_features: int, rng: np.random.Generator) -> pd.Series:
    asc = rng.normal(0.0, 0.5, n_alts - 1)
    beta = np.linspace(-1.0, 1.0, n_features) if n_features > 1 else np.array([-1.0])
    names = [f"ASC_{j}" for j in range(1, n_alts)] + [f"x{k}" for k in range(n_features)]
    return pd.Series(np.r_[asc, beta], index=names)


def _as_params(params: Sequence[float] | pd.Series | None, n_alts: int, n_features: int, rng) -> pd.Series:
    names = [f"ASC_{j}" for j in range(1, n_alts)] + [f"x{k}" for k in range(n_features)]
    if params is None:
        return _default_params(n_alts, n_features, rng)
    if isinstance(params, pd.Series):
        return params.reindex(names).fillna(0.0)
    values = np.asarray(params, dtype=float)
    if values.shape == (n_features,):  # coefficients only: no constants
        values = np.r_[np.zeros(n_alts - 1), values]
    if values.shape != (len(names),):
        raise ValueError(f"params must have {n_features} or {len(names)} values ({names}), got {values.shape}")
    return pd.Series(values, index=names)


def draw_choices(V: np.ndarray, avail: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNL draw per row of ``V`` (N, J) among available alternatives (Gumbel-max)."""
    noise = rng.gumbel(size=V.shape)
    return np.argmax(np.where(avail, V + noise, -np.inf), axis=1).astype(np.int32)


def simulate_mnl_arrays(
    n_obs: int,
    n_alts: int,
    n_features: int,
    params: Sequence[float] | pd.Series | None = None,
    seed: int = 0,
    avail_prob: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """``(X (N, J, K), choice (N,), avail (N, J), truth)`` of a simulated MNL market.

    With ``avail_prob < 1`` each alternative is available with that probability
    (at least two per observation, always including alternative 0).
    """
    rng = np.random.default_rng(seed)
    truth = _as_params(params, n_alts, n_features, rng)
    X = rng.standard_normal((int(n_obs), n_alts, n_features))
    avail = np.ones((int(n_obs), n_alts), dtype=bool)
    if avail_prob < 1.0:
        avail = rng.random(avail.shape) < avail_prob
        avail[:, 0] = True
        avail[np.arange(int(n_obs)), rng.integers(1, n_alts, int(n_obs))] = True
    asc = np.r_[0.0, truth.to_numpy()[: n_alts - 1]]
    V = X @ truth.to_numpy()[n_alts - 1 :] + asc
    choice = draw_choices(V, avail, rng)
    X[~avail] = 0.0
    return X, choice, avail, truth


def to_long(
    X: np.ndarray,
    choice: np.ndarray,
    avail: np.ndarray | None = None,
    feature_names: Sequence[str] | None = None,
    obs_ids: np.ndarray | None = None,
) -> pd.DataFrame:
    """Dense arrays -> long frame ``obs, alt, chosen, [available], features...`` (one row per pair)."""
    n, J, K = X.shape
    names = list(feature_names or [f"x{k}" for k in range(K)])
    obs = np.repeat(np.arange(n) if obs_ids is None else np.asarray(obs_ids), J)
    alt = np.tile(np.arange(J), n)
    chosen = (np.arange(J)[None, :] == np.asarray(choice)[:, None]).reshape(-1).astype(np.int8)
    cols: dict[str, np.ndarray] = {"obs": obs, "alt": alt, "chosen": chosen}
    if avail is not None:
        cols["available"] = np.asarray(avail).reshape(-1).astype(np.int8)
    flat = X.reshape(n * J, K)
    cols.update({name: flat[:, k] for k, name in enumerate(names)})
    return pd.DataFrame(cols)


def simulate_mnl(
    n_obs: int,
    n_alts: int,
    n_features: int,
    params: Sequence[float] | pd.Series | None = None,
    seed: int = 0,
    avail_prob: float = 1.0,
) -> tuple[pd.DataFrame, pd.Series]:
    """A simulated MNL market in long format and its true parameters.

    Returns ``(df, truth)``: ``df`` has columns ``obs, alt, chosen, x0..`` (and
    ``available`` when ``avail_prob < 1``); ``truth`` is indexed like ``MNL.params_``
    (``ASC_1..ASC_{J-1}``, ``x0..x{K-1}``). ``params`` may give the K coefficients only
    (constants 0) or all ``J - 1 + K`` values; default: random constants, coefficients
    evenly spaced in [-1, 1].
    """
    X, choice, avail, truth = simulate_mnl_arrays(n_obs, n_alts, n_features, params, seed, avail_prob)
    df = to_long(X, choice, avail if avail_prob < 1.0 else None)
    return df, truth


def simulate_latent_class(
    n_customers: int,
    obs_per_customer: int,
    n_alts: int = 3,
    class_params: np.ndarray | Sequence[Sequence[float]] | None = None,
    shares: Sequence[float] | None = None,
    membership_params: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict]:
    """A panel latent-class MNL market: each customer belongs to one class for all choices.

    ``class_params`` (C, K) are the per-class feature coefficients (no constants; default
    two classes, K = 2: a price-sensitive class ``[-2.0, 0.5]`` and a quality-seeking
    class ``[-0.5, 2.0]``). Class membership is drawn from ``shares`` (default equal) or,
    when ``membership_params`` (C, 1 + M) is given, from ``softmax_c(g_c0 + g_c . z)`` with
    M customer features ``z0..`` ~ N(0, 1) (class 0's row should be zeros).

    Returns ``(df, truth)``: ``df`` columns ``customer, obs, alt, chosen, x0..x{K-1}``
    (and ``z0..`` per row, constant within a customer); ``truth`` has ``class_params``
    (DataFrame, one column per class), ``shares``, ``membership_params``, ``classes``
    (class of each customer).
    """
    rng = np.random.default_rng(seed)
    B = np.array([[-2.0, 0.5], [-0.5, 2.0]]) if class_params is None else np.asarray(class_params, float)
    n_classes, K = B.shape
    Z = None
    if membership_params is not None:
        G = np.asarray(membership_params, float)
        Z = rng.standard_normal((n_customers, G.shape[1] - 1))
        logits = G[:, 0][None, :] + Z @ G[:, 1:].T
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        classes = (rng.random(n_customers)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
        pi = probs.mean(axis=0)
    else:
        pi = np.full(n_classes, 1.0 / n_classes) if shares is None else np.asarray(shares, float)
        classes = rng.choice(n_classes, size=n_customers, p=pi)
    n = n_customers * obs_per_customer
    cust = np.repeat(np.arange(n_customers), obs_per_customer)
    X = rng.standard_normal((n, n_alts, K))
    V = np.einsum("njk,nk->nj", X, B[classes[cust]])
    choice = draw_choices(V, np.ones((n, n_alts), bool), rng)
    df = to_long(X, choice)
    df.insert(0, "customer", np.repeat(cust, n_alts))
    if Z is not None:
        for m in range(Z.shape[1]):
            df[f"z{m}"] = np.repeat(Z[cust, m], n_alts)
    truth = {
        "class_params": pd.DataFrame(B.T, index=[f"x{k}" for k in range(K)], columns=range(n_classes)),
        "shares": np.asarray(pi),
        "membership_params": None if membership_params is None else np.asarray(membership_params, float),
        "classes": classes,
    }
    return df, truth
