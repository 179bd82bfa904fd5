"""Latent-class multinomial logit (panel), estimated by EM then direct maximum likelihood.

Customer i belongs to class c with probability ``pi[i, c] = softmax_c(Z[i] . gamma_c)``
(``Z[i] = [1, membership features of i]``, ``gamma_0 = 0``; without membership features
``pi[i, c] = shares[c]``). All of a customer's choices come from the same class::

    LL = sum_i log sum_c pi[i, c] prod_{t in i} P(y_it | theta_c)
    posterior h[i, c] = pi[i, c] prod_t P(y_it | theta_c) / (sum over c of the same)

EM from ``n_starts`` starting points (the pooled MNL estimate plus random perturbations):
the E-step computes ``h``; the M-step takes one Newton step per class on the weighted
MNL ``sum_n h[i(n), c] log P(y_n | theta_c)`` and one on the membership logit
``sum_i sum_c h[i, c] log pi[i, c]`` (closed form ``shares = mean_i h[i]`` without
features). The best start is then polished by direct maximisation of ``LL`` (L-BFGS,
Newton with ``jax.hessian``, L-BFGS if Newton stalls), whose inverse Hessian gives the
standard errors.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import scipy.optimize

from bundleopt.choice.compile_cache import enable_compilation_cache
from bundleopt.choice.estimator import ChoiceEstimator
from bundleopt.choice.identification import (
    Assessment,
    choice_differences,
    diverging,
    identify,
    screen_separation,
    separating_direction,
    subspace_covariance,
)
from bundleopt.choice.latent_likelihood import (
    PanelData,
    _direct_mle,
    _log_prior,
    _unpack,
    em_step,
    posterior,
    run_em,
)
from bundleopt.choice.likelihood import (
    loglik_grad_hess,
    loglik_per_obs,
    make_data,
    probabilities,
    raw_second_moment,
)
from bundleopt.choice.long_format import check_columns, pack_long
from bundleopt.choice.mnl import _alt_ids, _pack_for_predict
from bundleopt.choice.precision import in_float64
from bundleopt.choice.spec import Specification


class LatentClassMNL(ChoiceEstimator):
    """Latent-class MNL with optional class-membership model (panel data).

    Args:
        n_classes: number of latent classes C.
        features, asc, reference, features_by_alt: the utility of each class, as in
            :class:`~bundleopt.choice.MNL` (every class has its own coefficients).
        membership: customer feature columns driving class membership (constant within
            a customer), or ``None`` for constant class shares.
        n_starts: EM starting points (the first is the pooled MNL with small noise).
        random_state: seed of the starting points.
        max_em_iter, em_tol: EM stops when LL improves by less than ``em_tol`` (absolute).
        max_iter: L-BFGS iterations of the final direct maximisation.

    Fitted attributes: ``class_params_`` (DataFrame, parameters x classes),
    ``std_errors_`` (same layout, NaN for unidentified or separated parameters, named by an
    :class:`~bundleopt.choice.identification.IdentificationWarning` and in ``unidentified_`` /
    ``separated_``; the others' are computed on the identified subspace), ``shares_`` (C,),
    ``membership_params_`` (DataFrame ``const, membership...`` x classes, class 0 = 0),
    ``membership_std_errors_``, ``posterior_`` (DataFrame customers x classes),
    ``loglik_``, ``start_logliks_``, ``n_obs_``, ``n_customers_``, ``converged_``,
    ``n_iter_`` (EM iterations of the best start).
    A scikit-learn estimator (``clone``, ``get_params``; ``NotFittedError`` before ``fit``)
    and, once fitted, a :class:`~bundleopt.choice.protocol.ChoiceModel` (a segment per class).
    """

    _fitted_attribute = "class_params_"

    def __init__(
        self,
        n_classes: int = 2,
        features: Sequence[str] | None = None,
        membership: Sequence[str] | None = None,
        asc: bool = True,
        reference: Hashable | None = None,
        features_by_alt: Mapping[Hashable, Sequence[str]] | None = None,
        n_starts: int = 5,
        random_state: int | None = 0,
        max_em_iter: int = 200,
        em_tol: float = 1e-6,
        max_iter: int = 500,
    ) -> None:
        self.n_classes = n_classes
        self.features = features
        self.membership = membership
        self.asc = asc
        self.reference = reference
        self.features_by_alt = features_by_alt
        self.n_starts = n_starts
        self.random_state = random_state
        self.max_em_iter = max_em_iter
        self.em_tol = em_tol
        self.max_iter = max_iter

    # ------------------------------------------------------------------ data
    def _membership_design(self, df: pd.DataFrame, obs_cust: pd.Series, cust_ids: pd.Index) -> np.ndarray:
        """``Z`` (I, 1 + M): an intercept and each customer's membership features."""
        cols = list(self.membership or [])
        Z = np.ones((len(cust_ids), 1 + len(cols)))
        if not cols:
            return Z
        frame = df[cols].apply(pd.to_numeric, errors="coerce")
        bad = frame.isna().any(axis=1).to_numpy()
        if bad.any():
            raise ValueError(
                f"membership column(s) {cols} must be numeric without NaN; {int(bad.sum())} row(s) are not, "
                f"e.g.\n{df.loc[bad, cols].head(5).to_string()}"
            )
        grouped = frame.groupby(obs_cust.to_numpy(), sort=False)
        varying = (grouped.nunique() > 1).any(axis=1)
        if varying.any():
            raise ValueError(
                f"membership column(s) {cols} must be constant within a customer; customers "
                f"{list(varying[varying].index[:5])} are not"
            )
        Z[:, 1:] = grouped.first().reindex(cust_ids).to_numpy()
        return Z

    def _pack(self, df, obs, alt, choice, customer, avail):
        spec = self._spec()
        check_columns(
            df, obs=obs, alt=alt, choice=choice, avail=avail, customer=customer,
            features=spec.used_columns(), membership=list(self.membership or []),
        )  # fmt: skip
        if self.n_classes < 1 or int(self.n_classes) != self.n_classes:
            raise ValueError(f"n_classes must be a positive integer, got {self.n_classes!r}")
        alt_ids = _alt_ids(df, alt)
        spec.reference_alt(alt_ids)
        arrays = pack_long(
            df, obs=obs, alt=alt, columns=spec.design_columns(alt_ids), choice=choice, avail=avail, alt_ids=alt_ids
        )
        # customer of each observation (first row of the observation)
        first_row = np.unique(arrays.row_obs, return_index=True)[1]
        if customer is None:
            obs_cust = pd.Series(arrays.obs_ids, index=arrays.obs_ids)
        else:
            per_row = df[customer]
            if per_row.isna().any():
                raise ValueError(f"customer column {customer!r} has missing values")
            n_cust_per_obs = per_row.groupby(arrays.row_obs).nunique()
            if (n_cust_per_obs > 1).any():
                bad = arrays.obs_ids[n_cust_per_obs.index[n_cust_per_obs > 1]][:5]
                raise ValueError(f"customer column {customer!r} varies within observations {list(bad)}")
            obs_cust = pd.Series(per_row.to_numpy()[first_row], index=arrays.obs_ids)
        cust_codes, cust_ids = pd.factorize(obs_cust, sort=False)
        self._check_size(spec, arrays, len(cust_ids))
        row_cust = df[customer] if customer is not None else df[obs]
        Z = self._membership_design(df, row_cust, pd.Index(cust_ids))
        return spec, arrays, cust_codes.astype(np.int32), pd.Index(cust_ids), Z

    def _check_size(self, spec: Specification, arrays, n_customers: int) -> None:
        """Refuse more classes or parameters than the data can identify (one-line ``ValueError``).

        Each class needs customers of its own, so ``C <= customers``; and the parameters
        (``C P`` utility plus ``(C - 1)(1 + M)`` membership ones) cannot outnumber the
        independent choice probabilities the data pin down, ``sum_n (J_n - 1)`` over
        observations with ``J_n`` available alternatives.
        """
        C = int(self.n_classes)
        n_param = C * len(spec.param_names(arrays.alt_ids)) + (C - 1) * (1 + len(self.membership or []))
        dof = int(arrays.avail.sum() - arrays.n_obs)
        if C > n_customers:
            raise ValueError(f"n_classes={C} exceeds the {n_customers} customers in the data: "
                             f"use at most {n_customers} classes (fewer for stable estimates)")
        if n_param > dof:
            raise ValueError(f"LatentClassMNL(n_classes={C}) has {n_param} parameters but the data pin down "
                             f"at most {dof} choice probabilities: use fewer classes or features")

    # ------------------------------------------------------------------ fitting
    @in_float64
    def fit(
        self,
        df: pd.DataFrame,
        obs: str = "obs",
        alt: str = "alt",
        choice: str = "chosen",
        customer: str | None = None,
        avail: str | None = None,
    ) -> LatentClassMNL:
        """Estimate from a long-format frame; ``customer`` groups observations into panels."""
        enable_compilation_cache()
        spec, arrays, cust, cust_ids, Z = self._pack(df, obs, alt, choice, customer, avail)
        self._columns = {"obs": obs, "alt": alt, "choice": choice, "avail": avail, "customer": customer}
        C = int(self.n_classes)
        A = spec.asc_matrix(arrays.alt_ids)
        mnl = make_data(arrays.X, arrays.choice, arrays.avail, A)
        data = PanelData(mnl=mnl, customer=jnp.asarray(cust), Z=jnp.asarray(Z))
        names = spec.param_names(arrays.alt_ids)
        P, nz = len(names), Z.shape[1]

        # the pooled (one-class) MNL: EM from identical classes is Newton on the pooled LL
        same = jnp.zeros((C, P))
        gamma_eq = jnp.zeros((C, nz))
        for _ in range(25):
            new, _, ll_pool = em_step(same, gamma_eq, data)
            if float(jnp.max(jnp.abs(new - same))) < 1e-8 or not np.all(np.isfinite(np.asarray(new))):
                break
            same = new
        pooled = np.nan_to_num(np.asarray(same[0]))
        rng = np.random.default_rng(self.random_state)
        scale = np.maximum(np.abs(pooled), 0.5)
        best = None
        start_logliks = []
        for start in range(max(1, int(self.n_starts))):
            noise = 0.1 if start == 0 else 1.0
            theta0 = pooled[None, :] + noise * scale[None, :] * rng.standard_normal((C, P))
            gamma0 = np.zeros((C, nz))
            theta, gamma, ll, n_it = self._em(jnp.asarray(theta0), jnp.asarray(gamma0), data)
            start_logliks.append(ll)
            if best is None or ll > best[2]:
                best = (theta, gamma, ll, n_it)
        theta, gamma, _, n_em = best

        # direct maximum likelihood from the best EM point, then Newton polish, within the
        # identified subspace: a direction the pooled data do not identify is unidentified
        # in every class (the class Hessians share the pooled null space)
        x0 = np.concatenate([np.asarray(theta).ravel(), np.asarray(gamma)[1:].ravel()])
        static = {"n_classes": C, "n_theta": P, "n_z": nz}
        H0 = np.asarray(loglik_grad_hess(jnp.zeros(P), mnl, mnl.X.shape[0])[2])
        ident = identify(H0, np.asarray(raw_second_moment(mnl)))
        null_p = scipy.linalg.null_space(ident.basis.T) if ident.basis.shape[1] < P else np.zeros((P, 0))
        n_x = len(x0)
        null_x = [np.concatenate([np.zeros(c * P), v, np.zeros(n_x - (c + 1) * P)]) for c in range(C) for v in null_p.T]
        basis = np.eye(n_x) if not null_x else scipy.linalg.null_space(np.array(null_x))
        x, ll, H, converged = _direct_mle(x0, data, static, self.max_iter, basis)
        theta, gamma = (np.asarray(a) for a in _unpack(jnp.asarray(x), C, P, nz))
        nan = np.zeros(n_x, bool)
        nan[: C * P] = np.tile(ident.unidentified, C)
        separated = self._separation(theta, gamma, data, H0, ident, names)
        for c, d in separated.items():
            block = np.zeros(n_x)
            block[c * P:(c + 1) * P] = d
            basis = scipy.linalg.null_space(np.hstack([scipy.linalg.null_space(basis.T), block[:, None]]).T)
            nan[c * P:(c + 1) * P] |= np.array([n in diverging(d, ident.scale, names) for n in names])
        sep_names = [f"{n} (class {c})" for c, d in separated.items() for n in diverging(d, ident.scale, names)]
        Assessment(ident.names(names), sep_names, basis, nan).warn("LatentClassMNL")
        self.unidentified_ = ident.names(names)
        self.separated_ = sep_names
        converged = converged and not separated
        cov = subspace_covariance(H, basis, unidentified=nan)
        se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
        classes = list(range(C))
        mem_names = ["const", *(self.membership or [])]
        self.spec_ = spec
        self.alternatives_ = arrays.alt_ids
        self.reference_ = spec.reference_alt(arrays.alt_ids)
        self.class_params_ = pd.DataFrame(theta.T, index=names, columns=classes)
        self.std_errors_ = pd.DataFrame(se[: C * P].reshape(C, P).T, index=names, columns=classes)
        self.membership_params_ = pd.DataFrame(gamma.T, index=mem_names, columns=classes)
        mem_se = np.vstack([np.zeros((1, nz)), se[C * P :].reshape(C - 1, nz)]) if C > 1 else np.zeros((1, nz))
        self.membership_std_errors_ = pd.DataFrame(mem_se.T, index=mem_names, columns=classes)
        h, _ = posterior(jnp.asarray(theta), jnp.asarray(gamma), data)
        self.posterior_ = pd.DataFrame(np.asarray(h), index=cust_ids, columns=classes)
        self.posterior_.index.name = customer or obs
        prior = np.exp(np.asarray(_log_prior(jnp.asarray(gamma), data.Z)))
        self.shares_ = prior.mean(axis=0)
        self.loglik_ = float(ll)
        self.start_logliks_ = start_logliks
        self.n_obs_ = arrays.n_obs
        self.n_customers_ = len(cust_ids)
        self.n_iter_ = n_em
        self.converged_ = bool(converged)
        self.cov_ = cov
        return self

    def _separation(self, theta, gamma, data: PanelData, H0, ident, names) -> dict[int, np.ndarray]:
        """Separating direction per class (:mod:`bundleopt.choice.identification`): screened on
        the class's posterior-weighted MNL Hessian, confirmed by the LP on the choices of the
        customers it holds (posterior > 1/2)."""
        h, _ = posterior(jnp.asarray(theta), jnp.asarray(gamma), data)
        w_obs = np.asarray(h)[np.asarray(data.customer)]
        mnl = data.mnl
        out: dict[int, np.ndarray] = {}
        for c in range(theta.shape[0]):
            d_c = mnl._replace(weight=jnp.asarray(w_obs[:, c]))
            Hc = np.asarray(loglik_grad_hess(jnp.asarray(theta[c]), d_c, mnl.X.shape[0])[2])
            H0c = np.asarray(loglik_grad_hess(jnp.zeros(theta.shape[1]), d_c, mnl.X.shape[0])[2])
            held = w_obs[:, c] > 0.5
            p_chosen = np.exp(np.asarray(loglik_per_obs(jnp.asarray(theta[c]), mnl)))
            if not screen_separation(Hc, H0c, ident.basis, max_chosen_prob=float(np.max(p_chosen[held], initial=0))):
                continue
            rows = choice_differences(np.asarray(mnl.X), np.asarray(mnl.choice), np.asarray(mnl.avail),
                                      held.astype(float), np.asarray(mnl.A))
            d = separating_direction(rows, ident.basis, ident.scale)
            if d is not None:
                out[c] = d
        return out

    def _em(self, theta, gamma, data: PanelData) -> tuple[jax.Array, jax.Array, float, int]:
        return run_em(em_step, posterior, theta, gamma, data, self.max_em_iter, self.em_tol)

    # ------------------------------------------------------------------ prediction
    @in_float64
    def predict_proba(
        self,
        df: pd.DataFrame,
        obs: str | None = None,
        alt: str | None = None,
        avail: str | None = None,
    ) -> pd.Series:
        """Unconditional ``P(alt | obs) = sum_c pi[c] P(alt | obs, theta_c)`` per row of ``df``.

        ``pi`` is ``shares_``, or the membership model's prior for each row's membership
        features when the model has them (the columns must be in ``df``).
        """
        self._check_fitted()
        arrays, cols = _pack_for_predict(self, df, obs, alt, avail)
        A = jnp.asarray(self.spec_.asc_matrix(arrays.alt_ids))
        X, av = jnp.asarray(arrays.X), jnp.asarray(arrays.avail)
        P = jax.vmap(lambda th: probabilities(th, X, av, A))(jnp.asarray(self.class_params_.to_numpy().T))
        if self.membership:
            check_columns(df, membership=list(self.membership))
            first = np.unique(arrays.row_obs, return_index=True)[1]
            Zo = np.column_stack([np.ones(arrays.n_obs), df[list(self.membership)].to_numpy(float)[first]])
            prior = np.exp(np.asarray(_log_prior(jnp.asarray(self.membership_params_.to_numpy().T), jnp.asarray(Zo))))
        else:
            prior = np.broadcast_to(self.shares_, (arrays.n_obs, self.n_classes))
        mix = np.einsum("nc,cnj->nj", prior, np.asarray(P))
        return pd.Series(arrays.rows_from_dense(mix), index=df.index, name="proba")

    def segment_weights(self) -> np.ndarray:
        """Class shares ``w_s`` (the optimizer's segment weights)."""
        self._check_fitted()
        return np.asarray(self.shares_)

    def preference_weights(self, alts: Sequence[Hashable], prices: np.ndarray, **kwargs: Any):
        """``(v, v0)`` per class: see :func:`bundleopt.choice.weights.preference_weights`."""
        from bundleopt.choice.weights import preference_weights

        return preference_weights(self, alts, prices, **kwargs)

    def segment_coefficients(self) -> pd.DataFrame:
        """One row of coefficients per class (columns: the parameter names)."""
        self._check_fitted()
        return self.class_params_.T.reset_index(drop=True)
