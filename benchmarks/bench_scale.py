"""Estimation at scale: the JAX MNL likelihood and fit at N = 1e7 observations.

Measures, on the device chosen with ``--device`` (``cpu`` or ``gpu``; the code is the same,
only ``jax.devices(...)`` differs):

* in memory: one fused log-likelihood + gradient evaluation
  (:func:`bundleopt.choice.likelihood.loglik_and_grad`), one value + gradient + Hessian
  evaluation, and the full fit (:func:`bundleopt.choice.fitting.maximize_loglik`:
  L-BFGS, then Newton);
* streamed (``--stream``): the data written as long-format Parquet and fitted by
  :class:`bundleopt.choice.streaming.StreamingMNL` (Adam over chunks, then exact Newton
  passes), checked against the in-memory estimate.

Timings are repeated (``--repeats``) and reported as best and median; the machine is
shared, so the median is noisy. Results go to ``--out`` as ``scale.csv`` and ``scale.json``.

    python benchmarks/bench_scale.py                       # N = 1e7, J = 5, K = 4, CPU
    python benchmarks/bench_scale.py --n 1e6 --stream      # smaller, with the Parquet path
    python benchmarks/bench_scale.py --device gpu          # on a machine with a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bundleopt.bench.common import wall_times  # noqa: E402
from bundleopt.choice.fitting import maximize_loglik  # noqa: E402
from bundleopt.choice.likelihood import MNLData, loglik_and_grad, loglik_grad_hess  # noqa: E402
from bundleopt.choice.parquet_source import full_pass  # noqa: E402
from bundleopt.choice.simulate import draw_choices  # noqa: E402


def pick_device(name: str) -> jax.Device:
    """The first JAX device of kind ``name`` (``cpu`` or ``gpu``), or a clear error."""
    try:
        devices = jax.devices(name)
    except RuntimeError as exc:
        raise SystemExit(f"no {name!r} device available to JAX here ({exc}); "
                         f"devices present: {jax.devices()}") from exc
    return devices[0]


def simulate(n: int, J: int, K: int, seed: int, chunk: int = 1_000_000):
    """``(X, choice, truth)`` of an MNL market, generated in chunks to bound memory.

    ``V = ASC_j + X beta`` with ``X ~ N(0, 1)``, ``ASC = (0, 0.3, -0.2, ...)``,
    ``beta = linspace(-1, 1, K)``; every alternative available.
    """
    rng = np.random.default_rng(seed)
    asc = np.r_[0.0, np.linspace(0.3, -0.3, J - 1)]
    beta = np.linspace(-1.0, 1.0, K)
    X = np.empty((n, J, K))
    y = np.empty(n, dtype=np.int32)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        X[s:e] = rng.standard_normal((e - s, J, K))
        y[s:e] = draw_choices(X[s:e] @ beta + asc, np.ones((e - s, J), bool), rng)
    return X, y, np.r_[asc[1:], beta]


def write_parquet(path: Path, X: np.ndarray, y: np.ndarray, chunk: int = 400_000) -> float:
    """Long-format Parquet (``obs, alt, chosen, x0..``), one row group per ``chunk`` obs."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, J, K = X.shape
    t0 = time.perf_counter()
    writer = None
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        m = e - s
        cols = {
            "obs": pa.array(np.repeat(np.arange(s, e, dtype=np.int64), J)),
            "alt": pa.array(np.tile(np.arange(J, dtype=np.int16), m)),
            "chosen": pa.array((np.arange(J)[None, :] == y[s:e, None]).reshape(-1).astype(np.int8)),
        }
        flat = X[s:e].reshape(m * J, K)
        cols.update({f"x{k}": pa.array(flat[:, k]) for k in range(K)})
        table = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=m * J)
    writer.close()
    return time.perf_counter() - t0


def bench_in_memory(X: np.ndarray, y: np.ndarray, truth: np.ndarray, dev: jax.Device, repeats: int,
                    rec: dict):
    """Time LL+gradient, LL+gradient+Hessian and the full fit on ``dev``; fill ``rec``."""
    n, J, K = X.shape
    A = np.vstack([np.zeros((1, J - 1)), np.eye(J - 1)])
    t0 = time.perf_counter()
    with jax.default_device(dev):
        data = MNLData(X=jax.device_put(X, dev), choice=jax.device_put(y, dev),
                       avail=jax.device_put(np.ones((n, J), bool), dev),
                       weight=jax.device_put(np.ones(n), dev), A=jax.device_put(A, dev))
        jax.block_until_ready(data)
        rec["to_device_s"] = time.perf_counter() - t0
        theta = jnp.asarray(np.zeros(J - 1 + K), device=dev)
        t0 = time.perf_counter()
        jax.block_until_ready(full_pass(loglik_and_grad, theta, data))
        rec["compile_loglik_grad_s"] = time.perf_counter() - t0
        ts = wall_times(lambda: full_pass(loglik_and_grad, theta, data), repeats)
        rec["loglik_grad_best_s"], rec["loglik_grad_median_s"] = min(ts), statistics.median(ts)
        rec["loglik_grad_GBps_best"] = X.nbytes / 1e9 / min(ts)
        print(f"LL+grad: best {min(ts):.3f} s, median {statistics.median(ts):.3f} s "
              f"({rec['loglik_grad_GBps_best']:.1f} GB/s of X)", flush=True)
        jax.block_until_ready(full_pass(loglik_grad_hess, theta, data))
        ts = wall_times(lambda: full_pass(loglik_grad_hess, theta, data), max(1, repeats // 2))
        rec["loglik_grad_hess_best_s"], rec["loglik_grad_hess_median_s"] = min(ts), statistics.median(ts)
        print(f"LL+grad+Hessian: best {min(ts):.3f} s, median {statistics.median(ts):.3f} s", flush=True)
        t0 = time.perf_counter()
        fit = maximize_loglik(data)
        rec["fit_s"] = time.perf_counter() - t0
    rec.update({"fit_lbfgs_iter": fit.n_iter, "fit_newton": fit.n_newton, "fit_evals": fit.n_eval,
                "fit_converged": fit.converged, "fit_timings": fit.timings,
                "fit_max_abs_error_vs_truth": float(np.max(np.abs(fit.theta - truth))),
                "fit_max_se": float(np.sqrt(np.max(np.diag(np.linalg.inv(-fit.hessian)))))})
    print(f"full fit: {rec['fit_s']:.1f} s ({fit.n_iter} L-BFGS iterations, {fit.n_eval} evaluations, "
          f"{fit.n_newton} Newton steps; converged={fit.converged}); max |theta - truth| = "
          f"{rec['fit_max_abs_error_vs_truth']:.4f} (max s.e. {rec['fit_max_se']:.4f})", flush=True)
    return fit


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=float, default=1e7, help="observations (default 1e7)")
    ap.add_argument("--alts", type=int, default=5, help="alternatives J (default 5)")
    ap.add_argument("--features", type=int, default=4, help="features K (default 4)")
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stream", action="store_true", help="also write Parquet and fit it streamed")
    ap.add_argument("--batch-rows", type=int, default=2_000_000, help="rows per streamed chunk")
    ap.add_argument("--parquet-dir", default=None, help="folder for the Parquet file (default: a temp dir)")
    ap.add_argument("--out", default="results/scale", help="results folder")
    args = ap.parse_args(argv)
    n, J, K = int(args.n), args.alts, args.features
    dev = pick_device(args.device)
    print(f"device: {dev} ({dev.platform}); N={n:,} J={J} K={K}; X = {n * J * K * 8 / 1e9:.2f} GB float64",
          flush=True)
    rec: dict = {"n_obs": n, "n_alts": J, "n_features": K, "device": str(dev), "platform": dev.platform,
                 "machine": platform.node(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
                 "jax": jax.__version__, "repeats": args.repeats, "seed": args.seed}

    t0 = time.perf_counter()
    X, y, truth = simulate(n, J, K, args.seed)
    rec["simulate_s"] = time.perf_counter() - t0
    fit = bench_in_memory(X, y, truth, dev, args.repeats, rec)

    if args.stream:
        from bundleopt.choice.streaming import StreamingMNL

        folder = Path(args.parquet_dir or tempfile.mkdtemp(prefix="bench_scale_"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"mnl_{n}.parquet"
        rec["parquet_write_s"] = write_parquet(path, X, y)
        rec["parquet_bytes"] = path.stat().st_size
        del X
        print(f"wrote {path} ({rec['parquet_bytes'] / 1e9:.2f} GB) in {rec['parquet_write_s']:.1f} s", flush=True)
        t0 = time.perf_counter()
        with jax.default_device(dev):
            sm = StreamingMNL(features=[f"x{k}" for k in range(K)], batch_rows=args.batch_rows,
                              epochs=1, progress=True).fit(path)
        rec["stream_fit_s"] = time.perf_counter() - t0
        rec["stream_timings"] = sm.timings_
        rec["stream_passes"] = sm.n_passes_
        rec["stream_max_abs_diff_vs_in_memory"] = float(np.max(np.abs(sm.params_.to_numpy() - fit.theta)))
        rec["stream_loglik_rel_diff"] = float(abs(sm.loglik_ - fit.loglik) / abs(fit.loglik))
        print(f"streamed fit: {rec['stream_fit_s']:.1f} s ({sm.n_passes_} passes; {sm.timings_}); "
              f"max |theta_stream - theta_memory| = {rec['stream_max_abs_diff_vs_in_memory']:.2e}", flush=True)
        if args.parquet_dir is None:
            path.unlink()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    flat = {k: v for k, v in rec.items() if not isinstance(v, dict)}
    tag = f"{dev.platform}_{n}"
    pd.DataFrame([flat]).to_csv(out / f"scale_{tag}.csv", index=False)
    (out / f"scale_{tag}.json").write_text(json.dumps(rec, indent=2, default=str))
    print(f"results: {out / f'scale_{tag}.json'}")
    return rec


if __name__ == "__main__":
    main()
