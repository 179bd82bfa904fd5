"""The choice models on a GPU, when JAX sees one: MNL at N = 1e7 and a 500-draw mixed logit.

The same code as on the CPU (nothing in ``bundleopt.choice`` names a device: arrays go to
JAX's default device, which is the GPU when one is visible). Two measurements, each on the
GPU and, beside it, on the CPU at a smaller size (the CPU has 2 shared cores here):

* MNL: :func:`bench_estimation_speed.run_size` (simulated, ``--mnl-alts`` alternatives,
  ``--mnl-features`` features): cold fit (compilation included) and warm fit;
* mixed logit: Swissmetro with a normal travel-time coefficient, replicated to ``--ml-n``
  observations, ``--ml-draws`` Halton draws (:class:`bundleopt.choice.MixedLogit`).

Without a GPU it prints why and writes ``{"skipped": reason}`` (exit status 0), so CI
runs it unchanged. ``--force-cpu`` runs the measurements on the CPU device at the given
(small) sizes, to check the script itself::

    PYTHONPATH=. python benchmarks/bench_gpu.py                      # needs a GPU
    PYTHONPATH=. python benchmarks/bench_gpu.py --force-cpu --mnl-n 2e4 --ml-n 2000 --ml-draws 50
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import pandas as pd

HERE = Path(__file__).resolve().parent


def gpu_devices() -> list:
    """JAX's GPU devices (empty when none is visible or no GPU backend is installed)."""
    try:
        return [d for d in jax.devices() if d.platform in ("gpu", "cuda", "rocm")]
    except RuntimeError:
        return []


def skip_reason() -> str | None:
    """Why the GPU measurements cannot run here, or ``None`` when they can."""
    if gpu_devices():
        return None
    return (f"no GPU visible to JAX (default backend {jax.default_backend()!r}, devices "
            f"{[str(d) for d in jax.devices()]}); install jax[cuda12] on a machine with one")


def mnl_row(device, n: int, n_alts: int, n_features: int, seed: int) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_estimation_speed import run_size

    with jax.default_device(device):
        row = run_size(int(n), n_alts, n_features, asc=False, repeats=1, seed=seed)
    return {"model": "MNL", "device": str(device), "n_obs": int(n), "draws": 0,
            "fit_s": row["fit_s"], "fit_warm_s": row["fit_warm_s"], "converged": row["converged"]}


def mixed_logit_row(device, n: int, draws: int) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_mixed_logit import replicate, swissmetro_panel

    from bundleopt.choice import MixedLogit

    base = swissmetro_panel()
    times = max(1, int(round(n / base["obs"].nunique())))
    df = replicate(base, times) if times > 1 else base
    keep = df["obs"] < int(n)
    df = df[keep]
    with jax.default_device(device):
        t0 = time.perf_counter()
        m = MixedLogit(features=["tt", "co"], random={"tt": "normal"}, reference=2, n_draws=int(draws),
                       sd_starts=(1.0,)).fit(df, avail="available")
        seconds = time.perf_counter() - t0
    return {"model": "MixedLogit", "device": str(device), "n_obs": int(df["obs"].nunique()), "draws": int(draws),
            "fit_s": seconds, "fit_warm_s": float("nan"), "converged": True, "loglik": float(m.loglik_)}


def main(argv: list[str] | None = None) -> pd.DataFrame | None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnl-n", type=float, default=1e7)
    ap.add_argument("--mnl-cpu-n", type=float, default=1e6)
    ap.add_argument("--mnl-alts", type=int, default=10)
    ap.add_argument("--mnl-features", type=int, default=5)
    ap.add_argument("--ml-n", type=float, default=1e5)
    ap.add_argument("--ml-cpu-n", type=float, default=1e4)
    ap.add_argument("--ml-draws", type=int, default=500)
    ap.add_argument("--force-cpu", action="store_true", help="run on the CPU device (checks the script)")
    ap.add_argument("--out", type=Path, default=Path("results/bench_gpu.json"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reason = None if args.force_cpu else skip_reason()
    if reason is not None:
        print(f"bench_gpu skipped: {reason}")
        args.out.write_text(json.dumps({"skipped": reason}, indent=2))
        return None
    cpu = jax.devices("cpu")[0]
    runs = [(cpu, args.mnl_n, args.ml_n)] if args.force_cpu else [
        (gpu_devices()[0], args.mnl_n, args.ml_n), (cpu, args.mnl_cpu_n, args.ml_cpu_n)]
    rows = []
    for device, mnl_n, ml_n in runs:
        rows.append(mnl_row(device, mnl_n, args.mnl_alts, args.mnl_features, args.seed))
        print(rows[-1], flush=True)
        rows.append(mixed_logit_row(device, ml_n, args.ml_draws))
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    args.out.write_text(json.dumps({"rows": rows, "jax": jax.__version__}, indent=2, default=str))
    print(df.to_string(index=False))
    return df


if __name__ == "__main__":
    main()
