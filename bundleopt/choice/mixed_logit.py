"""Mixed logit (random coefficients) by simulated maximum likelihood, in JAX (float64 while fitting).

Customer i (a panel unit, or each observation in a cross-section) has coefficients
``beta_i``; some are fixed (``beta_k``), the random ones follow a mixing distribution
with parameters ``(b_k, s_k)``: ``b + s z`` (normal, triangular), ``exp(b + s z)``
(lognormal) or ``-exp(b + s z)`` (neg_lognormal, a price coefficient that must stay
negative), ``z`` a standard variate (:mod:`bundleopt.choice.draws`). Given ``beta`` the
choices are MNL, all of a customer's choices sharing the same ``beta_i``::

    V[i, t, j | beta] = ASC_j + sum_k X[i, t, j, k] beta_k
    L_i(theta)        = E_beta[ prod_t P(y_it | beta) ]
                      ~ (1/R) sum_r prod_t P(y_it | beta_ir)      (R quasi-random draws)
    SLL(theta)        = sum_i log (1/R) sum_r exp( sum_t log P(y_it | beta_ir) )

computed as a ``logsumexp`` over r (no underflow over long panels). The draws ``z_ir`` are
fixed for the whole fit (scrambled Halton or Sobol, one set per customer), so ``SLL`` is a
smooth deterministic function of ``theta``: its exact gradient and Hessian come from JAX
autodiff, by blocks of customers (memory O(block x T x J x R)). SLL is not concave: the fit
runs L-BFGS from several starts (the MNL estimate with small and with large standard
deviations: a small start can stop at a local optimum with too small an SD), keeps the
best, then Newton steps with the exact Hessian; ``(-H)^{-1}`` gives the standard errors
(the sandwich with per-customer scores when ``robust=True``).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import scipy.optimize

from bundleopt.choice.compile_cache import enable_compilation_cache
from bundleopt.choice.draws import DISTRIBUTIONS, METHODS, standard_draws
from bundleopt.choice.estimator import ChoiceEstimator
from bundleopt.choice.fitting import _newton_step, covariance, single_blas_thread
from bundleopt.choice.long_format import ChoiceArrays, check_columns, pack_long
from bundleopt.choice.mnl import MNL, _alt_ids, _pack_for_predict
from bundleopt.choice.precision import in_float64
from bundleopt.choice.spec import Specification


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


class MixedLogit(ChoiceEstimator):
    """Mixed logit: MNL utilities with random coefficients, panel or cross-section.

    Args:
        features, asc, reference, features_by_alt: the utility, as in
            :class:`~bundleopt.choice.MNL`.
        random: ``{coefficient: distribution}``, the random coefficients (a generic
            feature name, or ``<feature>_<alt>`` for an alternative-specific one) and their
            distribution: ``"normal"``, ``"lognormal"`` (positive), ``"neg_lognormal"``
            (negative: a price coefficient), ``"triangular"`` (symmetric, half-width SD).
        n_draws: simulation draws per customer (R).
        draws: ``"halton"`` or ``"sobol"`` (both scrambled).
        seed: seed of the draws' scrambling (fixed: the fit is reproducible).
        sd_starts: the starts: the MNL estimate with each random coefficient's SD at
            ``c * scale`` for each ``c`` (scale: ``max(|beta_MNL|, 1 / std(x))``, or 1 in
            log units for the log-normals). The best final likelihood wins. Keep a large
            ``c``: from a small SD only, L-BFGS can stop at a local optimum with too small
            an SD (xlogit's default start on Swissmetro).
        screen_draws: with several starts, run them all with the first ``screen_draws``
            draws of each customer, then only the best one with all ``n_draws`` (it starts
            near its optimum, so few full iterations). ``None`` or 0: every start with all
            draws.
        robust: also the sandwich standard errors ``robust_std_errors_``.
        max_iter: L-BFGS iterations per start.
        block_elements: customers per block such that block x T x J x R is at most this.

    Fitted attributes: ``params_`` (``ASC_<alt>``, the coefficients' means (for the
    log-normals: the mean of ``log |beta|``), then ``SD_<coefficient>``), ``std_errors_``,
    ``cov_``, ``loglik_`` (simulated), ``start_logliks_`` (final SLL of each start: with the
    screen's draws when screening),
    ``mnl_loglik_``, ``n_obs_``, ``n_customers_``, ``converged_``, ``fit_time_`` and
    ``timings_`` (seconds by phase).
    Standard deviations are reported non-negative (the likelihood depends on ``|s|`` up to
    simulation noise; a negative estimate is flipped and re-polished).
    A scikit-learn estimator (``clone``, ``get_params``; ``NotFittedError`` before ``fit``)
    and, once fitted, a :class:`~bundleopt.choice.protocol.ChoiceModel` whose segments are
    :meth:`as_segments` with its defaults (as ``Scenario.from_models`` uses it).
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        random: Mapping[str, str] | None = None,
        asc: bool = True,
        reference: Hashable | None = None,
        features_by_alt: Mapping[Hashable, Sequence[str]] | None = None,
        n_draws: int = 2000,
        draws: str = "halton",
        seed: int = 0,
        sd_starts: Sequence[float] = (0.1, 1.0),
        screen_draws: int | None = 200,
        robust: bool = False,
        max_iter: int = 1000,
        block_elements: int = 2**21,
    ) -> None:
        self.features = features
        self.random = random
        self.asc = asc
        self.reference = reference
        self.features_by_alt = features_by_alt
        self.n_draws = n_draws
        self.draws = draws
        self.seed = seed
        self.sd_starts = sd_starts
        self.screen_draws = screen_draws
        self.robust = robust
        self.max_iter = max_iter
        self.block_elements = block_elements

    # ------------------------------------------------------------------ setup
    def _spec(self) -> Specification:
        return Specification.create(self.features, self.asc, self.reference, self.features_by_alt)

    def _layout(self, spec: Specification, alt_ids: pd.Index) -> Layout:
        random = dict(self.random or {})
        if not random:
            raise ValueError("MixedLogit needs at least one random coefficient: random={'<feature>': 'normal'}")
        cols = [c.name for c in spec.design_columns(alt_ids)]
        unknown = [k for k in random if k not in cols]
        if unknown:
            raise ValueError(f"random names coefficient(s) {unknown} not in the utility (coefficients: {cols})")
        bad = {k: v for k, v in random.items() if v not in DISTRIBUTIONS}
        if bad:
            raise ValueError(f"unknown distribution(s) {bad}; use one of {DISTRIBUTIONS}")
        if self.draws not in METHODS:
            raise ValueError(f"draws must be one of {METHODS}, got {self.draws!r}")
        if int(self.n_draws) < 1:
            raise ValueError(f"n_draws must be a positive integer, got {self.n_draws!r}")
        order = [k for k in cols if k in random]
        return Layout(len(spec.asc_alts(alt_ids)), len(cols), tuple(cols.index(k) for k in order),
                      tuple(random[k] for k in order))

    @in_float64
    def fit(
        self,
        df: pd.DataFrame,
        obs: str = "obs",
        alt: str = "alt",
        choice: str = "chosen",
        avail: str | None = None,
        panel: str | None = None,
    ) -> MixedLogit:
        """Estimate by simulated maximum likelihood; returns ``self``.

        ``panel``: a customer-id column (constant within an observation): all of a
        customer's choices share one draw of the coefficients. ``None``: cross-section.
        """
        enable_compilation_cache()
        t_start = time.perf_counter()
        spec = self._spec()
        check_columns(df, obs=obs, alt=alt, choice=choice, avail=avail, panel=panel, features=spec.used_columns())
        alt_ids = _alt_ids(df, alt)
        spec.reference_alt(alt_ids)
        layout = self._layout(spec, alt_ids)
        arrays = pack_long(df, obs=obs, alt=alt, columns=spec.design_columns(alt_ids), choice=choice,
                           avail=avail, alt_ids=alt_ids)
        customer = None if panel is None else _customer_codes(df, obs, panel, arrays)
        A = spec.asc_matrix(alt_ids)
        kinds = layout.kinds
        draws: dict[int, np.ndarray] = {}

        def Z_of(n: int) -> np.ndarray:  # one draw set per fit; the screen uses its first draws
            if n not in draws:
                draws[n] = standard_draws(n, int(self.n_draws), kinds, self.draws, self.seed)
            return draws[n]

        data, size, n_cust = group_panel(arrays, customer, Z_of, A, int(self.block_elements))
        mnl = MNL(features=self.features, asc=self.asc, reference=self.reference,
                  features_by_alt=self.features_by_alt)._fit_arrays(arrays, spec, None)
        starts = self._starts(mnl.params_.to_numpy(), arrays, layout)
        n_total = float(n_cust)
        timings = {"setup": time.perf_counter() - t_start}
        t0 = time.perf_counter()
        R_screen = int(self.screen_draws or 0)
        logliks = None
        if len(starts) > 1 and 0 < R_screen < int(self.n_draws):
            screen = group_panel(arrays, customer, lambda n: Z_of(n)[:, :R_screen], A, int(self.block_elements))
            ends = [_lbfgs(th0, screen[0], layout, screen[1], n_total, int(self.max_iter)) for th0 in starts]
            logliks = np.array([ll for _, ll in ends])
            starts = [ends[int(np.argmax(logliks))][0]]
        timings["screen"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ends = [_lbfgs(th0, data, layout, size, n_total, int(self.max_iter)) for th0 in starts]
        full = np.array([ll for _, ll in ends])
        if logliks is None:
            logliks = full
        theta = ends[int(np.argmax(full))][0]
        sd_slice = slice(layout.n_asc + layout.n_coef, theta.size)
        if (theta[sd_slice] < 0).any():  # report |s|: flip and re-polish on these draws
            theta[sd_slice] = np.abs(theta[sd_slice])
            theta = _lbfgs(theta, data, layout, size, n_total, int(self.max_iter))[0]
        timings["lbfgs"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        theta, ll, g, H, meat, converged = _polish(theta, data, layout, size, n_total)
        timings["newton"] = time.perf_counter() - t0

        names = spec.param_names(alt_ids) + [f"SD_{spec.design_columns(alt_ids)[k].name}" for k in layout.random]
        cov = covariance(H)
        self.spec_ = spec
        self.layout_ = layout
        self.alternatives_ = alt_ids
        self.reference_ = spec.reference_alt(alt_ids)
        self.params_ = pd.Series(theta, index=names, name="estimate")
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        self.std_errors_ = _std(cov, names, "std_error")
        if self.robust:
            self.robust_std_errors_ = _std(covariance(H, meat), names, "robust_std_error")
        self.loglik_ = float(ll)
        self.start_logliks_ = logliks
        self.mnl_loglik_ = float(mnl.loglik_)
        self.n_obs_ = arrays.n_obs
        self.n_customers_ = n_cust
        self.converged_ = converged
        self.grad_ = g
        self.fit_time_ = time.perf_counter() - t_start
        self.timings_ = timings
        self._columns = {"obs": obs, "alt": alt, "choice": choice, "avail": avail}
        return self

    def _starts(self, mnl_theta: np.ndarray, arrays: ChoiceArrays, layout: Layout) -> list[np.ndarray]:
        """The MNL estimate with each SD at ``c * scale`` (see ``sd_starts``)."""
        scales = self.sd_starts
        if not len(scales):
            raise ValueError("sd_starts needs at least one value")
        av = arrays.avail
        starts = []
        for c in scales:
            th = mnl_theta.copy()
            sds = []
            for k, kind in zip(layout.random, layout.kinds, strict=True):
                b = mnl_theta[layout.n_asc + k]
                if kind in ("lognormal", "neg_lognormal"):
                    th[layout.n_asc + k] = np.log(max(abs(b), 1e-3))
                    sds.append(float(c))
                else:
                    spread = float(np.std(arrays.X[..., k][av]))
                    sds.append(float(c) * max(abs(b), 1.0 / spread if spread > 0 else 1.0))
            starts.append(np.concatenate([th, sds]))
        return starts

    # ------------------------------------------------------------------ prediction
    @in_float64
    def coefficient_draws(self, n_draws: int | None = None, seed: int | None = None,
                          method: str | None = None) -> pd.DataFrame:
        """R draws of the population's coefficients: one row per draw, columns
        ``ASC_<alt>`` and the coefficients (the random ones drawn, the fixed ones constant).

        Defaults: the model's ``n_draws``, a seed other than the fit's (fresh draws), its method.
        """
        self._check_fitted()
        R = int(self.n_draws if n_draws is None else n_draws)
        Z = standard_draws(1, R, self.layout_.kinds, method or self.draws,
                           (int(self.seed) + 1 if seed is None else seed))[0]
        asc, beta = coefficients(jnp.asarray(self.params_.to_numpy()), jnp.asarray(Z), self.layout_)
        names = list(self.params_.index[: self.layout_.n_asc + self.layout_.n_coef])
        table = np.concatenate([np.broadcast_to(np.asarray(asc), (R, asc.shape[0])), np.asarray(beta)], axis=1)
        return pd.DataFrame(table, columns=names)

    @in_float64
    def predict_proba(self, df: pd.DataFrame, obs: str | None = None, alt: str | None = None,
                      avail: str | None = None, n_draws: int | None = None, seed: int | None = None,
                      block: int = 20_000) -> pd.Series:
        """Unconditional ``P(alt | obs)`` for every row of ``df``, averaged over ``n_draws``
        population draws (default: the model's ``n_draws``, fresh seed); aligned with ``df``."""
        self._check_fitted()
        arrays, _ = _pack_for_predict(self, df, obs, alt, avail)
        R = int(self.n_draws if n_draws is None else n_draws)
        Z = jnp.asarray(standard_draws(1, R, self.layout_.kinds, self.draws,
                                       int(self.seed) + 1 if seed is None else seed)[0])
        theta = jnp.asarray(self.params_.to_numpy())
        A = jnp.asarray(self.spec_.asc_matrix(arrays.alt_ids))
        parts = [np.asarray(mixed_probabilities(theta, jnp.asarray(arrays.X[s : s + block]),
                                                jnp.asarray(arrays.avail[s : s + block]), A, Z, self.layout_))
                 for s in range(0, arrays.n_obs, block)]
        return pd.Series(arrays.rows_from_dense(np.concatenate(parts)), index=df.index, name="proba")

    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors and t statistics."""
        self._check_fitted()
        return pd.DataFrame({"estimate": self.params_, "std_error": self.std_errors_,
                             "t": self.params_ / self.std_errors_})

    def as_segments(self, n_draws: int | None = None, seed: int | None = None, method: str = "sobol"):
        """The sampled model as equally weighted MNL segments for the optimizer
        (:class:`~bundleopt.choice.draw_segments.DrawSegments`; ``n_draws`` default
        ``DEFAULT_SEGMENT_DRAWS``). ``Scenario.from_models`` calls this with the defaults."""
        from bundleopt.choice.draw_segments import DEFAULT_SEGMENT_DRAWS, DrawSegments

        return DrawSegments.from_model(self, n_draws=n_draws or DEFAULT_SEGMENT_DRAWS, seed=seed, method=method)

    # ------------------------------------------------------------------ ChoiceModel
    def segment_coefficients(self) -> pd.DataFrame:
        """One row of coefficients per segment of :meth:`as_segments` (its defaults)."""
        self._check_fitted()
        return self.as_segments().table

    def segment_weights(self) -> np.ndarray:
        """The equal weights ``1/R`` of :meth:`as_segments`' R segments."""
        self._check_fitted()
        return np.asarray(self.as_segments().shares_)


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


def _std(cov: np.ndarray, names: list[str], name: str) -> pd.Series:
    diag = np.diag(cov)
    return pd.Series(np.sqrt(np.where(np.isfinite(diag) & (diag >= 0), diag, np.nan)), index=names, name=name)


def _customer_codes(df: pd.DataFrame, obs: str, panel: str, arrays: ChoiceArrays) -> np.ndarray:
    """(N,) customer code of each observation; one customer per observation is required."""
    if df[panel].isna().any():
        raise ValueError(f"panel column {panel!r} has missing values")
    pairs = df[[obs, panel]].drop_duplicates()
    dup = pairs[obs].duplicated(keep=False)
    if dup.any():
        raise ValueError(f"panel column {panel!r} must be constant within each observation; "
                         f"{int(pairs.loc[dup, obs].nunique())} observation(s) have several customers, "
                         f"e.g.\n{pairs.loc[dup].head(5).to_string()}")
    by_obs = pairs.set_index(obs)[panel]
    codes, _ = pd.factorize(by_obs.reindex(arrays.obs_ids).to_numpy(), sort=False)
    return codes.astype(np.int64)
