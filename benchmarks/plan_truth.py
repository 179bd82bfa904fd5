"""Optimised plan vs the shop's list prices under make_market's TRUE model, per seed.

    .venv/bin/python benchmarks/plan_truth.py --seeds 0 1 2

For each seed and each of personalised / uniform prices: build the plan from the
market's data (:func:`bundleopt.pipeline.build_plan`), then score it and the shop's
list prices under the market's known parameters (:mod:`bundleopt.truth`). Prints
one row per run and writes nothing.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)

    from bundleopt.datasets import make_market
    from bundleopt.pipeline import build_plan
    from bundleopt.truth import truth_comparison

    rows = []
    for seed in args.seeds:
        market = make_market(seed=seed)
        for personalised in (True, False):
            t0 = time.perf_counter()
            plan = build_plan(market.transactions, market.catalog, sessions=market.sessions,
                              personalised=personalised, random_state=0, threads=1)
            seconds = time.perf_counter() - t0
            t = truth_comparison(plan, market).set_index("plan")
            rows.append({
                "seed": seed, "prices": "personalised" if personalised else "uniform",
                "segments": len(plan.segments), "model_uplift": plan.uplift,
                "true_plan": t.at["optimised", "true_profit"], "true_shop": t.at["shop", "true_profit"],
                "true_uplift": t.at["optimised", "true_uplift"],
                "model_over_truth": plan.profit / t.at["optimised", "true_profit"] - 1, "seconds": seconds,
            })
            print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1,
                                                    float_format=lambda v: f"{v:.4g}"), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
