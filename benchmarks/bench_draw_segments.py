"""Draws as segments: the sample-average gap against R, and the MILP's time against R.

A mixed logit's coefficient draws, or a neural model's sampled customers, are R MNL
segments of weight 1/R; the plan solved on them is exact for that sample and optimistic for
the model (:func:`bundleopt.sampling_gap.sample_average_gap`). On the simulated bundle market of
:func:`bundleopt.datasets.bundle_market.simulate_bundle_market` (income-dependent price
sensitivity, complementary bundles):

1. **gap**: a MixedLogit (log-normal price coefficient) and a BundleNet are fitted; for each
   R and seed the plan over 3 products and their 3 pairs at 3 price levels is found by
   exhaustive enumeration (exact at any R) and scored in sample and on 8,192 fresh draws;
2. **time**: :func:`bundleopt.solve` (HiGHS, 1 thread) on 4 products and their 6 pairs at 3
   levels, at most 5 offers, with R = 4 .. 64 BundleNet customers: wall time and status.

    PYTHONPATH=. python benchmarks/bench_draw_segments.py [--quick]

Results: ``results/bench_draw_segments_{gap,time}.csv`` and the tables printed.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bundleopt.choice import MixedLogit
from bundleopt.choice.bundle_net import BundleNet
from bundleopt.datasets.bundle_market import NO_PURCHASE, simulate_bundle_market
from bundleopt.optimize import solve
from bundleopt.optimize.brute_force import brute_force
from bundleopt.sampling_gap import sample_average_gap
from bundleopt.scenario import Scenario


def ladder(truth, offers):
    lists = np.array([truth.products.loc[list(truth.components[o]), "list_price"].sum() for o in offers])
    costs = np.array([truth.products.loc[list(truth.components[o]), "cost"].sum() for o in offers])
    return lists[:, None] * np.array([0.8, 1.0, 1.2])[None, :], costs


def fit_both(n_products: int, seed: int = 0) -> tuple[dict, object]:
    df, truth = simulate_bundle_market(n_obs=3000, n_products=n_products, hidden=(), seed=seed)
    models = {
        "MixedLogit": MixedLogit(features=["price"], random={"price": "neg_lognormal"}, reference=NO_PURCHASE,
                                 n_draws=100, sd_starts=(0.5,)).fit(df),
        "BundleNet": BundleNet(components=truth.components, product_features=truth.products[["category"]],
                               customer_features=["income"], no_purchase=NO_PURCHASE, hidden=(8,),
                               max_epochs=600, patience=30).fit(df),
    }
    return models, truth


def gap_table(draws, seeds) -> pd.DataFrame:
    models, truth = fit_both(3)
    offers = list(truth.components)
    prices, costs = ladder(truth, offers)
    parts = []
    for name, model in models.items():
        table = sample_average_gap(model, offers, prices, costs, n_draws=draws, seeds=seeds, n_eval_draws=8192,
                                   optimizer=lambda sc: (brute_force(sc)[0], "optimal"),
                                   components=[truth.components[o] for o in offers])
        parts.append(table.assign(model=name))
    table = pd.concat(parts, ignore_index=True)
    out = table.groupby(["model", "n_draws"]).agg(in_sample=("in_sample", "mean"),
                                                  out_of_sample=("out_of_sample", "mean"),
                                                  gap=("gap", "mean"), gap_sd=("gap", "std"))
    out["mean_abs_gap"] = table.groupby(["model", "n_draws"])["gap"].apply(lambda g: g.abs().mean())
    out["gap_pct"] = 100 * out["gap"] / out["out_of_sample"]
    return out.reset_index()


def time_table(draws, time_limit: float) -> pd.DataFrame:
    models, truth = fit_both(4)
    offers = list(truth.components)
    prices, costs = ladder(truth, offers)
    rows = []
    for R in draws:
        sc = Scenario.from_models(models["BundleNet"].as_segments(n_draws=R, seed=1), offers, prices, costs,
                                  max_offers=5)
        t0 = time.perf_counter()
        sol = solve(sc, threads=1, time_limit=time_limit, mip_gap=1e-4)
        rows.append({"n_draws": R, "n_offers": len(offers), "levels": 3, "solve_s": time.perf_counter() - t0,
                     "status": sol.status, "objective": sol.objective})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer seeds and draws")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--seeds", type=int, default=None, help="seeds per R in the gap table")
    ap.add_argument("--skip-time", action="store_true", help="the gap table only")
    ap.add_argument("--out", type=Path, default=Path("results"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    seeds = args.seeds or (4 if args.quick else 12)
    gap = gap_table((2, 8, 32, 128) if args.quick else (2, 8, 16, 32, 128, 512), range(seeds))
    gap.to_csv(args.out / "bench_draw_segments_gap.csv", index=False)
    print(gap.round(5).to_string(index=False), flush=True)
    if args.skip_time:
        return
    times = time_table((4, 8, 16, 32) if args.quick else (4, 8, 16, 32, 64), args.time_limit)
    times.to_csv(args.out / "bench_draw_segments_time.csv", index=False)
    print(times.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
