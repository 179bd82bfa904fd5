"""Which parameters the data identify, and whether the maximum likelihood is finite.

Two ways an MNL (or a class of a latent-class MNL) has no unique finite estimate:

* **Unidentified parameters.** The Hessian of the log-likelihood is
  ``H(theta) = -sum_n w_n Z_n^T (diag P_n - P_n P_n^T) Z_n``, the (negative) weighted
  covariance of the rows of ``Z_n`` under ``P_n``. As every available alternative has
  ``P_nj > 0`` for finite ``theta``, ``H(theta) v = 0`` exactly when ``Z_n v`` is constant
  over the available alternatives of every observation (weight > 0): the null space does
  not depend on ``theta``, so it is read once at ``theta = 0`` (equal shares). A feature
  that is zero, or constant within every observation, or collinear with the constants,
  spans such a direction. Parameter k is *unidentified* when ``e_k`` is not orthogonal to
  that null space; the others are estimable and their variance ``e_k^T (-H)^+ e_k`` does
  not depend on which generalised inverse is used, so standard errors are computed on the
  identified subspace ``U`` (the null space's orthogonal complement):
  ``cov = U (U^T (-H) U)^{-1} U^T``, NaN only for the unidentified parameters. The fit
  itself moves only within ``U`` (unidentified directions keep their start value, 0).

* **Separation.** A direction ``d`` (within ``U``) with ``(Z_{n,y_n} - Z_{n,j}) d >= 0``
  for every observation and available ``j``, strictly for some, increases the
  log-likelihood without bound along ``d``: the maximum is not attained (perfect or
  quasi-perfect prediction). The fit then stops somewhere along ``d`` with a near-zero
  curvature there. Screening: the smallest generalised eigenvalue of
  ``(U^T (-H) U, U^T (-H_0) U)`` (curvature at the estimate relative to that at 0) below
  ``screen``; confirmation: the linear programme ``max sum_rows R d`` subject to
  ``R d >= 0``, ``-1 <= d <= 1`` (HiGHS), whose optimum is positive exactly when such a
  ``d`` exists. The parameters with a non-zero component in ``d`` (measured in units of
  their effect on utilities) are the ones whose estimates diverge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

__all__ = [
    "IdentificationWarning",
    "Identification",
    "identify",
    "identify_factored",
    "reduced_newton_step",
    "subspace_covariance",
    "separating_direction",
    "choice_differences",
]


class IdentificationWarning(UserWarning):
    """The data do not identify some parameters, or their estimates diverge (separation)."""


@dataclass(frozen=True)
class Identification:
    """Identified subspace of a parameter vector.

    ``basis`` (p, r): orthonormal basis of the identified subspace (the identity when
    all p parameters are identified); ``unidentified`` (p,) bool; ``scale`` (p,): square
    roots of the diagonal of ``-H_0`` (a parameter's effect on utilities, per unit).
    """

    basis: np.ndarray
    unidentified: np.ndarray
    scale: np.ndarray

    def names(self, names: Sequence[str]) -> list[str]:
        return [n for n, bad in zip(names, self.unidentified, strict=True) if bad]


def identify(H0: np.ndarray, raw: np.ndarray | None = None, rtol: float = 1e-9) -> Identification:
    """Null space of ``-H0`` (the Hessian at equal shares), after scaling to unit diagonal.

    ``raw`` (p,): the uncentred second moments of the parameters' columns
    (:func:`~bundleopt.choice.likelihood.raw_second_moment`); a diagonal entry of ``-H0``
    below ``1e-20 * raw`` is rounding error (a column constant within every observation
    leaves ``x - mean(x)`` at about ``1e-16 |x|``) and counts as zero.

    With ``D = diag(-H0)^{-1/2}``, ``M = D (-H0) D`` has unit diagonal and eigenvalues in
    ``[0, p]``; eigenvectors with eigenvalue below ``rtol * p`` span its null space ``W``,
    and ``D W`` that of ``-H0``. Parameters with zero diagonal are unidentified outright.
    """
    M = -np.asarray(H0, dtype=float)
    zero, scale, live = _live(np.diag(M).copy(), raw)
    W = np.zeros((live.size, 0))
    if live.size:
        d = 1.0 / scale[live]
        Ms = M[np.ix_(live, live)] * d[:, None] * d[None, :]
        vals, vecs = np.linalg.eigh((Ms + Ms.T) / 2)
        W = vecs[:, vals < rtol * max(len(live), 1)]
    return _identification(W, zero, scale, live)


def identify_factored(
    diag: np.ndarray, left: np.ndarray, right: np.ndarray, raw: np.ndarray | None = None,
    rtol: float = 1e-9, min_diag_share: float = 1e-3,
) -> Identification:
    """:func:`identify` for ``-H0 = diag(diag) + left^T right`` (``left``, ``right``:
    ``q x p`` with ``q`` much smaller than ``p``, :class:`~bundleopt.choice.grouped.HessianFactors`),
    in ``O(p q^2)`` instead of the ``O(p^3)`` eigen-decomposition.

    Why the null space is found in a ``q``-dimensional subspace: where ``diag_j > 0``,
    ``-H0 v = 0`` gives ``v_j = -(left^T (right v))_j / diag_j``, so every null vector lies in
    ``span(columns of diag^{-1} left^T, e_j for the other j)``. Coordinates whose ``diag_j``
    is below ``min_diag_share`` of the full diagonal entry are taken as such other ``j``
    (their unit vectors join the subspace). A near-null vector of the scaled matrix (the
    eigenvalue ``lam`` below ``rtol p``) lies within ``lam`` times
    ``max (-H0)_jj / diag_j <= 1 / min_diag_share`` of that subspace, so the Rayleigh-Ritz
    values on it (never below the true smallest eigenvalues) fall below the threshold for the
    same vectors up to that distance. Falls back to the dense :func:`identify` when more
    than a quarter of the coordinates need their own unit vector.
    """
    diag, left, right = (np.asarray(a, dtype=float) for a in (diag, left, right))
    full_diag = diag + np.einsum("qi,qi->i", left, right)
    zero, scale, live = _live(full_diag, raw)
    W = np.zeros((live.size, 0))
    if live.size:
        d = 1.0 / scale[live]
        dl, L, R = diag[live], left[:, live], right[:, live]
        good = dl > min_diag_share * full_diag[live]
        if (~good).sum() > max(8, live.size // 4):
            H0 = -(left.T @ right)
            H0[np.diag_indices_from(H0)] -= diag
            return identify(H0, raw, rtol)
        Y = np.where(good[:, None], L.T / np.where(good, dl, 1.0)[:, None], 0.0)  # (live, q)
        cand = np.hstack([Y * scale[live][:, None], np.eye(live.size)[:, ~good]])
        B = np.linalg.qr(cand)[0]  # orthonormal; a superset of the span is harmless (Ritz values >= eigenvalues)
        X = B * d[:, None]  # back to unscaled coordinates
        MX = dl[:, None] * X + L.T @ (R @ X)
        small = B.T @ (MX * d[:, None])
        vals, vecs = np.linalg.eigh((small + small.T) / 2)
        W = B @ vecs[:, vals < rtol * max(len(live), 1)]
    return _identification(W, zero, scale, live)


def _live(diag: np.ndarray, raw: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(zero, scale, live)``: parameters whose diagonal of ``-H0`` is rounding error,
    the square roots of the diagonal, and the indices of the others (see :func:`identify`)."""
    floor = 1e-20 * (np.asarray(raw, dtype=float) if raw is not None else np.max(np.abs(diag), initial=0.0))
    zero = ~(diag > np.maximum(floor, 1e-300))
    scale = np.sqrt(np.where(zero, 0.0, diag))
    return zero, scale, np.flatnonzero(~zero)


def _identification(W: np.ndarray, zero: np.ndarray, scale: np.ndarray, live: np.ndarray) -> Identification:
    """The :class:`Identification` from ``W``, an orthonormal basis of the scaled null space
    on the ``live`` coordinates, and the ``zero``-diagonal parameters."""
    p = zero.size
    unidentified = zero.copy()
    null = np.zeros((p, 0))
    if W.shape[1]:
        unidentified[live] |= np.max(np.abs(W), axis=1) > 1e-6
        null = np.zeros((p, W.shape[1]))
        null[live] = W / scale[live][:, None]
    null = np.hstack([null, np.eye(p)[:, zero]])
    basis = np.eye(p) if null.shape[1] == 0 else scipy.linalg.null_space(null.T)
    return Identification(basis=basis, unidentified=unidentified, scale=scale)


def reduced_newton_step(g: np.ndarray, H: np.ndarray, basis: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Newton direction within ``span(basis)``: ``U (U^T (-H) U)^{-1} U^T g`` and its decrement
    ``g^T step`` (``inf`` when that reduced Hessian is singular or not negative definite)."""
    U = None if _spans_all(basis, H.shape[0]) else basis
    gr = g if U is None else U.T @ g
    z = _pd_solve(lambda: np.negative(H) if U is None else U.T @ (-H) @ U, gr)
    if z is None:
        return np.zeros_like(g), float("inf")
    step = z if U is None else U @ z
    decrement = float(gr @ z)
    if not np.isfinite(decrement) or decrement < 0:
        return step, float("inf")
    return step, decrement


def _spans_all(basis: np.ndarray | None, p: int) -> bool:
    """True when ``basis`` (orthonormal columns) spans all of R^p: then ``U (U^T M U)^{-1} U^T
    = M^{-1}`` and the (p x p x p) products with ``U`` are skipped."""
    return basis is None or basis.shape[1] == p


def _pd_solve(make: Callable[[], np.ndarray], b: np.ndarray) -> np.ndarray | None:
    """``M^{-1} b`` for a symmetric ``M = make()`` (a fresh array, factorised in place: one
    ``p x p`` array at a time) expected positive definite: Cholesky (a third of LU's flops),
    LU on a second ``make()`` when Cholesky fails; ``None`` when ``M`` is singular."""
    try:
        factor = scipy.linalg.cho_factor(make(), overwrite_a=True, check_finite=False)
        return scipy.linalg.cho_solve(factor, b, check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        pass
    try:
        return np.linalg.solve(make(), b)
    except np.linalg.LinAlgError:
        return None


def _pd_inverse(M: np.ndarray, block: int = 512, overwrite: bool = False) -> np.ndarray | None:
    """The symmetric inverse of a symmetric ``M`` expected positive definite: Cholesky and
    LAPACK's ``potri`` (two ``p x p`` arrays, no identity right-hand side), the lower
    triangle copied from the upper by blocks; LU's inverse, symmetrised, when Cholesky
    fails; ``None`` when ``M`` is singular. ``overwrite``: factorise ``M`` in place (one
    array fewer; then ``None`` also when Cholesky fails, and the caller goes to LU)."""
    try:
        c, lower = scipy.linalg.cho_factor(M, overwrite_a=overwrite, check_finite=False)
        inv, info = scipy.linalg.lapack.dpotri(c, lower=lower, overwrite_c=True)
        if info != 0:
            raise np.linalg.LinAlgError("potri failed")
    except (np.linalg.LinAlgError, ValueError):
        if overwrite:
            return None  # M is spent: the caller rebuilds it for LU (subspace_covariance)
        try:
            inv = np.linalg.inv(M)
        except np.linalg.LinAlgError:
            return None
        return (inv + inv.T) / 2
    p = inv.shape[0]
    for i in range(0, p, block):  # potri filled one triangle: mirror it, block row by block row
        j = min(i + block, p)
        d = inv[i:j, i:j]
        if lower:
            inv[:i, i:j] = inv[i:j, :i].T
            inv[i:j, i:j] = np.tril(d) + np.tril(d, -1).T
        else:
            inv[i:j, :i] = inv[:i, i:j].T
            inv[i:j, i:j] = np.triu(d) + np.triu(d, 1).T
    return inv


def subspace_covariance(
    H: np.ndarray, basis: np.ndarray | None = None, meat: np.ndarray | None = None,
    unidentified: np.ndarray | None = None,
) -> np.ndarray:
    """``U (U^T (-H) U)^{-1} U^T`` (or the sandwich with ``meat``), NaN on the rows and
    columns of ``unidentified`` parameters; all NaN when the reduced Hessian is singular."""
    p = H.shape[0]
    U = None if _spans_all(basis, p) else basis
    def reduced() -> np.ndarray:
        return np.negative(H) if U is None else U.T @ (-H) @ U

    inv = _pd_inverse(reduced(), overwrite=True)  # one p x p array besides H
    if inv is None:
        inv = _pd_inverse(reduced())  # not positive definite: LU
    if inv is None:
        return np.full((p, p), np.nan)
    if meat is not None:
        inv = inv @ (meat if U is None else U.T @ meat @ U) @ inv
    cov = inv if U is None else U @ inv @ U.T
    if unidentified is not None and unidentified.any():
        cov[unidentified, :] = np.nan
        cov[:, unidentified] = np.nan
    return cov


def choice_differences(
    X: np.ndarray, choice: np.ndarray, avail: np.ndarray, weight: np.ndarray, A: np.ndarray,
) -> np.ndarray:
    """Rows ``Z_{n,y_n} - Z_{n,j}`` for every observation with weight > 0 and available
    ``j != y_n`` (``Z_{n,j} = [A_j, X_{n,j}]``), shape (rows, n_asc + K)."""
    keep = np.asarray(weight) > 0
    X, choice, avail = np.asarray(X)[keep], np.asarray(choice)[keep], np.asarray(avail)[keep]
    n = X.shape[0]
    other = avail.copy()
    other[np.arange(n), choice] = False
    nn, jj = np.nonzero(other)
    yy = choice[nn]
    return np.hstack([A[yy] - A[jj], X[nn, yy] - X[nn, jj]])


def separating_direction(
    rows: np.ndarray, basis: np.ndarray, scale: np.ndarray, tol: float = 1e-7,
) -> np.ndarray | None:
    """A direction ``d`` in ``span(basis)`` with ``rows @ d >= 0`` and ``sum(rows @ d) > 0``
    (separation), normalised to ``max |scale * d| = 1``, or ``None`` when none exists.

    Solved as the LP ``max 1^T R U z`` s.t. ``R U z >= 0``, ``-1 <= z <= 1`` with the
    columns of ``R U`` scaled to unit maximum (HiGHS).
    """
    if rows.shape[0] == 0 or basis.shape[1] == 0:
        return None
    RU = rows @ basis
    col = np.max(np.abs(RU), axis=0)
    col = np.where(col > 0, col, 1.0)
    RUs = RU / col
    res = scipy.optimize.linprog(
        -RUs.sum(axis=0), A_ub=-RUs, b_ub=np.zeros(len(RUs)),
        bounds=[(-1.0, 1.0)] * RUs.shape[1], method="highs",
    )
    if res.status != 0 or -res.fun <= tol * max(1, len(RUs)) ** 0.5:
        return None
    d = basis @ (res.x / col)
    if np.min(RU @ (res.x / col)) < -1e-9 * np.max(np.abs(RU @ (res.x / col))):
        return None
    eff = np.abs(d) * np.where(scale > 0, scale, 1.0)
    return d / max(float(eff.max()), 1e-300)


def screen_separation(
    H: np.ndarray, H0: np.ndarray | Callable[[], np.ndarray], basis: np.ndarray, screen: float = 1e-5,
    max_chosen_prob: float = 1.0,
) -> bool:
    """True when some choice is predicted almost surely (``max_chosen_prob``, the largest
    probability of a chosen alternative, above ``1 - 1e-4``: separated observations are
    predicted perfectly at the end of the fit, as their score terms ``w (1 - P)`` must
    vanish) and the curvature at the estimate is, in some identified direction, below
    ``screen`` times that at ``theta = 0`` (smallest generalised eigenvalue)."""
    if basis.shape[1] == 0 or max_chosen_prob < 1 - 1e-4:
        return False
    full = _spans_all(basis, H.shape[0])
    H0 = H0() if callable(H0) else H0  # built only when the screen needs it (p x p)
    A = -H if full else basis.T @ (-H) @ basis
    B = -H0 if full else basis.T @ (-H0) @ basis
    try:
        vals = scipy.linalg.eigh((A + A.T) / 2, (B + B.T) / 2, eigvals_only=True)
    except (np.linalg.LinAlgError, ValueError):
        return True
    return bool(vals.min() < screen)


def diverging(d: np.ndarray, scale: np.ndarray, names: Sequence[str], tol: float = 1e-6) -> list[str]:
    """Names of the parameters with a non-negligible component in the direction ``d``."""
    eff = np.abs(d) * np.where(scale > 0, scale, 1.0)
    return [n for n, e in zip(names, eff, strict=True) if e > tol]


@dataclass(frozen=True)
class Assessment:
    """What :func:`assess` found: ``unidentified`` and ``separated`` parameter names,
    ``basis`` of the subspace the covariance is computed on (identified, and orthogonal to
    a separating direction), ``nan`` (p,) parameters whose standard error is NaN."""

    unidentified: list[str]
    separated: list[str]
    basis: np.ndarray
    nan: np.ndarray

    def warn(self, what: str) -> None:
        """Emit an :class:`IdentificationWarning` per problem, naming the parameters."""
        import warnings

        if self.unidentified:
            warnings.warn(
                f"{what}: the data do not identify {', '.join(self.unidentified)} (no variation within "
                "observations, or collinear with other parameters); estimates kept at 0, standard "
                "errors NaN: drop or recode those features",
                IdentificationWarning, stacklevel=3,
            )
        if self.separated:
            warnings.warn(
                f"{what}: perfect separation: the choices are predicted perfectly by letting "
                f"{', '.join(self.separated)} grow without bound; no finite maximum-likelihood "
                "estimate exists (converged_ set to False, their standard errors NaN): add data, "
                "drop those features or use a penalised fit",
                IdentificationWarning, stacklevel=3,
            )


def assess(
    H: np.ndarray, H0: np.ndarray | Callable[[], np.ndarray], ident: Identification, rows, names: Sequence[str],
    max_chosen_prob: float = 1.0, screen: float = 1e-5, max_entries: int = 20_000_000,
) -> Assessment:
    """Unidentified parameters, separation (screen, then the LP on ``rows()``), and the
    subspace on which the remaining standard errors are computed.

    ``rows`` is a callable returning :func:`choice_differences` (only called when the
    screen fires); the LP is skipped when it would exceed ``max_entries`` numbers (no
    verdict then). ``max_chosen_prob``: see :func:`screen_separation`.
    """
    basis = ident.basis
    nan = ident.unidentified.copy()
    separated: list[str] = []
    if screen_separation(H, H0, basis, screen, max_chosen_prob):
        d = None
        R = rows()
        if R.size <= max_entries:
            d = separating_direction(R, basis, ident.scale)
        if d is not None:
            separated = diverging(d, ident.scale, names)
            sep = np.array([n in separated for n in names])
            nan |= sep
            basis = scipy.linalg.null_space(np.hstack([np.eye(len(d))[:, ident.unidentified], d[:, None]]).T)
    return Assessment(ident.names(names), separated, basis, nan)
