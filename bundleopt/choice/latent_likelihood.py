"""The latent-class MNL's likelihood in JAX (:class:`bundleopt.choice.LatentClassMNL`):
per-customer panels, class log-likelihoods, the membership prior, the panel likelihood
with its gradient and Hessian, the class posterior, one generalised-EM step, and the
direct maximisation steps. ``formulations/choice_models.md``, "Latent class".

    L_i = sum_c pi_c(z_i) prod_t P(y_it | theta_c)
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from bundleopt.choice.fitting import backtrack, single_blas_thread
from bundleopt.choice.identification import reduced_newton_step
from bundleopt.choice.likelihood import (
    MNLData,
    loglik,
    loglik_per_obs,
)

__all__ = ["PanelData", "em_step", "panel_derivatives", "panel_loglik", "posterior"]


class PanelData(NamedTuple):
    """MNL data plus the panel: ``customer[n]`` in 0..I-1 and membership design ``Z`` (I, 1+M)."""

    mnl: MNLData
    customer: jax.Array
    Z: jax.Array


def _unpack(params: jax.Array, n_classes: int, n_theta: int, n_z: int) -> tuple[jax.Array, jax.Array]:
    """Flat vector -> (theta (C, P), gamma (C, 1+M) with a zero first row)."""
    theta = params[: n_classes * n_theta].reshape(n_classes, n_theta)
    gamma = params[n_classes * n_theta :].reshape(n_classes - 1, n_z)
    return theta, jnp.concatenate([jnp.zeros((1, n_z), params.dtype), gamma], axis=0)


def _class_loglik(theta: jax.Array, data: PanelData) -> jax.Array:
    """``L[i, c] = sum_{t in i} log P(y_it | theta_c)``, shape (I, C)."""
    per_obs = jax.vmap(loglik_per_obs, in_axes=(0, None))(theta, data.mnl)  # (C, N)
    n_cust = data.Z.shape[0]
    return jax.ops.segment_sum(per_obs.T, data.customer, num_segments=n_cust)


def _log_prior(gamma: jax.Array, Z: jax.Array) -> jax.Array:
    """``log pi[i, c] = log softmax_c(Z[i] . gamma_c)``, shape (I, C)."""
    return jax.nn.log_softmax(Z @ gamma.T, axis=1)


def mixture_loglik(L: jax.Array, gamma: jax.Array, Z: jax.Array) -> jax.Array:
    """``LL = sum_i logsumexp_c(log pi[i, c] + L[i, c])`` from the class log-likelihoods
    ``L`` (I, C), whatever the data they come from (long format or grouped records)."""
    return jnp.sum(jax.nn.logsumexp(_log_prior(gamma, Z) + L, axis=1))


def mixture_posterior(L: jax.Array, gamma: jax.Array, Z: jax.Array) -> tuple[jax.Array, jax.Array]:
    """E-step from the class log-likelihoods ``L`` (I, C): ``(h (I, C), LL)``."""
    joint = _log_prior(gamma, Z) + L
    lse = jax.nn.logsumexp(joint, axis=1, keepdims=True)
    return jnp.exp(joint - lse), jnp.sum(lse)


def membership_step(h: jax.Array, gamma: jax.Array, Z: jax.Array) -> jax.Array:
    """The M-step's membership block: one Newton step on ``sum_i sum_c h[i, c] log pi[i, c]``
    over the free rows of ``gamma`` (the first row stays 0); ``gamma`` as is with one class."""
    n_free, n_z = gamma.shape[0] - 1, gamma.shape[1]
    if n_free == 0:  # one class: no membership model
        return gamma

    def q_member(free: jax.Array) -> jax.Array:
        gm = jnp.concatenate([jnp.zeros((1, n_z), gamma.dtype), free.reshape(n_free, n_z)], axis=0)
        return jnp.sum(h * _log_prior(gm, Z))

    free = gamma[1:].reshape(-1)
    free = free + _newton(jax.grad(q_member)(free), jax.hessian(q_member)(free))
    return jnp.concatenate([gamma[:1], free.reshape(n_free, n_z)], axis=0)


def run_em(step, posterior_of, theta, gamma, data, max_iter: int, tol: float
           ) -> tuple[jax.Array, jax.Array, float, int]:
    """Generalised EM: ``step(theta, gamma, data) -> (theta, gamma, LL at the input)`` until
    the log-likelihood gains less than ``tol`` (or turns non-finite: the last finite point
    is kept); returns ``(theta, gamma, LL, iterations)``, LL from ``posterior_of``."""
    prev, it = -np.inf, 0
    for it in range(1, max_iter + 1):  # noqa: B007
        new_theta, new_gamma, ll_arr = step(theta, gamma, data)
        ll = float(ll_arr)
        if not (np.isfinite(ll) and np.all(np.isfinite(np.asarray(new_theta)))):
            break
        theta, gamma = new_theta, new_gamma
        if ll - prev < tol:
            break
        prev = ll
    _, ll_arr = posterior_of(theta, gamma, data)
    return theta, gamma, float(ll_arr), it


def _panel_loglik(params: jax.Array, data: PanelData, n_classes: int, n_theta: int, n_z: int) -> jax.Array:
    """``LL = sum_i logsumexp_c(log pi[i, c] + L[i, c])``."""
    theta, gamma = _unpack(params, n_classes, n_theta, n_z)
    return mixture_loglik(_class_loglik(theta, data), gamma, data.Z)


_STATIC = ("n_classes", "n_theta", "n_z")
panel_loglik = jax.jit(_panel_loglik, static_argnames=_STATIC)
_panel_value_and_grad = jax.jit(jax.value_and_grad(_panel_loglik), static_argnames=_STATIC)


@partial(jax.jit, static_argnames=_STATIC)
def panel_derivatives(params: jax.Array, data: PanelData, n_classes: int, n_theta: int, n_z: int):
    """``(LL, gradient, Hessian)`` of :func:`panel_loglik` (one compilation for all three)."""
    f = partial(_panel_loglik, data=data, n_classes=n_classes, n_theta=n_theta, n_z=n_z)
    return f(params), jax.grad(f)(params), jax.hessian(f)(params)


@jax.jit
def posterior(theta: jax.Array, gamma: jax.Array, data: PanelData) -> tuple[jax.Array, jax.Array]:
    """E-step: ``(h (I, C), LL)``."""
    return mixture_posterior(_class_loglik(theta, data), gamma, data.Z)


def _newton(g: jax.Array, H: jax.Array, ridge: float = 1e-8) -> jax.Array:
    """Newton step ``(-H + ridge I)^{-1} g`` (the ridge guards flat directions)."""
    return jnp.linalg.solve(-H + ridge * jnp.eye(H.shape[0], dtype=H.dtype), g)


@jax.jit
def em_step(theta: jax.Array, gamma: jax.Array, data: PanelData) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One generalised-EM iteration: E-step, then one Newton step per M-step block.

    Returns ``(theta, gamma, LL)``, LL evaluated at the input parameters.
    """
    h, ll = posterior(theta, gamma, data)
    w_obs = h[data.customer]  # (N, C): posterior of each observation's customer

    def class_step(th, w):
        d = data.mnl._replace(weight=w)
        return th + _newton(jax.grad(loglik)(th, d), jax.hessian(loglik)(th, d))

    theta = jax.vmap(class_step, in_axes=(0, 1))(theta, w_obs)
    return theta, membership_step(h, gamma, data.Z), ll


def _direct_mle(x0: np.ndarray, data: PanelData, static: dict, max_iter: int, basis: np.ndarray):
    """Maximise ``panel_loglik`` from the EM point (:func:`newton_mle`)."""
    return newton_mle(x0, lambda c: panel_derivatives(jnp.asarray(c), data, **static),
                      lambda c: _panel_value_and_grad(jnp.asarray(c), data, **static),
                      float(data.mnl.X.shape[0]), max_iter, basis)


def newton_mle(x0: np.ndarray, derivs, value_and_grad, n_total: float, max_iter: int, basis: np.ndarray):
    """Maximise a log-likelihood from ``x0``: Newton with step halving, with an L-BFGS
    fallback when Newton cannot proceed (Hessian not negative definite).

    ``derivs(x) -> (LL, g, H)``, ``value_and_grad(x) -> (LL, g)``; ``n_total`` the number
    of observations. Returns ``(x, LL, Hessian, converged)``; converged when the Newton
    decrement per observation is below 1e-14 (or, after L-BFGS, the mean score below 1e-6).
    """
    x = np.asarray(x0, dtype=np.float64)
    ll, g, H = (np.asarray(a) for a in derivs(x))
    used_lbfgs = False
    for _ in range(50):
        step, dec = reduced_newton_step(g, H, basis)
        if not np.isfinite(dec) or dec < 0:
            if used_lbfgs:
                break
            x = _lbfgs(x, value_and_grad, max_iter, n_total)  # leave the non-concave region
            used_lbfgs = True
            ll, g, H = (np.asarray(a) for a in derivs(x))
            continue
        if dec / n_total < 1e-14:
            return x, float(ll), H, True
        found, _ = backtrack(derivs, x, step, ll, rtol=1e-10)
        if found is None:
            break
        x, ll, g, H = found
    return x, float(ll), H, bool(np.max(np.abs(g)) / n_total < 1e-6)


def _lbfgs(x0: np.ndarray, value_and_grad, max_iter: int, n_total: float) -> np.ndarray:
    def fun(x):
        v, g = value_and_grad(x)
        return -float(v) / n_total, -np.asarray(g) / n_total

    with single_blas_thread():
        res = scipy.optimize.minimize(
            fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "gtol": 1e-9, "ftol": 1e-15}
        )
    return np.asarray(res.x)
