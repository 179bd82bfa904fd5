"""Multinomial logit estimated by exact maximum likelihood (JAX, float64 while fitting).

``P(j | n) = exp(V[n, j]) / sum_{l available} exp(V[n, l])`` with the linear utility of
:class:`~bundleopt.choice.spec.Specification`. Fitting: :func:`~bundleopt.choice.fitting.
maximize_loglik` (L-BFGS, then Newton with the exact Hessian); standard errors from
``(-H)^{-1}`` (and the sandwich ``H^{-1} (sum_n g_n g_n^T) H^{-1}`` when ``robust=True``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd

from bundleopt.choice.compile_cache import enable_compilation_cache
from bundleopt.choice.estimator import ChoiceEstimator
from bundleopt.choice.fitting import FitResult, maximize_loglik
from bundleopt.choice.grouped import MenuChoices
from bundleopt.choice.identification import assess, choice_differences, subspace_covariance
from bundleopt.choice.likelihood import (
    block_size,
    loglik_per_obs,
    make_data,
    n_blocks,
    probabilities,
    score_outer,
)
from bundleopt.choice.long_format import ChoiceArrays, check_columns, pack_long
from bundleopt.choice.precision import in_float64
from bundleopt.choice.spec import Specification


class MNL(ChoiceEstimator):
    """Multinomial logit with alternative constants, generic and alternative-specific terms.

    Args:
        features: generic feature columns (one coefficient each, shared by all alternatives).
        asc: estimate one constant ``ASC_<alt>`` per non-reference alternative.
        reference: the alternative whose constant is 0 (default: the smallest id).
        features_by_alt: ``{alt: [columns]}``, alternative-specific coefficients
            ``<column>_<alt>`` (the column enters the utility of ``alt`` only).
        robust: also compute sandwich (robust) standard errors ``robust_std_errors_``.
        tol: Newton-decrement tolerance per unit weight (convergence test).
        max_iter: at most this many L-BFGS iterations.

    Fitted attributes: ``params_``, ``std_errors_`` (pd.Series by parameter name),
    ``cov_`` (DataFrame), ``loglik_``, ``null_loglik_`` (equal shares over available
    alternatives), ``rho2_ = 1 - loglik_ / null_loglik_``, ``n_obs_``, ``converged_``,
    ``n_iter_``, ``alternatives_``, ``fit_result_`` (optimizer details), ``unidentified_``
    and ``separated_`` (parameter names; an
    :class:`~bundleopt.choice.identification.IdentificationWarning` names them too).
    A scikit-learn estimator (``clone``, ``get_params``; ``NotFittedError`` before ``fit``)
    and, once fitted, a :class:`~bundleopt.choice.protocol.ChoiceModel` of one segment.
    Unidentified parameters stay at 0 and separated ones at the last iterate; both get NaN
    standard errors, the others' are computed on the identified subspace, and
    ``converged_`` is False under separation.

    Example:
        >>> from bundleopt.choice.simulate import simulate_mnl
        >>> df, truth = simulate_mnl(n_obs=2000, n_alts=3, n_features=2, seed=0)
        >>> m = MNL(features=["x0", "x1"]).fit(df, obs="obs", alt="alt", choice="chosen")
        >>> bool(m.converged_), list(m.params_.index)
        (True, ['ASC_1', 'ASC_2', 'x0', 'x1'])
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        asc: bool = True,
        reference: Hashable | None = None,
        features_by_alt: Mapping[Hashable, Sequence[str]] | None = None,
        robust: bool = False,
        tol: float = 1e-12,
        max_iter: int = 500,
    ) -> None:
        self.features = features
        self.asc = asc
        self.reference = reference
        self.features_by_alt = features_by_alt
        self.robust = robust
        self.tol = tol
        self.max_iter = max_iter

    # ------------------------------------------------------------------ fitting
    @in_float64
    def fit(
        self,
        df: pd.DataFrame,
        obs: str = "obs",
        alt: str = "alt",
        choice: str = "chosen",
        avail: str | None = None,
        weights: np.ndarray | None = None,
    ) -> MNL:
        """Estimate by maximum likelihood from a long-format frame; returns ``self``.

        ``weights`` (optional, one per observation in order of first appearance) weight
        each observation's log-likelihood contribution.
        """
        enable_compilation_cache()
        spec = self._spec()
        check_columns(df, obs=obs, alt=alt, choice=choice, avail=avail, features=spec.used_columns())
        alt_ids = _alt_ids(df, alt)
        spec.reference_alt(alt_ids)
        arrays = pack_long(
            df, obs=obs, alt=alt, columns=spec.design_columns(alt_ids), choice=choice, avail=avail, alt_ids=alt_ids
        )
        self._columns = {"obs": obs, "alt": alt, "choice": choice, "avail": avail}
        return self._fit_arrays(arrays, spec, weights)

    @in_float64
    def fit_menus(self, menus: MenuChoices, max_rows_check: int = 2_000_000) -> MNL:
        """Estimate from menu-grouped data (:class:`~bundleopt.choice.grouped.MenuChoices`):
        the same estimates as :meth:`fit` on the occasions they group, without one row per
        (occasion, alternative). Only generic features (``features`` must be
        ``menus.features``); fitted by Newton with the closed-form Hessian. Built for
        thousands of alternatives, the fitted model keeps no ``p x p`` matrix but ``cov_``
        (``fit_result_.hessian`` is None: ``cov_`` is its inverse on the identified
        parameters).
        """
        from bundleopt.choice.fitting import maximize_menu_loglik
        from bundleopt.choice.grouped import _core, make_menu_data

        enable_compilation_cache()
        spec = self._spec()
        if spec.features_by_alt or tuple(spec.features) != tuple(menus.features):
            raise ValueError(f"fit_menus needs features={list(menus.features)} (generic only), "
                             f"got features={list(spec.features)}, features_by_alt={dict(spec.features_by_alt)}")
        alt_ids = menus.alt_ids
        names = spec.param_names(alt_ids)
        A = spec.asc_matrix(alt_ids)
        data = make_menu_data(menus, A)
        res = maximize_menu_loglik(data, tol=self.tol)

        def rows() -> np.ndarray:
            if len(menus.menu) * len(alt_ids) > max_rows_check:
                return np.zeros((0, len(names)))  # too large to check: the screen's warning only
            X, y, av, w = menus.to_arrays()
            return choice_differences(X, y, av, w, A)

        ll_r = _core(jnp.asarray(res.theta), data)[0]
        top = float(np.max(np.where(menus.count > 0, np.exp(np.asarray(ll_r)), 0.0), initial=0.0))
        found = assess(res.hessian, res.hessian0, res.ident, rows, names, max_chosen_prob=top)
        found.warn("MNL")
        self.unidentified_, self.separated_ = found.unidentified, found.separated
        cov = subspace_covariance(res.hessian, found.basis, unidentified=found.nan)
        self.spec_ = spec
        self.alternatives_ = alt_ids
        self.reference_ = spec.reference_alt(alt_ids)
        self.params_ = pd.Series(res.theta, index=names, name="estimate")
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        diag = np.diag(cov)
        self.std_errors_ = pd.Series(np.sqrt(np.where(diag >= 0, diag, np.nan)), index=names, name="std_error")
        base = menus.avail.sum(axis=1)[menus.menu] + ~menus.avail[menus.menu, menus.choice]
        self.loglik_ = res.loglik
        self.null_loglik_ = float(-np.sum(menus.count * np.log(base)))
        self.rho2_ = 1.0 - self.loglik_ / self.null_loglik_ if self.null_loglik_ != 0 else np.nan
        self.n_obs_ = float(menus.count.sum())
        self.converged_ = bool(res.converged) and not found.separated
        self.n_iter_ = res.n_newton
        # the Hessians (at the estimate: its inverse is cov_; at equal shares) and the
        # identified basis served identification, the separation screen and the covariance:
        # not kept (p x p each, 0.4 GB per model at 7,000 alternatives)
        self.fit_result_ = dataclasses.replace(res, hessian=None, hessian0=None, ident=None)
        self._columns = {"obs": "obs", "alt": "alt", "choice": "chosen", "avail": None}
        return self

    def _fit_arrays(self, arrays: ChoiceArrays, spec: Specification, weights: np.ndarray | None) -> MNL:
        alt_ids = arrays.alt_ids
        names = spec.param_names(alt_ids)
        A = spec.asc_matrix(alt_ids)
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (arrays.n_obs,) or not np.all(np.isfinite(weights)) or (weights < 0).any():
                raise ValueError(f"weights must be {arrays.n_obs} finite non-negative numbers, one per observation")
        data = make_data(arrays.X, arrays.choice, arrays.avail, A, weights)
        res = maximize_loglik(data, tol=self.tol, max_lbfgs=self.max_iter)
        self._store(res, names, data, arrays, spec)
        return self

    def _store(self, res: FitResult, names: list[str], data: Any, arrays: ChoiceArrays, spec: Specification) -> None:
        w = np.asarray(data.weight)
        top = float(np.max(np.where(w > 0, np.exp(np.asarray(loglik_per_obs(jnp.asarray(res.theta), data))), 0.0),
                           initial=0.0))
        found = assess(res.hessian, res.hessian0, res.ident, lambda: choice_differences(
            arrays.X, arrays.choice, arrays.avail, w, np.asarray(data.A)), names, max_chosen_prob=top)
        found.warn("MNL")
        self.unidentified_ = found.unidentified
        self.separated_ = found.separated
        cov = subspace_covariance(res.hessian, found.basis, unidentified=found.nan)
        self.spec_ = spec
        self.alternatives_ = arrays.alt_ids
        self.reference_ = spec.reference_alt(arrays.alt_ids)
        self.params_ = pd.Series(res.theta, index=names, name="estimate")
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        self.std_errors_ = pd.Series(np.sqrt(np.clip(np.diag(cov), 0, None)), index=names, name="std_error")
        self.std_errors_[~np.isfinite(np.diag(cov)) | (np.diag(cov) < 0)] = np.nan
        if self.robust:
            size = block_size(*arrays.X.shape)
            meat = np.asarray(score_outer(jnp.asarray(res.theta), data, size, n_blocks(arrays.n_obs, size)))
            rcov = subspace_covariance(res.hessian, found.basis, meat, unidentified=found.nan)
            self.robust_std_errors_ = pd.Series(np.sqrt(np.clip(np.diag(rcov), 0, None)), index=names, name="robust_std_error")
        w = np.asarray(data.weight)
        self.loglik_ = res.loglik
        self.null_loglik_ = float(-np.sum(w * np.log(arrays.avail.sum(axis=1))))
        self.rho2_ = 1.0 - self.loglik_ / self.null_loglik_ if self.null_loglik_ != 0 else np.nan
        self.n_obs_ = arrays.n_obs
        self.converged_ = bool(res.converged) and not found.separated
        self.n_iter_ = res.n_iter
        self.fit_result_ = res

    # ------------------------------------------------------------------ prediction
    @in_float64
    def predict_proba(
        self,
        df: pd.DataFrame,
        obs: str | None = None,
        alt: str | None = None,
        avail: str | None = None,
    ) -> pd.Series:
        """``P(alt | obs)`` for every row of ``df`` (0 for unavailable rows), aligned with ``df``.

        Column names default to those given to ``fit`` (``avail`` only when given there and
        present in ``df``). Sums to 1 over the available alternatives of each observation.
        """
        self._check_fitted()
        arrays, cols = _pack_for_predict(self, df, obs, alt, avail)
        P = probabilities(
            jnp.asarray(self.params_.to_numpy()),
            jnp.asarray(arrays.X),
            jnp.asarray(arrays.avail),
            jnp.asarray(self.spec_.asc_matrix(arrays.alt_ids)),
        )
        return pd.Series(arrays.rows_from_dense(np.asarray(P)), index=df.index, name="proba")

    def preference_weights(self, alts: Sequence[Hashable], prices: np.ndarray, **kwargs: Any):
        """``(v, v0)`` for the optimizer: see :func:`bundleopt.choice.weights.preference_weights`."""
        from bundleopt.choice.weights import preference_weights

        return preference_weights(self, alts, prices, **kwargs)

    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors and t statistics."""
        self._check_fitted()
        return pd.DataFrame(
            {"estimate": self.params_, "std_error": self.std_errors_, "t": self.params_ / self.std_errors_}
        )

    # ------------------------------------------------------------------ ChoiceModel
    def segment_coefficients(self) -> pd.DataFrame:
        """The coefficients as one segment: a one-row frame, columns ``params_.index``."""
        self._check_fitted()
        return self.params_.to_frame().T.reset_index(drop=True)

    def segment_weights(self) -> np.ndarray:
        """``[1.0]``: the whole market is one segment."""
        self._check_fitted()
        return np.ones(1)


def _alt_ids(df: pd.DataFrame, alt: str) -> pd.Index:
    """Sorted alternative ids of ``df``."""
    if len(df) == 0:
        raise ValueError("the choice frame is empty")
    ids = pd.unique(df[alt].dropna())
    try:
        return pd.Index(ids).sort_values()
    except TypeError as exc:
        raise ValueError(f"alternative column {alt!r} mixes id types that cannot be ordered: {exc}") from exc


def _pack_for_predict(
    model: Any, df: pd.DataFrame, obs: str | None, alt: str | None, avail: str | None
) -> tuple[ChoiceArrays, dict[str, Any]]:
    """Pack ``df`` for prediction with the columns remembered from ``fit``."""
    cols = dict(getattr(model, "_columns", {}))
    obs = obs or cols.get("obs", "obs")
    alt = alt or cols.get("alt", "alt")
    if avail is None and cols.get("avail") is not None and cols["avail"] in df.columns:
        avail = cols["avail"]
    arrays = pack_long(
        df,
        obs=obs,
        alt=alt,
        columns=model.spec_.design_columns(model.alternatives_),
        choice=None,
        avail=avail,
        alt_ids=model.alternatives_,
        min_avail=1,
    )
    return arrays, {"obs": obs, "alt": alt, "avail": avail}
