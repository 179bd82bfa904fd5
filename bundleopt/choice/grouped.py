"""Choice occasions grouped by menu: the MNL likelihood without occasions x alternatives.

Representation (:class:`MenuChoices`, ``formulations/choice_data.md``): ``M`` base menus
(features ``Xb[m]`` (J, K) and availability of the J alternatives) and ``R`` choice
records ``(menu m_r, chosen j_r, features x_r of the chosen alternative, count w_r)``:
``w_r`` occasions that faced menu ``m_r``, except that the chosen alternative ``j_r`` had
the features ``x_r`` (the price actually paid) and was available, and all chose ``j_r``.
Occasions with the same menu, choice and chosen features are one record (counts add);
no-purchase occasions of one menu are one record.

With ``u[m, l] = (A asc)_l + Xb[m, l] . beta`` and ``v_r = (A asc)_{j_r} + x_r . beta``,
the log-likelihood is exact::

    LL = sum_r w_r (v_r - log(T[m_r, j_r] + exp(v_r))),   T[m, j] = sum_{l != j, avail} exp(u[m, l])

(the sum over occasions of ``log P(chosen | menu)``, identical occasions summed as a count
times one term). ``T`` comes from exclusive prefix and suffix sums along the alternatives
(no subtraction, so no cancellation), after shifting each menu by its largest utility.
One evaluation costs ``O(M J K + R K)`` and the exact Hessian ``O(M J^2 + R K^2)`` (see
:func:`derivatives`): memory never holds an (occasions x alternatives) array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MenuChoices:
    """Choice data grouped by menu (numpy; see the module docstring).

    Attributes:
        X: (M, J, K) base features of each menu's alternatives (0 where unavailable).
        avail: (M, J) bool, which alternatives each base menu offers.
        menu: (R,) int, the base menu of each record.
        choice: (R,) int, the chosen alternative of each record.
        x_chosen: (R, K), the chosen alternative's features on that record.
        count: (R,) float, occasions in the record (weights; 0 = padding).
        alt_ids: the J alternative ids; features: the K feature names.
    """

    X: np.ndarray
    avail: np.ndarray
    menu: np.ndarray
    choice: np.ndarray
    x_chosen: np.ndarray
    count: np.ndarray
    alt_ids: pd.Index
    features: tuple[str, ...]

    @property
    def n_occasions(self) -> float:
        return float(self.count.sum())

    def padded(self, n_menus: int, n_records: int) -> MenuChoices:
        """Pad with unavailable menus and zero-count records (fewer JAX compilations)."""
        M, J, K = self.X.shape
        R = len(self.menu)
        pm, pr = max(0, n_menus - M), max(0, n_records - R)
        return MenuChoices(
            X=np.concatenate([self.X, np.zeros((pm, J, K))]),
            avail=np.concatenate([self.avail, np.zeros((pm, J), bool)]),
            menu=np.concatenate([self.menu, np.zeros(pr, self.menu.dtype)]),
            choice=np.concatenate([self.choice, np.zeros(pr, self.choice.dtype)]),
            x_chosen=np.concatenate([self.x_chosen, np.zeros((pr, K))]),
            count=np.concatenate([self.count, np.zeros(pr)]),
            alt_ids=self.alt_ids, features=self.features,
        )

    def to_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(X, choice, avail, weight)`` one row per record (materialised: tests, small data)."""
        X = self.X[self.menu].copy()
        avail = self.avail[self.menu].copy()
        r = np.arange(len(self.menu))
        X[r, self.choice] = self.x_chosen
        avail[r, self.choice] = True
        return X, self.choice.astype(np.int32), avail, self.count.astype(float)


def group_records(
    menu: np.ndarray, choice: np.ndarray, x_chosen: np.ndarray, count: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge records with the same (menu, choice, chosen features), adding their counts."""
    x_chosen = np.asarray(x_chosen, dtype=float).reshape(len(menu), -1)
    count = np.ones(len(menu)) if count is None else np.asarray(count, dtype=float)
    key = pd.DataFrame({"m": menu, "j": choice, **{f"x{k}": x_chosen[:, k] for k in range(x_chosen.shape[1])}})
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(key), sort=True)
    w = np.bincount(codes, weights=count, minlength=len(uniques))
    u = uniques.to_frame(index=False).to_numpy()
    return u[:, 0].astype(np.int64), u[:, 1].astype(np.int64), u[:, 2:].astype(float), w


class MenuData(NamedTuple):
    """:class:`MenuChoices` on the JAX device, plus the ASC map ``A`` (J, n_asc)."""

    X: jax.Array
    avail: jax.Array
    menu: jax.Array
    choice: jax.Array
    x_chosen: jax.Array
    count: jax.Array
    A: jax.Array


def make_menu_data(mc: MenuChoices, A: np.ndarray) -> MenuData:
    """``mc`` on the device with the ASC map ``A``: a selection matrix (each column one 1,
    each row at most one), as :meth:`~bundleopt.choice.spec.ModelSpec.asc_matrix` builds
    it, so that :func:`derivatives` maps alternative space to constants by indexing."""
    A = np.asarray(A, dtype=float)
    if A.size and not (np.isin(A, (0.0, 1.0)).all() and (A.sum(axis=0) == 1).all() and (A.sum(axis=1) <= 1).all()):
        raise ValueError("the ASC map must select one alternative per constant (each column one 1, "
                         "each row at most one)")
    return MenuData(
        X=jnp.asarray(mc.X, dtype=jnp.float64), avail=jnp.asarray(mc.avail, dtype=bool),
        menu=jnp.asarray(mc.menu, dtype=jnp.int32), choice=jnp.asarray(mc.choice, dtype=jnp.int32),
        x_chosen=jnp.asarray(mc.x_chosen, dtype=jnp.float64).reshape(len(mc.menu), -1),
        count=jnp.asarray(mc.count, dtype=jnp.float64), A=jnp.asarray(A, dtype=jnp.float64),
    )


def _excl(a: jax.Array) -> jax.Array:
    """``sum_{l != j} a[m, l, ...]`` along axis 1 from prefix and suffix sums (no subtraction)."""
    zero = jnp.zeros_like(a[:, :1])
    pre = jnp.concatenate([zero, jnp.cumsum(a, axis=1)[:, :-1]], axis=1)
    rev = a[:, ::-1]
    suf = jnp.concatenate([zero, jnp.cumsum(rev, axis=1)[:, :-1]], axis=1)[:, ::-1]
    return pre + suf


def _core(theta: jax.Array, d: MenuData):
    """Shared pieces: per-record log-likelihood, ``a`` (= 1 - P(chosen)), ``pi`` and menu terms."""
    n_asc = d.A.shape[1]
    asc, beta = theta[:n_asc], theta[n_asc:]
    alt_u = d.A @ asc  # (J,)
    u = jnp.where(d.avail, d.X @ beta + alt_u, -jnp.inf)  # (M, J)
    c = jnp.max(u, axis=1)
    c = jnp.where(jnp.isfinite(c), c, 0.0)
    E = jnp.where(d.avail, jnp.exp(u - c[:, None]), 0.0)
    T = _excl(E)  # (M, J)
    v = alt_u[d.choice] + d.x_chosen @ beta  # (R,)
    Tr = T[d.menu, d.choice]
    logT = jnp.where(Tr > 0, jnp.log(jnp.where(Tr > 0, Tr, 1.0)), -jnp.inf) + c[d.menu]
    logD = jnp.logaddexp(logT, v)
    ll_r = v - logD
    a = jnp.exp(logT - logD)
    pi = jnp.exp(ll_r)
    return ll_r, a, pi, E, T


@jax.jit
def menu_loglik(theta: jax.Array, d: MenuData) -> jax.Array:
    """``LL = sum_r w_r log P(j_r | record r)``."""
    return jnp.sum(d.count * _core(theta, d)[0])


def _safe_div(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.where(b > 0, a / jnp.where(b > 0, b, 1.0), 0.0)


class HessianFactors(NamedTuple):
    """``-H = diag(diag) + left^T right`` in parameter space (``p = n_asc + K``): a diagonal
    plus a product of two ``(2M + 2K) x p`` factors (symmetric as a whole). With ``M`` menus
    far fewer than ``J`` alternatives, the factors are small and the dense ``p x p`` matrix
    is one matrix product away (:func:`dense_neg_hessian`)."""

    diag: jax.Array
    left: jax.Array
    right: jax.Array


def _parts(theta: jax.Array, d: MenuData) -> tuple[jax.Array, jax.Array, HessianFactors]:
    """``(LL, gradient, factors of -H)`` in closed form over menus and records.

    Per record, ``P`` puts ``pi`` on the chosen alternative and ``a q_l`` on the others,
    ``q_l = E[m, l] / T[m, j]`` (``l != j``); with ``mu[m, j] = sum_{l != j} q_l z[m, l]``
    (``z = [e_l, x]`` in alternative space): gradient ``sum_r w a (z_r - mu)``, and
    ``-H = sum_r w (Z^T diag(P) Z - y y^T)`` with ``y = a mu + pi z_r``, which expands into
    per-cell sums (cell = (menu, chosen alternative)) of ``alpha = sum w a``,
    ``alpha2 = sum w a^2``, ``kappa = sum w a pi`` (and their products with ``x_r``) times
    menu-level terms in ``E``. The alternatives' block is a diagonal plus
    ``-E^T C E + Eg^T E + E^T Eg - E^T kt - kt^T E = [E; G]^T [F; E]`` with
    ``F = Eg - kt - C E`` and ``G = Eg - kt`` (``Eg = E gamma``, ``kt = kappa / T``, ``C``
    the menus' sums of ``gamma = alpha2 / T^2``): rank ``2M``. The constants take their
    alternatives' rows and columns (``A`` selects, :func:`make_menu_data`).
    """
    ll_r, a, pi, E, T = _core(theta, d)
    M, J, K = d.X.shape
    w = d.count
    cell = d.menu * J + d.choice
    seg = lambda x: jax.ops.segment_sum(x, cell, num_segments=M * J).reshape((M, J) + x.shape[1:])  # noqa: E731
    xr = d.x_chosen
    alpha, alpha2, kappa = seg(w * a), seg(w * a * a), seg(w * a * pi)
    xi_k = seg((w * a * pi)[:, None] * xr)  # (M, J, K)
    S1 = _excl(E[:, :, None] * d.X)  # (M, J, K): sum_{l != j} E_l x_l
    idx = jnp.argmax(d.A, axis=0)  # the alternative of each constant (A selects: make_menu_data)
    # gradient (alternative space, then the constants' alternatives)
    at = _safe_div(alpha, T)
    B = jnp.sum(at, axis=1)
    omega = E * (B[:, None] - at)  # (M, J): sum_j alpha_j q^{(j)}_l
    g_alt = jnp.sum(alpha, axis=0) - jnp.sum(omega, axis=0)
    g_beta = jnp.sum((w * a)[:, None] * xr, axis=0) - jnp.sum(at[:, :, None] * S1, axis=(0, 1))
    g = jnp.concatenate([g_alt[idx], g_beta])

    # -H in alternative space (J + K): diag part sum_cells alpha Q2 + sum_r w a pi z z^T,
    # minus sum_cells alpha2 mu mu^T, minus the cross terms sum_cells (mu zeta^T + zeta mu^T),
    # zeta = [kappa e_j, xi_k]
    Xb = d.X
    gam = _safe_div(alpha2, T * T)
    C = jnp.sum(gam, axis=1)
    Eg = E * gam
    kt = _safe_div(kappa, T)
    d_aa = jnp.sum(omega + kappa - E * Eg + 2 * E * kt, axis=0)  # (J,)
    ab = jnp.einsum("ml,mlk->lk", omega, Xb) + jnp.sum(xi_k, axis=0)
    bb = jnp.einsum("ml,mlk,mlh->kh", omega, Xb, Xb) + jnp.einsum("r,rk,rh->kh", w * a * pi, xr, xr)
    F = jnp.einsum("mj,mjk->mk", gam, S1)
    ab = ab - (jnp.einsum("ml,mk->lk", E, F) - jnp.einsum("ml,mlk->lk", Eg, S1))
    bb = bb - jnp.einsum("mj,mjk,mjh->kh", gam, S1, S1)
    xt = _safe_div(1.0, T)[:, :, None] * xi_k  # xi / T
    cross_ab = jnp.einsum("ml,mk->lk", E, jnp.sum(xt, axis=1)) - jnp.einsum("ml,mlk->lk", E, xt)
    cross_ba = jnp.einsum("mjk,mj->kj", S1, kt)  # (K, J): sum_m kappa m1
    cross_bb = jnp.einsum("mjk,mjh->kh", S1, xt)
    ab = ab - cross_ab - cross_ba.T
    bb = bb - cross_bb - cross_bb.T
    bb = (bb + bb.T) / 2
    # the constants' rows and columns, then the features' border as two more factor pairs:
    # [ab^T | 0]^T [0 | I] + [0 | I]^T [ab^T | bb - diag(bb)]
    G = Eg - kt
    low_left = jnp.concatenate([E, G])[:, idx]
    low_right = jnp.concatenate([Eg - kt - C[:, None] * E, E])[:, idx]
    abi = ab[idx].T  # (K, n_asc)
    eye, zk = jnp.eye(K), jnp.zeros((2 * M, K))
    left = jnp.block([[low_left, zk], [abi, jnp.zeros((K, K))], [jnp.zeros_like(abi), eye]])
    right = jnp.block([[low_right, zk], [jnp.zeros_like(abi), eye], [abi, bb - jnp.diag(jnp.diag(bb))]])
    diag = jnp.concatenate([d_aa[idx], jnp.diag(bb)])
    return jnp.sum(w * ll_r), g, HessianFactors(diag, left, right)


@jax.jit
def derivatives(theta: jax.Array, d: MenuData) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(LL, gradient, Hessian)`` in closed form over menus and records (:func:`_parts`),
    the Hessian dense (small models, inside JAX programs: the latent-class EM step)."""
    ll, g, f = _parts(theta, d)
    neg = jnp.diag(f.diag) + f.left.T @ f.right
    return ll, g, -(neg + neg.T) / 2


@jax.jit
def derivative_factors(theta: jax.Array, d: MenuData) -> tuple[jax.Array, jax.Array, HessianFactors]:
    """``(LL, gradient, factors of -H)`` (:func:`_parts`): ``O(M J + R K)`` memory."""
    return _parts(theta, d)


def dense_neg_hessian(f: HessianFactors) -> np.ndarray:
    """``-H`` as a dense numpy array from its factors: one BLAS product and the diagonal
    added in place (one ``p x p`` array; the product is symmetric up to rounding)."""
    left, right = np.asarray(f.left), np.asarray(f.right)
    out = left.T @ right
    out[np.diag_indices_from(out)] += np.asarray(f.diag)
    return out


def numpy_derivatives(theta: np.ndarray, d: MenuData) -> tuple[float, np.ndarray, np.ndarray]:
    """``(LL, gradient, Hessian)`` as numpy values: :func:`derivative_factors` in JAX and
    the dense Hessian by :func:`dense_neg_hessian` (large ``J``: no ``J x J`` temporaries)."""
    ll, g, f = derivative_factors(jnp.asarray(theta), d)
    H = dense_neg_hessian(f)
    np.negative(H, out=H)
    return float(ll), np.asarray(g), H


@jax.jit
def raw_moments(d: MenuData) -> jax.Array:
    """Uncentred second moments at equal shares (scale for :func:`~bundleopt.choice.identification.identify`)."""
    M, J, K = d.X.shape
    wm = jax.ops.segment_sum(d.count, d.menu, num_segments=M)
    p0 = d.avail / jnp.maximum(jnp.sum(d.avail, axis=1, keepdims=True), 1)
    wp = wm[:, None] * p0
    asc = jnp.sum(wp, axis=0) @ (d.A**2)
    beta = jnp.einsum("mj,mjk->k", wp, d.X**2) + d.count @ (d.x_chosen**2)
    return jnp.concatenate([asc, beta])

