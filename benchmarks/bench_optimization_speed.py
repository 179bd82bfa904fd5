"""Speed of the exact MILP on random latent-class instances (issue 3's speed goal).

Goal, uniform prices, instances from ``bundleopt.optimize.instances.random_instance``:

* 50 offers x 10 segments x 5 levels, C = 10: proved optimal (gap <= 0.01%) in < 30 s;
* 100 x 20 x 5, C = 20: within 1% gap in 120 s.

For each size and seed it records build (Pyomo), hand-off (standard-form compile +
``passModel``), solve times, status, objective, best bound and gap, for the
strengthened formulation (``formulation=full``) and, with ``--plain``, for the plain
Bront et al. formulation (no RLT rows, bounds or tangent cuts). ``--handoff`` also
times the alternatives for handing the same Pyomo model to HiGHS (APPSI and
``pyomo.contrib.solver`` persistent interfaces), best and median of ``--repeats``.

Writes ``results/optimization_speed/speed.csv`` / ``speed.json`` (and
``handoff.csv`` with ``--handoff``); ``results/`` is git-ignored.

    .venv/bin/python benchmarks/bench_optimization_speed.py               # both goals, 3 seeds
    .venv/bin/python benchmarks/bench_optimization_speed.py --plain --handoff
    .venv/bin/python benchmarks/bench_optimization_speed.py --sizes 50x10x5x10 --seeds 0 --time-limit 30
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import pandas as pd

from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.highs_backend import compile_model
from bundleopt.optimize.instances import ladder_instance, random_instance
from bundleopt.optimize.milp import heuristic_start, solve_milp
from bundleopt.optimize.model import build_model

GOALS = {"50x10x5x10": (30.0, 1e-4), "100x20x5x20": (120.0, 1e-2)}


def parse_size(text: str) -> tuple[int, int, int, int]:
    """``"OxSxKxC"`` -> (offers, segments, levels, cardinality)."""
    parts = [int(p) for p in text.lower().split("x")]
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"size must be OxSxKxC, got {text!r}")
    return tuple(parts)  # type: ignore[return-value]


def run_one(size: str, seed: int, time_limit: float, gap_goal: float, threads: int,
            strengthen: bool, tighten: bool = True, generator: str = "random") -> dict:
    """Solve one instance and return a result row (``generator="ladder"``: the second
    generator, :func:`bundleopt.optimize.instances.ladder_instance`, 5 levels)."""
    n_o, n_s, n_k, c = parse_size(size)
    if generator == "ladder":
        sc = ladder_instance(n_o, n_s, max_offers=c, seed=seed)
    else:
        sc = random_instance(n_o, n_s, n_k, max_offers=c, seed=seed)
    t0 = time.perf_counter()
    start, _ = heuristic_start(sc)
    t_heur = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = solve_milp(sc, time_limit=time_limit, mip_gap=1e-4, threads=threads, strengthen=strengthen,
                     tighten=tighten)
    total = time.perf_counter() - t0
    res = run.result
    profit = evaluate(sc, run.decision).profit
    return {
        "size": size, "seed": seed, "generator": generator,
        "formulation": ("full" if tighten else "full-untightened") if strengthen else "plain",
        "threads": threads, "time_limit_s": time_limit,
        "heuristic_s": round(t_heur, 3), "build_s": round(run.timings["build"], 3),
        "handoff_s": round(run.timings["handoff"], 3), "solve_s": round(run.timings["solve"], 3),
        "tighten_s": round(run.timings.get("tighten", 0.0), 3), "total_s": round(total, 3),
        "status": res.status, "objective": res.objective, "best_bound": res.bound,
        "gap": res.gap, "nodes": res.nodes, "greedy_profit": evaluate(sc, start).profit if start else None,
        "evaluated_profit": profit, "goal_gap": gap_goal,
        "goal_met": bool(res.gap <= gap_goal + 1e-12 and total <= time_limit + 1),
    }


def time_handoffs(size: str, seed: int, repeats: int) -> list[dict]:
    """Seconds to get the same Pyomo model into HiGHS by each route (best, median)."""
    import highspy

    n_o, n_s, n_k, c = parse_size(size)
    sc = random_instance(n_o, n_s, n_k, max_offers=c, seed=seed)
    times: dict[str, list[float]] = {"build": [], "standard_form+passModel": [],
                                     "appsi.Highs.set_instance": [],
                                     "contrib.solver.Highs.set_instance": []}
    for _ in range(repeats):
        t = time.perf_counter()
        model = build_model(sc)
        times["build"].append(time.perf_counter() - t)
        t = time.perf_counter()
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(compile_model(model).lp)
        times["standard_form+passModel"].append(time.perf_counter() - t)
        try:
            from pyomo.contrib.appsi.solvers import Highs as AppsiHighs

            t = time.perf_counter()
            AppsiHighs().set_instance(model)
            times["appsi.Highs.set_instance"].append(time.perf_counter() - t)
        except Exception:  # route unavailable in this Pyomo
            pass
        try:
            from pyomo.contrib.solver.solvers.highs import Highs as ContribHighs

            t = time.perf_counter()
            ContribHighs().set_instance(model)
            times["contrib.solver.Highs.set_instance"].append(time.perf_counter() - t)
        except Exception:
            pass
    return [{"size": size, "route": route, "best_s": round(min(ts), 3),
             "median_s": round(statistics.median(ts), 3), "repeats": len(ts)}
            for route, ts in times.items() if ts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=list(GOALS), help="OxSxKxC, e.g. 50x10x5x10")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--time-limit", type=float, default=None, help="override the goal's limit")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plain", action="store_true", help="also run the plain Bront formulation")
    ap.add_argument("--untightened", action="store_true",
                    help="also run without the bound tightening of bundleopt.optimize.tighten")
    ap.add_argument("--handoff", action="store_true", help="time the Pyomo -> HiGHS routes")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--generator", choices=("random", "ladder"), default="random",
                    help="instances: random_instance (the goals' generator) or ladder_instance "
                         "(a second generator, never tuned on; K is always 5)")
    ap.add_argument("--out", type=Path, default=Path("results") / "optimization_speed")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    rows = []
    for size in args.sizes:
        limit, gap_goal = GOALS.get(size, (60.0, 1e-2))
        limit = args.time_limit or limit
        for seed in args.seeds:
            variants = [(True, True)] + [(True, False)] * args.untightened + [(False, False)] * args.plain
            for strengthen, tighten in variants:
                row = run_one(size, seed, limit, gap_goal, args.threads, strengthen, tighten,
                              args.generator)
                rows.append(row)
                print(json.dumps(row), flush=True)
                pd.DataFrame(rows).to_csv(args.out / "speed.csv", index=False)
    meta = {"suite": "optimization_speed", "goals": GOALS, "rows": rows}
    try:
        from bundleopt.bench.common import machine, versions

        meta["machine"], meta["versions"] = machine(), versions()
    except Exception:  # plumbing module optional
        pass
    (args.out / "speed.json").write_text(json.dumps(meta, indent=1, default=str))
    table = pd.DataFrame(rows)
    print(table[["size", "generator", "seed", "formulation", "build_s", "handoff_s", "solve_s", "status",
                 "objective", "best_bound", "gap", "goal_met"]].to_string(index=False))
    if args.handoff:
        ho = [r for size in args.sizes for r in time_handoffs(size, args.seeds[0], args.repeats)]
        pd.DataFrame(ho).to_csv(args.out / "handoff.csv", index=False)
        print(pd.DataFrame(ho).to_string(index=False))


if __name__ == "__main__":
    main()
