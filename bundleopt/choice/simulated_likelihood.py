"""The simulated likelihood of the mixed logit (:class:`bundleopt.choice.MixedLogit`) in
JAX: the coefficient layout, the per-block log-likelihood and its analytic gradient over
the draws, the derivatives for Newton and standard errors, the simulated probabilities,
the grouping of observations into panels, and the L-BFGS and Newton polish on top.
``formulations/choice_models.md``, "Mixed logit".

    SLL(theta) = sum_i log (1/R) sum_r exp( sum_t log P(y_it | beta_ir) )
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from bundleopt.choice.fitting import _newton_step, single_blas_thread
from bundleopt.choice.long_format import ChoiceArrays

__all__ = ["Layout", "PanelArrays", "group_panel", "mixed_probabilities", "sim_derivatives",
           "sim_loglik_and_grad"]


class PanelArrays(NamedTuple):
    """Choices grouped by customer and padded: I customers x T (most choices of one) slots.

    ``X`` (I, T, J, K), ``y`` (I, T) chosen index, ``avail`` (I, T, J), ``mask`` (I, T)
    (False on padding), ``weight`` (I,) (0 on padding customers), ``Z`` (I, R, D) standard
    variates, ``A`` (J, n_asc) the constants' map.
    """

    X: jax.Array
    y: jax.Array
    avail: jax.Array
    mask: jax.Array
    weight: jax.Array
    Z: jax.Array
    A: jax.Array


class Layout(NamedTuple):
    """Static description of the parameter vector ``theta = (asc, mean, sd)``."""

    n_asc: int
    n_coef: int
    random: tuple[int, ...]  # design column of each random coefficient
    kinds: tuple[str, ...]  # its distribution


def coefficients(theta: jax.Array, Z: jax.Array, layout: Layout) -> tuple[jax.Array, jax.Array]:
    """``(asc (n_asc,), beta (..., K))``: the constants and each draw's coefficients.

    ``Z`` is ``(..., D)`` standard variates; fixed coefficients are broadcast.
    """
    n_asc, K = layout.n_asc, layout.n_coef
    asc, mean, sd = theta[:n_asc], theta[n_asc : n_asc + K], theta[n_asc + K :]
    beta = jnp.broadcast_to(mean, (*Z.shape[:-1], K))
    for d, (k, kind) in enumerate(zip(layout.random, layout.kinds, strict=True)):
        x = mean[k] + sd[d] * Z[..., d]
        if kind == "lognormal":
            x = jnp.exp(x)
        elif kind == "neg_lognormal":
            x = -jnp.exp(x)
        beta = beta.at[..., k].set(x)
    return asc, beta


def _block_loglik(theta: jax.Array, X, y, avail, mask, Z, A, layout: Layout) -> jax.Array:
    """``log L_i`` (B,) of a block of customers (see the module docstring)."""
    asc, beta = coefficients(theta, Z, layout)  # beta (B, R, K)
    V = jnp.einsum("btjk,brk->btjr", X, beta) + (A @ asc)[None, None, :, None]
    V = jnp.where(avail[..., None], V, -jnp.inf)
    lse = jax.nn.logsumexp(V, axis=2)  # (B, T, R)
    Vy = jnp.take_along_axis(V, y[:, :, None, None], axis=2)[:, :, 0, :]
    per_draw = jnp.sum(jnp.where(mask[..., None], Vy - lse, 0.0), axis=1)  # (B, R)
    return jax.nn.logsumexp(per_draw, axis=1) - jnp.log(per_draw.shape[1])


def _block_value_grad(theta: jax.Array, X, y, avail, mask, w, Z, A, layout: Layout):
    """``(w_i log L_i (B,), its gradient per customer (B, p))`` of a block, analytically.

    With ``l[i, r] = sum_t log P(y_it | beta_ir)`` and the draws' posterior weights
    ``h[i, r] = softmax_r(l[i, :])``: ``d log L_i = sum_r h[i, r] d l[i, r]`` and
    ``d l[i, r] / d beta = sum_t (x_{i,t,y} - sum_j P[i,t,j,r] x_{i,t,j})``. A fixed
    coefficient (or a constant) only needs ``Pbar[i,t,j] = sum_r h[i,r] P[i,t,j,r]``; a random
    one is chained through ``d beta / d mean`` (1, or ``beta`` for the log-normals) and
    ``d beta / d sd`` (``z``, or ``beta z``). One pass over the (B, T, J, R) utilities, which
    is several times cheaper than reverse-mode autodiff through the logsumexps.
    """
    n_asc, K = layout.n_asc, layout.n_coef
    rnd = jnp.asarray(layout.random, dtype=jnp.int32)
    asc, beta = coefficients(theta, Z, layout)  # (B, R, K)
    mean = theta[n_asc : n_asc + K]
    base = mean.at[rnd].set(0.0)
    Xr = X[..., rnd]  # (B, T, J, D)
    Br = beta[..., rnd]  # (B, R, D)
    V = (X @ base + A @ asc)[..., None] + jnp.einsum("btjd,brd->btjr", Xr, Br)
    Vy = jnp.take_along_axis(V, y[:, :, None, None], axis=2)  # (B, T, 1, R)
    e = jnp.where(avail[..., None], jnp.exp(jnp.minimum(V - Vy, 700.0)), 0.0)
    s = jnp.sum(e, axis=2)  # (B, T, R)
    P = e / s[:, :, None, :]
    ell = -jnp.sum(jnp.where(mask[..., None], jnp.log(s), 0.0), axis=1)  # (B, R)
    lse = jax.nn.logsumexp(ell, axis=1)
    h = jnp.exp(ell - lse[:, None])  # (B, R)
    ll = w * (lse - jnp.log(ell.shape[1]))
    onehot = (jnp.arange(X.shape[2])[None, None, :] == y[..., None]) & mask[..., None]
    resid = w[:, None, None] * (onehot - jnp.einsum("btjr,br->btj", P, h) * mask[..., None])
    g_asc = jnp.sum(resid, axis=1) @ A  # (B, n_asc)
    g_coef = jnp.einsum("btj,btjk->bk", resid, X)
    # random coefficients: G[i, r, d] = sum_t (x_y - E_P x) of their columns
    xy = jnp.sum(jnp.where(onehot[..., None], Xr, 0.0), axis=(1, 2))  # (B, D)
    G = xy[:, None, :] - jnp.einsum("btjr,btjd->brd", P, Xr)
    lognormal = jnp.asarray([k in ("lognormal", "neg_lognormal") for k in layout.kinds])
    dmean = jnp.where(lognormal, Br, 1.0)
    hG = (w[:, None] * h)[..., None] * G * dmean  # (B, R, D)
    g_coef = g_coef.at[:, rnd].set(jnp.sum(hG, axis=1))
    g_sd = jnp.sum(hG * Z, axis=1)
    return ll, jnp.concatenate([g_asc, g_coef, g_sd], axis=1)


def _blocks(data: PanelArrays, size: int) -> PanelArrays:
    """The arrays reshaped to (n_blocks, size, ...) (I is a multiple of ``size``)."""
    return PanelArrays(*(a.reshape(-1, size, *a.shape[1:]) for a in data[:6]), data.A)


@partial(jax.jit, static_argnames=("layout", "size"))
def sim_loglik_and_grad(theta: jax.Array, data: PanelArrays, layout: Layout, size: int):
    """``(SLL, gradient)`` (analytic, :func:`_block_value_grad`), summed over blocks of ``size`` customers."""

    def one(b):
        X, y, av, mk, w, Z = b
        ll, g = _block_value_grad(theta, X, y, av, mk, w, Z, data.A, layout)
        return jnp.sum(ll), jnp.sum(g, axis=0)

    lls, grads = jax.lax.map(one, tuple(_blocks(data, size)[:6]))
    return jnp.sum(lls), jnp.sum(grads, axis=0)


@partial(jax.jit, static_argnames=("layout", "size"))
def sim_derivatives(theta: jax.Array, data: PanelArrays, layout: Layout, size: int):
    """``(SLL, gradient, Hessian, sum_i g_i g_i^T)`` (``g_i``: customer i's weighted score,
    the sandwich's meat); the Hessian is the forward-mode Jacobian of the analytic gradient."""

    def one(b):
        X, y, av, mk, w, Z = b
        per = lambda th: _block_value_grad(th, X, y, av, mk, w, Z, data.A, layout)  # noqa: E731
        ll, G = per(theta)
        H = jax.jacfwd(lambda th: jnp.sum(per(th)[1], axis=0))(theta)
        return jnp.sum(ll), jnp.sum(G, axis=0), H, G.T @ G

    out = jax.lax.map(one, tuple(_blocks(data, size)[:6]))
    return tuple(jnp.sum(a, axis=0) for a in out)


@partial(jax.jit, static_argnames=("layout",))
def mixed_probabilities(theta: jax.Array, X: jax.Array, avail: jax.Array, A: jax.Array, Z: jax.Array,
                        layout: Layout) -> jax.Array:
    """Unconditional ``P[n, j] = (1/R) sum_r P(j | x_n, beta_r)`` with population draws ``Z`` (R, D)."""
    asc, beta = coefficients(theta, Z, layout)  # (R, K)
    V = jnp.einsum("njk,rk->njr", X, beta) + (A @ asc)[None, :, None]
    V = jnp.where(avail[..., None], V, -jnp.inf)
    return jnp.mean(jax.nn.softmax(V, axis=1), axis=2)


def group_panel(arrays: ChoiceArrays, customer: np.ndarray | None, Z_of: Any, A: np.ndarray,
                block_elements: int) -> tuple[PanelArrays, int, int]:
    """Pad the observations into customers x slots; returns ``(data, block size, I)``.

    ``customer`` (N,) codes 0..I-1 (``None``: each observation its own customer);
    ``Z_of(I)`` returns the (I, R, D) draws. The number of customers is padded to a
    multiple of the block size (padding customers have weight 0 and one available
    alternative, so their terms are finite and contribute nothing).
    """
    N, J, K = arrays.X.shape
    cust = np.arange(N) if customer is None else np.asarray(customer)
    n_cust = int(cust.max()) + 1
    order = np.argsort(cust, kind="stable")
    counts = np.bincount(cust, minlength=n_cust)
    T = int(counts.max())
    slot = np.empty(N, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot[order] = np.arange(N) - np.repeat(starts, counts)
    Z = Z_of(n_cust)
    R = Z.shape[1]
    size = int(max(1, min(n_cust, block_elements // max(1, T * J * R))))
    n_pad = -(-n_cust // size) * size
    X = np.zeros((n_pad, T, J, K))
    y = np.zeros((n_pad, T), dtype=np.int32)
    avail = np.zeros((n_pad, T, J), dtype=bool)
    avail[:, :, 0] = True
    mask = np.zeros((n_pad, T), dtype=bool)
    X[cust, slot] = arrays.X
    y[cust, slot] = arrays.choice
    avail[cust, slot] = arrays.avail
    mask[cust, slot] = True
    weight = np.zeros(n_pad)
    weight[:n_cust] = 1.0
    Zp = Z if n_pad == n_cust else np.concatenate([Z, np.zeros((n_pad - n_cust, R, Z.shape[2]))])
    data = PanelArrays(*(jnp.asarray(a) for a in (X, y, avail, mask, weight, Zp, A)))
    return data, size, n_cust


def _lbfgs(theta0: np.ndarray, data: PanelArrays, layout: Layout, size: int, n_total: float,
           max_iter: int, gtol: float = 1e-6) -> tuple[np.ndarray, float]:
    """L-BFGS-B on ``-SLL / n_total`` from ``theta0``; returns ``(theta, SLL)``."""

    def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
        ll, g = sim_loglik_and_grad(jnp.asarray(th), data, layout, size)
        ll, g = float(ll), np.asarray(g)
        if not np.isfinite(ll):
            return 1e300, np.zeros_like(th)
        return -ll / n_total, -g / n_total

    with single_blas_thread():
        res = scipy.optimize.minimize(fun, np.asarray(theta0, dtype=np.float64), jac=True, method="L-BFGS-B",
                                      options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e-15, "maxcor": 20})
    return np.asarray(res.x), -float(res.fun) * n_total


def _polish(theta: np.ndarray, data: PanelArrays, layout: Layout, size: int, n_total: float,
            max_newton: int = 5, tol: float = 1e-10):
    """Newton steps with the exact Hessian while it is negative definite, each accepted when
    the SLL does not decrease (halving otherwise); the Hessian is recomputed after each
    accepted step. Returns ``(theta, SLL, g, H, meat, converged)`` (converged: Newton
    decrement per customer below ``tol``; ``H`` and ``meat`` at the returned ``theta``)."""

    def full(th):
        return tuple(np.asarray(a) for a in sim_derivatives(jnp.asarray(th), data, layout, size))

    ll, g, H, meat = full(theta)
    converged = False
    for _ in range(max_newton):
        step, decrement = _newton_step(g, H)
        if not np.isfinite(decrement):
            break
        if decrement / n_total < tol:
            converged = True
            break
        t, moved = 1.0, False
        for _ in range(30):
            ll_c = float(sim_loglik_and_grad(jnp.asarray(theta + t * step), data, layout, size)[0])
            if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * abs(ll):
                theta, moved = theta + t * step, True
                break
            t /= 2
        if not moved:
            break
        ll, g, H, meat = full(theta)
    if not converged:
        _, decrement = _newton_step(g, H)
        converged = bool(np.isfinite(decrement) and decrement / n_total < 1e-6)
    return theta, float(ll), g, H, meat, converged
