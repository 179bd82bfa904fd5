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

import jax.numpy as jnp
import numpy as np
import pandas as pd

from bundleopt.choice.compile_cache import enable_compilation_cache
from bundleopt.choice.draws import DISTRIBUTIONS, METHODS, standard_draws
from bundleopt.choice.estimator import ChoiceEstimator
from bundleopt.choice.fitting import covariance
from bundleopt.choice.long_format import ChoiceArrays, check_columns, pack_long
from bundleopt.choice.mnl import MNL, _alt_ids, _pack_for_predict
from bundleopt.choice.precision import in_float64
from bundleopt.choice.simulated_likelihood import (
    Layout,
    _lbfgs,
    _polish,
    coefficients,
    group_panel,
    mixed_probabilities,
)
from bundleopt.choice.spec import Specification


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
