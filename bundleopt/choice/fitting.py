"""Maximum likelihood for the MNL: L-BFGS on the fused value-and-gradient, then Newton.

L-BFGS (scipy's L-BFGS-B, gradients from JAX) brings ``theta`` near the optimum cheaply;
Newton steps with the exact Hessian (:func:`~bundleopt.choice.likelihood.loglik_grad_hess`)
then polish it to machine precision: the MNL log-likelihood is concave, so Newton
converges quadratically from there. The final Hessian gives the standard errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np
import scipy.optimize

from bundleopt.choice.identification import (
    Identification,
    identify,
    identify_factored,
    reduced_newton_step,
)
from bundleopt.choice.likelihood import (
    MNLData,
    block_size,
    loglik_and_grad,
    loglik_grad_hess,
    n_blocks,
    raw_second_moment,
)


@dataclass
class FitResult:
    """Outcome of :func:`maximize_loglik`.

    ``theta`` the estimate; ``loglik`` its log-likelihood; ``grad``/``hessian`` at
    ``theta``; ``converged`` when the Newton decrement ``g^T (-H)^{-1} g`` fell below
    ``tol`` times the total weight; ``n_iter``/``n_newton`` L-BFGS and Newton iterations;
    ``n_eval`` value-and-gradient evaluations (of ``lbfgs_obs`` observations each);
    ``n_hess`` value-gradient-Hessian passes over all the data; ``n_full_grad`` value-gradient
    passes over all the data (large-data path); ``timings`` seconds by phase; ``hessian0``
    the Hessian at ``theta = 0`` (or a function building it: menu-grouped data, where it
    is ``p x p`` and rarely needed) and ``ident`` the identified subspace read from it
    (:mod:`bundleopt.choice.identification`).
    """

    theta: np.ndarray
    loglik: float
    grad: np.ndarray
    hessian: np.ndarray | None
    converged: bool
    n_iter: int
    n_newton: int
    n_eval: int
    message: str
    n_hess: int = 0
    lbfgs_obs: int = 0
    n_full_grad: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    hessian0: np.ndarray | Callable[[], np.ndarray] | None = None
    ident: Identification | None = None


def maximize_loglik(
    data: MNLData,
    theta0: np.ndarray | None = None,
    *,
    lbfgs_tol: float = 1e-6,
    max_lbfgs: int = 500,
    max_newton: int = 20,
    min_newton: int = 1,
    tol: float = 1e-12,
    block: int | None = None,
    warm_start_obs: int | None = 50_000,
) -> FitResult:
    """Maximise the (weighted) MNL log-likelihood of ``data``.

    The objective handed to L-BFGS is ``-LL / W`` (``W`` = total weight), so ``lbfgs_tol``
    is a tolerance on the mean score. Newton then iterates ``theta += t (-H)^{-1} g``
    (``t`` halved until LL does not decrease) until the decrement ``g^T (-H)^{-1} g / W``
    is below ``tol``, after at least ``min_newton`` steps (the polish).

    Large data (more than ``4 * warm_start_obs`` observations): L-BFGS runs on the first
    blocks of observations only (at least ``warm_start_obs`` and 1/16 of the data), whose
    estimate is within a few standard errors of the full one. Then Newton steps on the
    full gradient with the prefix's Hessian scaled by ``W / W_prefix`` (one gradient pass
    each; they stop when the decrement per unit weight is below 1e-11 or LL would
    decrease), and finally the exact Hessian of all the data checks convergence (and
    Newton continues with it if needed). The answer does not depend on this (the LL is
    concave: one maximiser); only the time does. ``warm_start_obs=None`` runs L-BFGS on
    everything and always takes at least ``min_newton`` exact Newton steps.
    """
    n, J, K = data.X.shape
    p = data.A.shape[1] + K
    size = block or block_size(n, J, K)
    all_blocks = n_blocks(n, size)
    lbfgs_blocks = all_blocks
    if warm_start_obs and n > 4 * warm_start_obs:
        lbfgs_blocks = min(all_blocks, n_blocks(max(warm_start_obs, n // 16), size))
    weight_np = np.asarray(data.weight)
    total_w = float(weight_np.sum())
    lbfgs_w = float(weight_np[: min(n, lbfgs_blocks * size)].sum())
    if lbfgs_w <= 0:
        lbfgs_blocks, lbfgs_w = all_blocks, total_w
    scale = 1.0 / max(total_w, 1e-300)
    lbfgs_scale = 1.0 / max(lbfgs_w, 1e-300)
    theta = np.zeros(p) if theta0 is None else np.asarray(theta0, dtype=np.float64).copy()
    timings: dict[str, float] = {}
    n_eval = 0
    # identified subspace: the null space of the Hessian does not depend on theta
    t0 = time.perf_counter()
    H0 = np.asarray(loglik_grad_hess(jnp.zeros(p), data, size, all_blocks)[2])
    ident = identify(H0, np.asarray(raw_second_moment(data)))
    basis = ident.basis
    timings["identify"] = time.perf_counter() - t0

    def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal n_eval
        n_eval += 1
        ll, g = loglik_and_grad(jnp.asarray(th), data, size, lbfgs_blocks)
        return -float(ll) * lbfgs_scale, -np.asarray(g) * lbfgs_scale

    t0 = time.perf_counter()
    n_iter = 0
    message = ""
    if max_lbfgs > 0:
        with single_blas_thread():
            res = scipy.optimize.minimize(
                fun,
                theta,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": max_lbfgs, "gtol": lbfgs_tol, "ftol": 1e-15, "maxcor": 20},
            )
        theta, n_iter, message = np.asarray(res.x), int(res.nit), str(res.message)
    timings["lbfgs"] = time.perf_counter() - t0

    n_full_grad = 0
    if lbfgs_blocks < all_blocks:
        # Newton steps on the full gradient with the prefix's Hessian scaled to the full
        # weight (it is within ~1/sqrt(prefix) of the full one): each costs a gradient
        # pass, not a Hessian pass, and gains digits quickly near the optimum.
        t0 = time.perf_counter()
        _, _, H_sub = loglik_grad_hess(jnp.asarray(theta), data, size, lbfgs_blocks)
        H_approx = np.asarray(H_sub) * (total_w / lbfgs_w)
        prev = -np.inf
        for _ in range(8):
            ll_f, g_f = (np.asarray(a) for a in loglik_and_grad(jnp.asarray(theta), data, size, all_blocks))
            n_full_grad += 1
            if not np.isfinite(ll_f) or ll_f < prev:
                theta = theta - last_step  # noqa: F821  (only after a step was taken)
                break
            last_step, decrement = reduced_newton_step(g_f, H_approx, basis)
            if not np.isfinite(decrement):
                break
            theta, prev = theta + last_step, float(ll_f)
            if decrement * scale < 1e-11:
                break
        timings["approx_newton"] = time.perf_counter() - t0
        min_newton = 0  # the exact Hessian below checks convergence, and polishes if needed

    t0 = time.perf_counter()
    ll, g, H = (np.asarray(a) for a in loglik_grad_hess(jnp.asarray(theta), data, size, all_blocks))
    theta, ll, g, H, converged, n_newton, n_evals = damped_newton(
        lambda c: loglik_grad_hess(jnp.asarray(c), data, size, all_blocks), theta, ll, g, H,
        basis, scale=scale, tol=tol, max_newton=max_newton, min_newton=min_newton)
    n_hess = 1 + n_evals
    timings["newton"] = time.perf_counter() - t0
    return FitResult(
        theta=theta,
        loglik=float(ll),
        grad=g,
        hessian=H,
        converged=converged,
        n_iter=n_iter,
        n_newton=n_newton,
        n_eval=n_eval,
        message=message,
        n_hess=n_hess,
        n_full_grad=n_full_grad,
        lbfgs_obs=min(n, lbfgs_blocks * size),
        timings=timings,
        hessian0=H0,
        ident=ident,
    )


def single_blas_thread():
    """Context: one BLAS thread (threadpoolctl) around scipy's L-BFGS-B loop.

    Its many tiny vector operations between JAX calls made the BLAS thread pool spin up
    and fight JAX's threads: on Swissmetro warm MNL fits took 0.08 s (median) with the
    default pool and 0.009-0.013 s with one thread (issue 15). Scoped to the loop, so
    the user's BLAS settings are restored afterwards.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def backtrack(
    derivatives: Callable[[np.ndarray], tuple[Any, Any, Any]],
    x: np.ndarray,
    step: np.ndarray,
    ll: float,
    rtol: float,
    max_halvings: int = 30,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None, int]:
    """Step halving for a Newton step: the first ``t = 1, 1/2, ...`` (at most
    ``max_halvings`` tries) whose ``ll(x + t step)`` is finite and at least
    ``ll - rtol |ll|``. ``derivatives(x)`` returns ``(ll, gradient, Hessian)``.

    Returns ``((x_new, ll, g, H), evaluations)``, or ``(None, evaluations)`` when no
    step qualifies.
    """
    t = 1.0
    for n in range(1, max_halvings + 1):
        cand = x + t * step
        ll_c, g_c, H_c = (np.asarray(a) for a in derivatives(cand))
        if np.isfinite(ll_c) and ll_c >= ll - rtol * abs(ll):
            return (cand, ll_c, g_c, H_c), n
        t /= 2
    return None, max_halvings


def damped_newton(
    derivs: Any, theta: np.ndarray, ll: float, g: np.ndarray, H: np.ndarray, basis: np.ndarray, *,
    scale: float, tol: float, max_newton: int, min_newton: int,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, bool, int, int]:
    """Newton steps within the identified subspace ``basis`` (:func:`reduced_newton_step`),
    each halved by :func:`backtrack` until the log-likelihood rises, from ``theta`` with
    its value, gradient and Hessian; ``derivs(theta) -> (ll, g, H)``.

    Stops when the Newton decrement per unit weight (``decrement * scale``) is below
    ``tol`` after more than ``min_newton`` steps, when no step raises the value, or after
    ``max_newton``; converged also when the final decrement is below ``max(tol, 1e-9)``.
    Returns ``(theta, ll, g, H, converged, steps taken, derivative evaluations)``.
    """
    converged, n_newton, n_evals_total = False, 0, 0
    for n_newton in range(1, max_newton + 1):  # noqa: B007
        step, decrement = reduced_newton_step(g, H, basis)
        if not np.isfinite(decrement):
            break
        if decrement * scale < tol and n_newton > min_newton:
            converged = True
            n_newton -= 1
            break
        found, n_evals = backtrack(derivs, theta, step, ll, rtol=1e-12)
        n_evals_total += n_evals
        if found is None:
            break
        theta, ll, g, H = found
    if not converged:
        _, decrement = reduced_newton_step(g, H, basis)
        converged = bool(np.isfinite(decrement) and decrement * scale < max(tol, 1e-9))
    return theta, ll, g, H, converged, n_newton, n_evals_total


def _newton_step(g: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, float]:
    """Newton direction ``(-H)^{-1} g`` and decrement ``g^T (-H)^{-1} g`` (inf if singular)."""
    try:
        step = np.linalg.solve(-H, g)
    except np.linalg.LinAlgError:
        return np.zeros_like(g), float("inf")
    decrement = float(g @ step)
    if decrement < 0:  # -H not positive definite: not a concave neighbourhood
        return step, float("inf")
    return step, decrement


def covariance(H: np.ndarray, meat: np.ndarray | None = None) -> np.ndarray:
    """``(-H)^{-1}``, or the sandwich ``H^{-1} meat H^{-1}``; NaN where ``H`` is singular."""
    try:
        inv = np.linalg.inv(-H)
    except np.linalg.LinAlgError:
        return np.full_like(H, np.nan)
    if meat is not None:
        return inv @ meat @ inv
    return inv



def maximize_menu_loglik(
    data: Any, theta0: np.ndarray | None = None, *, max_newton: int = 50, tol: float = 1e-12,
) -> FitResult:
    """Maximise the MNL log-likelihood of menu-grouped data
    (:class:`~bundleopt.choice.grouped.MenuData`): damped Newton with the exact closed-form
    Hessian (:func:`~bundleopt.choice.grouped.derivatives`) from ``theta0`` (default:
    :func:`share_start`),
    within the identified subspace, until the decrement per unit weight is below ``tol``.
    The log-likelihood is concave, so this is the maximiser the row-by-row fit finds.
    """
    from bundleopt.choice.grouped import (
        dense_neg_hessian,
        derivative_factors,
        numpy_derivatives,
        raw_moments,
    )

    p = data.A.shape[1] + data.X.shape[2]
    total_w = float(np.asarray(data.count).sum())
    scale = 1.0 / max(total_w, 1e-300)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    f0 = derivative_factors(jnp.zeros(p), data)[2]
    ident = identify_factored(f0.diag, f0.left, f0.right, np.asarray(raw_moments(data)))

    def hessian0() -> np.ndarray:  # dense only if the separation screen asks (p x p)
        return np.negative(dense_neg_hessian(f0))

    timings["identify"] = time.perf_counter() - t0
    theta = share_start(data) if theta0 is None else np.asarray(theta0, dtype=np.float64).copy()
    ll, g, H = numpy_derivatives(theta, data)
    t0 = time.perf_counter()
    theta, ll, g, H, converged, n_newton, n_evals = damped_newton(
        lambda c: numpy_derivatives(c, data), theta, ll, g, H, ident.basis,
        scale=scale, tol=tol, max_newton=max_newton, min_newton=1)
    n_hess = 2 + n_evals
    timings["newton"] = time.perf_counter() - t0
    return FitResult(
        theta=theta, loglik=float(ll), grad=g, hessian=H, converged=converged, n_iter=0,
        n_newton=n_newton, n_eval=0, message="newton (menu-grouped data)", n_hess=n_hess,
        timings=timings, hessian0=hessian0, ident=ident,
    )


def share_start(data: Any) -> np.ndarray:
    """Start values: each constant at ``log(n_j / n_ref)`` (the choice counts of its
    alternative and of the reference, the maximum-likelihood constants of a model with
    constants only and every alternative always available), other coefficients 0.

    Newton from 0 (equal shares) overshoots when the shares are very unequal (a
    no-purchase share of 0.97 and a thousand products): the first step sends the
    probabilities to the edge, where the Hessian is numerically zero. From the shares,
    the remaining steps are small. The log-likelihood is concave: the start changes the
    path, not the maximiser. Alternatives never chosen start at ``log(0.5 / n_ref)``.
    """
    A = np.asarray(data.A)
    J = A.shape[0]
    counts = np.bincount(np.asarray(data.choice), weights=np.asarray(data.count), minlength=J)
    ref = np.flatnonzero(~A.any(axis=1))
    n_ref = float(counts[ref[0]]) if ref.size else float(counts.max())
    if n_ref <= 0:
        return np.zeros(A.shape[1] + data.X.shape[2])
    log_share = np.log(np.maximum(counts, 0.5) / n_ref)
    # A selects (one alternative per constant, make_menu_data): each constant is its
    # alternative's log share relative to the reference, read off by index
    asc = (log_share - (log_share[ref[0]] if ref.size else 0.0))[np.argmax(A, axis=0)]
    return np.concatenate([asc, np.zeros(data.X.shape[2])])
