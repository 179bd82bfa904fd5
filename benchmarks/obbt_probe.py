"""How much full optimisation-based bound tightening (OBBT) of ``x[s]`` would give, and cost.

A measurement for issue 3's 100 x 20 x 5 goal, not a solver feature. For each seed:

1. greedy warm start and the per-segment Lagrangian tightening rounds
   (:func:`bundleopt.optimize.tighten_stages.tighten` without full tightening);
2. root gap of the LP relaxation with those ranges;
3. one full OBBT round on that LP with the profit cut ``profit >= incumbent``
   (:func:`bundleopt.optimize.tighten.obbt_ranges`: ``min x[s]`` and ``max x[s]`` for
   every segment, ``--workers`` HiGHS instances in threads, no deadline);
4. root gap of the LP relaxation with the OBBT ranges, and with only the OBBT lower
   (or upper) ends, or only the ``--top`` heaviest segments' ranges.

Writes ``results/obbt_probe/obbt.csv``.

    .venv/bin/python benchmarks/obbt_probe.py --seeds 0 1 2 --workers 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bundleopt.bench.common import output_dir
from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.highs_backend import compile_model, new_highs
from bundleopt.optimize.instances import random_instance
from bundleopt.optimize.milp import heuristic_start
from bundleopt.optimize.model import build_model
from bundleopt.optimize.schedule import Incumbent, TighteningOptions
from bundleopt.optimize.tighten import obbt_ranges
from bundleopt.optimize.tighten_stages import Relaxation, tighten


def root_bound(sc, x_range, exclude) -> float:
    """Optimal value of the LP relaxation of the model built with ``x_range``."""
    cm = compile_model(build_model(sc, x_range=x_range, exclude=exclude))
    lp = cm.lp
    lp.integrality_ = []
    h = new_highs(2)
    h.passModel(lp)
    h.run()
    return cm.model_objective(h.getInfo().objective_function_value)


def probe(seed: int, size: tuple[int, int, int, int], workers: int, top: int) -> dict:
    n_o, n_s, n_k, c = size
    sc = random_instance(n_o, n_s, n_k, max_offers=c, seed=seed)
    t0 = time.perf_counter()
    inc, _ = heuristic_start(sc)
    profit = evaluate(sc, inc).profit
    relaxation = Relaxation(lambda x_range, exclude: build_model(sc, x_range=x_range, exclude=exclude),
                            threads=2)
    result = tighten(relaxation, Incumbent(profit), sc.n_segments,  # the split rounds only
                     options=TighteningOptions(lagrangian_rounds=4, max_passes=0))
    if result.proved_optimal:
        return {"seed": seed, "incumbent": profit, "split_proved_optimal": True}
    t_split = time.perf_counter() - t0
    tight = result.ranges.widened(TighteningOptions().min_width)
    lo, hi = tight.x_range
    gap = lambda bound: (bound / profit - 1.0) * 100.0  # noqa: E731
    row = {"seed": seed, "incumbent": profit, "split_s": round(t_split, 1),
           "split_root_gap_pct": round(gap(root_bound(sc, (lo, hi), tight.excluded)), 3)}
    model = build_model(sc, x_range=(lo, hi), exclude=tight.excluded)
    t0 = time.perf_counter()
    res = obbt_ranges(compile_model(model), profit, lo, hi, order=range(sc.n_segments),
                      workers=workers, threads=1)
    if res is None:
        return {**row, "obbt_proved_optimal": True}
    new_lo, new_hi, done = res
    row.update(obbt_wall_s=round(time.perf_counter() - t0, 1), obbt_lps=2 * done)
    heavy = np.zeros(sc.n_segments, dtype=bool)
    heavy[np.argsort(-sc.weights)[:top]] = True
    variants = {"obbt_root_gap_pct": (new_lo, new_hi), "obbt_lo_only_gap_pct": (new_lo, hi),
                "obbt_hi_only_gap_pct": (lo, new_hi),
                f"obbt_top{top}_gap_pct": (np.where(heavy, new_lo, lo), np.where(heavy, new_hi, hi))}
    for name, x_range in variants.items():
        row[name] = round(gap(root_bound(sc, x_range, tight.excluded)), 3)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="100x20x5x20", help="OxSxKxC")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--workers", type=int, default=2, help="HiGHS instances solving OBBT LPs at once")
    ap.add_argument("--top", type=int, default=10, help="heaviest segments for the partial variant")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    size = tuple(int(p) for p in args.size.lower().split("x"))
    if len(size) != 4:
        ap.error(f"--size must be OxSxKxC, got {args.size!r}")
    out = output_dir(args.out, "obbt_probe")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:
        rows.append(probe(seed, size, args.workers, args.top))
        print(json.dumps(rows[-1]), flush=True)
        pd.DataFrame(rows).to_csv(out / "obbt.csv", index=False)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
