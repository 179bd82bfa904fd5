"""`bundleopt.solve` against brute force on thousands of badly scaled small instances.

Each seed is one :func:`bundleopt.optimize.instances.stress_case`: a numerical regime
(``STRESS_REGIMES``: wide or extreme utility spreads, tiny or huge no-purchase
weights, extreme segment weights, costs above ladder prices, tied prices, one-level
ladders, prices in currency units, mixes), a rule family (``RULE_FAMILIES``: each
family alone and mixes) and uniform or personalised prices; consecutive seeds cycle
through every (regime, rule) pair. Seeds from ``EXTRA_SEEDS`` (1,000,000) on cycle through
``EXTRA_REGIMES`` (near-tied prices, sparse consideration, rules met with equality). :func:`~bundleopt.optimize.instances.check_exactness`
classifies each solve (``OUTCOMES``: cut-off optimum, rule-breaking decision, false
infeasible, short profit, false feasible, solver error, ...).

Prints counts by regime and by rule family and outcome, writes every case to
``<out>/exactness_sweep.csv`` and every failing one (seed, regime, rule, outcome, the
numbers) to ``<out>/exactness_failures.json``. Exit status 1 when any case fails.

    .venv/bin/python benchmarks/exactness_sweep.py --seeds 0 10000 --workers 2
    .venv/bin/python benchmarks/exactness_sweep.py --seeds 1000000 1002000 --out results/extra
    .venv/bin/python benchmarks/exactness_sweep.py --merge results results/extra --out results/all
    .venv/bin/python benchmarks/exactness_sweep.py --replay 4      # one case, verbose
    .venv/bin/python benchmarks/exactness_sweep.py --replay-file results/exactness_failures.json
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from pathlib import Path

from bundleopt.optimize.instances import (
    EXTRA_REGIMES,
    EXTRA_SEEDS,
    OUTCOMES,
    RULE_FAMILIES,
    STRESS_REGIMES,
    active_settings,
    check_exactness,
    stress_case,
)

PASSING = ("ok", "ok_infeasible", "too_large", "not_proved")  # not_proved: honest, counted apart


def run_case(seed: int, time_limit: float | None = None, rtol: float = 1e-6, mip_gap: float = 1e-9) -> dict:
    """One seed's stress case, checked; a flat record for the CSV / JSON."""
    case = stress_case(seed)
    sc = case.scenario
    res = check_exactness(sc, rtol=rtol, mip_gap=mip_gap, threads=1, time_limit=time_limit)
    return {
        "seed": seed, "regime": case.regime, "rule": case.rule, "personalised": case.personalised,
        "size": f"{sc.n_offers}x{sc.n_segments}x{sc.n_levels}", "n_offers": sc.n_offers,
        "n_segments": sc.n_segments, "n_levels": sc.n_levels, "n_bundles": int(sc.is_bundle.sum()),
        "rules": json.dumps(active_settings(sc.constraints), default=str),
        "outcome": res.outcome, "flags": "|".join(res.flags), "optimum": res.optimum,
        "profit": res.profit, "bound": res.bound, "objective": res.objective, "status": res.status,
        "method": res.method, "shortfall": res.shortfall(), "tol": res.tol,
        "violations": " || ".join(res.violations[:5]), "error": (res.error or "")[:500],
        "seconds": round(res.seconds, 3),
    }


def _worker(args: tuple[int, float | None, float, float]) -> dict:
    seed, time_limit, rtol, mip_gap = args
    try:
        return run_case(seed, time_limit, rtol, mip_gap)
    except Exception as exc:  # noqa: BLE001 - a crash of the oracle itself is recorded, not fatal
        return {"seed": seed, "regime": "?", "rule": "?", "outcome": "oracle_error",
                "error": f"{type(exc).__name__}: {exc}"[:500]}


def _group(record: dict, key: str) -> str:
    if key == "pricing":
        return "personalised" if str(record.get("personalised")) == "True" else "uniform"
    return str(record.get(key))


def table(records: list[dict], key: str) -> str:
    """Counts of outcomes by ``key`` ("regime", "rule" or "pricing"), as a Markdown table."""
    outcomes = [o for o in (*OUTCOMES, "oracle_error") if any(r["outcome"] == o for r in records)]
    order = {"regime": STRESS_REGIMES + EXTRA_REGIMES, "rule": RULE_FAMILIES}.get(key, ("uniform", "personalised"))
    groups = sorted({_group(r, key) for r in records}, key=lambda g: order.index(g) if g in order else 99)
    count = Counter((_group(r, key), r["outcome"]) for r in records)
    lines = [f"| {key} | " + " | ".join(outcomes) + " | failing |",
             "|---" * (len(outcomes) + 2) + "|"]
    for g in [*groups, "total"]:
        row = [sum(count[(h, o)] for h in groups) if g == "total" else count[(g, o)] for o in outcomes]
        bad = sum(n for o, n in zip(outcomes, row, strict=True) if o not in PASSING)
        lines.append(f"| {g} | " + " | ".join(map(str, row)) + f" | {bad} |")
    return "\n".join(lines)


def shortfalls(records: list[dict]) -> str:
    """How far the bound falls below the optimum over the cut-off optima (relative, over
    those with a positive optimum), and how many of them have a negligible optimum
    (below 1e-6 x market size, the scale of HiGHS's feasibility tolerance)."""
    cut = [r for r in records if r["outcome"] == "cut_off"]
    if not cut:
        return "no cut-off optimum"
    values = sorted(float(r["shortfall"]) for r in cut if r.get("shortfall") not in (None, "")
                    and float(r["optimum"]) > 0 and float(r["shortfall"]) < float("inf"))
    tiny = sum(abs(float(r["optimum"])) < 1e-6 * stress_case(int(r["seed"])).scenario.market_size for r in cut)
    line = f"cut-off optima: {len(cut)} ({tiny} with an optimum below 1e-6 x market size)"
    if values:
        line += (f"; bound short of a positive optimum by a median {100 * values[len(values) // 2]:.3g}%, "
                 f"at most {100 * values[-1]:.3g}%")
    return line


def report(records: list[dict]) -> None:
    """Print the three tables and the shortfall line."""
    for key in ("regime", "rule", "pricing"):
        print(table(records, key), "\n")
    print(shortfalls(records))


def replay(seed: int, time_limit: float | None = None) -> dict:
    """Rebuild and re-check one seed, printing the case, the rules and the verdict."""
    case = stress_case(seed)
    print(case.describe())
    rec = run_case(seed, time_limit)
    for k, v in rec.items():
        print(f"  {k}: {v}")
    return rec


def write_outputs(records: list[dict], out: Path, meta: dict) -> list[dict]:
    """Write every record to ``out/exactness_sweep.csv`` and the failing ones (with
    ``meta``) to ``out/exactness_failures.json``; return the failing records."""
    records = sorted(records, key=lambda r: int(r["seed"]))
    failing = [r for r in records if r["outcome"] not in PASSING]
    out.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for r in records for k in r))
    with open(out / "exactness_sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
    summary = {**meta, "cases": len(records), "outcomes": dict(Counter(r["outcome"] for r in records)),
               "replay": "python benchmarks/exactness_sweep.py --replay SEED", "failures": failing}
    (out / "exactness_failures.json").write_text(json.dumps(summary, indent=1, default=str))
    return failing


def merge(dirs: list[Path], out: Path) -> None:
    """Merge earlier sweeps' CSVs (failures re-read from their JSON, typed) and print the tables."""
    records: dict[int, dict] = {}
    for d in dirs:
        with open(d / "exactness_sweep.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                records[int(row["seed"])] = row
        for row in json.loads((d / "exactness_failures.json").read_text())["failures"]:
            records[int(row["seed"])] = row
    failing = write_outputs(list(records.values()), out, {"command": " ".join(sys.argv),
                                                          "merged": [str(d) for d in dirs]})
    print(f"{len(records)} cases; {len(failing)} failing\n")
    report(list(records.values()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", nargs=2, type=int, default=[0, 10_000], metavar=("FIRST", "STOP"),
                    help=f"seed range; from {EXTRA_SEEDS} on the extra regimes {EXTRA_REGIMES}")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=0.0,
                    help="per solve, seconds (default 0 = none, as in tests/test_exactness_regimes.py)")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--mip-gap", type=float, default=1e-9)
    ap.add_argument("--out", type=Path, default=Path("results"))
    ap.add_argument("--replay", type=int, nargs="*", metavar="SEED", help="re-check these seeds only")
    ap.add_argument("--replay-file", type=Path, help="re-check every seed of a failures JSON")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="DIR",
                    help="no solving: merge the outputs of earlier sweeps into --out and print the tables")
    args = ap.parse_args()
    if args.merge:
        merge(args.merge, args.out)
        return
    time_limit = args.time_limit or None
    if args.replay is not None or args.replay_file is not None:
        seeds = list(args.replay or [])
        if args.replay_file is not None:
            seeds += [r["seed"] for r in json.loads(args.replay_file.read_text())["failures"]]
        recs = [replay(s, time_limit) for s in seeds]
        sys.exit(1 if any(r["outcome"] not in PASSING for r in recs) else 0)

    seeds = range(*args.seeds)
    t0 = time.perf_counter()
    records: list[dict] = []
    jobs = [(s, time_limit, args.rtol, args.mip_gap) for s in seeds]
    with multiprocessing.get_context("spawn").Pool(args.workers, maxtasksperchild=200) as pool:
        for i, rec in enumerate(pool.imap_unordered(_worker, jobs, chunksize=4), 1):
            records.append(rec)
            if rec["outcome"] not in PASSING:
                print(f"{rec['outcome'].upper()} seed={rec['seed']} regime={rec['regime']} "
                      f"rule={rec['rule']} optimum={rec.get('optimum')} profit={rec.get('profit')} "
                      f"bound={rec.get('bound')} {rec.get('error', '')[:120]}", flush=True)
            if i % 500 == 0:
                print(f"... {i}/{len(jobs)} cases, {time.perf_counter() - t0:.0f} s", flush=True)
    meta = {"command": " ".join(sys.argv), "seeds": list(args.seeds),
            "seconds": round(time.perf_counter() - t0, 1), "cpu_count": os.cpu_count()}
    failing = write_outputs(records, args.out, meta)
    print(f"\n{len(records)} cases in {time.perf_counter() - t0:.0f} s; {len(failing)} failing\n")
    report(records)
    print(f"every case: {args.out / 'exactness_sweep.csv'}; failures: {args.out / 'exactness_failures.json'}")
    sys.exit(1 if failing else 0)


if __name__ == "__main__":
    main()
