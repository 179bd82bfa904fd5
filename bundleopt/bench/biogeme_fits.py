"""Biogeme on the estimation suite's data (:mod:`bundleopt.bench.estimation`): the same
MNL and latent-class specifications as bundleopt's, run in a temporary folder with its
report files switched off and its logging muted, so nothing is left behind."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["biogeme_available", "fit_biogeme_latent_class", "fit_biogeme_mnl"]


def biogeme_available() -> bool:
    """True when Biogeme can be imported (it is in the ``[dev]`` extra)."""
    import importlib.util

    return importlib.util.find_spec("biogeme") is not None


# ------------------------------------------------------------------ data sets


@contextlib.contextmanager
def _quiet_tempdir():
    """Run inside a fresh temporary folder with Biogeme's logging and warnings muted."""
    old = os.getcwd()
    logger = logging.getLogger("biogeme")
    level = logger.level
    with tempfile.TemporaryDirectory(prefix="bundleopt-biogeme-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logger.setLevel(logging.ERROR)
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(old)
            logger.setLevel(level)


def fit_biogeme_mnl(df: pd.DataFrame, features: Sequence[str], reference: Hashable | None,
                    avail: str | None) -> dict:
    """The same MNL in Biogeme: ``V_j = ASC_j + sum_f beta_f x_fj`` (``ASC_ref = 0``).

    The long frame is pivoted to Biogeme's wide layout (one row per observation);
    parameters are named like :class:`bundleopt.choice.MNL`'s (``ASC_<alt>``, feature).
    """
    import biogeme.biogeme as bio
    from biogeme import models
    from biogeme.database import Database
    from biogeme.expressions import Beta, Variable
    from biogeme.results_processing.variance_covariance import EstimateVarianceCovariance

    t0 = time.perf_counter()
    wide, alts = _wide(df, features, avail)
    ref = alts[0] if reference is None else reference
    betas = {f: Beta(f, 0.0, None, None, 0) for f in features}
    utilities, availability = {}, {}
    for a in alts:
        v = sum(betas[f] * Variable(f"{f}_{a}") for f in features)
        if a != ref:
            v = Beta(f"ASC_{a}", 0.0, None, None, 0) + v
        utilities[a] = v
        availability[a] = Variable(f"{avail}_{a}") if avail else 1.0
    with _quiet_tempdir():
        logprob = models.loglogit(utilities, availability, Variable("CHOICE"))
        estimator = bio.BIOGEME(Database("bench", wide), logprob, parameters=_biogeme_params())
        estimator.model_name = "bench"
        res = estimator.estimate()
    seconds = time.perf_counter() - t0
    values = pd.Series(res.get_beta_values())
    se = pd.Series({name: res.get_parameter_std_err(name, EstimateVarianceCovariance.RAO_CRAMER)
                    for name in values.index})
    return {"params": values, "se": se, "loglik": float(res.final_loglikelihood),
            "seconds": seconds, "converged": bool(res.algorithm_has_converged)}


def _wide(df: pd.DataFrame, features: Sequence[str], avail: str | None,
          keep: Sequence[str] = ()) -> tuple[pd.DataFrame, list]:
    """Long frame -> Biogeme's wide layout: ``CHOICE``, ``<feature>_<alt>``, kept columns."""
    alts = sorted(pd.unique(df["alt"]))
    first = df.drop_duplicates("obs").set_index("obs")
    wide = pd.DataFrame({"CHOICE": df.loc[df["chosen"] == 1].set_index("obs")["alt"]})
    for col in keep:
        wide[col] = first[col]
    cols = list(features) + ([avail] if avail else [])
    table = df.pivot(index="obs", columns="alt", values=cols)
    for col in cols:
        for a in alts:
            wide[f"{col}_{a}"] = table[(col, a)]
    return wide.astype(float).reset_index(drop=True), alts


def _biogeme_params():
    from biogeme.parameters import Parameters

    params = Parameters()
    params.set_several_parameters({"generate_html": False, "generate_yaml": False,
                                   "generate_netcdf": False, "save_iterations": False})
    return params


def fit_biogeme_latent_class(df: pd.DataFrame, features: Sequence[str], n_classes: int,
                             start: np.ndarray) -> dict:
    """Panel latent-class MNL in Biogeme (no constants, constant class shares).

    ``LL = sum_i log sum_c pi_c prod_t P(y_it | beta_c)`` with
    ``pi_c = exp(g_c) / sum_c' exp(g_c')``, ``g_0 = 0`` -- the model
    :class:`bundleopt.choice.LatentClassMNL` fits without membership features.
    ``start`` (features x classes) are the starting coefficients. Returns ``params``
    (DataFrame features x classes), ``se`` (same), ``shares``, ``loglik``, ``seconds``.
    """
    import biogeme.biogeme as bio
    from biogeme import models
    from biogeme.database import Database
    from biogeme.expressions import Beta, PanelLikelihoodTrajectory, Variable, exp, log
    from biogeme.results_processing.variance_covariance import EstimateVarianceCovariance

    t0 = time.perf_counter()
    wide, alts = _wide(df, features, None, keep=["customer"])
    gammas = [0.0] + [Beta(f"gamma_{c}", 0.0, None, None, 0) for c in range(1, n_classes)]
    denom = sum(exp(g) for g in gammas)
    mixture = 0.0
    for c in range(n_classes):
        b = {f: Beta(f"{f}_c{c}", float(start[i, c]), None, None, 0) for i, f in enumerate(features)}
        utilities = {a: sum(b[f] * Variable(f"{f}_{a}") for f in features) for a in alts}
        mixture = mixture + exp(gammas[c]) / denom * PanelLikelihoodTrajectory(
            models.logit(utilities, None, Variable("CHOICE")))
    with _quiet_tempdir():
        database = Database("bench_lc", wide)
        database.panel("customer")
        estimator = bio.BIOGEME(database, log(mixture), parameters=_biogeme_params())
        estimator.model_name = "bench_lc"
        res = estimator.estimate()
    seconds = time.perf_counter() - t0
    values = res.get_beta_values()
    rao = EstimateVarianceCovariance.RAO_CRAMER
    params = pd.DataFrame({c: [values[f"{f}_c{c}"] for f in features] for c in range(n_classes)},
                          index=list(features))
    se = pd.DataFrame({c: [res.get_parameter_std_err(f"{f}_c{c}", rao) for f in features]
                       for c in range(n_classes)}, index=list(features))
    g = np.array([0.0] + [values[f"gamma_{c}"] for c in range(1, n_classes)])
    shares = np.exp(g) / np.exp(g).sum()
    return {"params": params, "se": se, "shares": shares, "loglik": float(res.final_loglikelihood),
            "seconds": seconds}
