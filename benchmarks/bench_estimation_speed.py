"""Speed of MNL estimation: JAX fused kernels against plain numpy, in one process.

Simulated MNL (``bundleopt.choice.simulate.simulate_mnl_arrays``): N observations,
J = 20 alternatives, K = 8 features, float64, no constants by default (``--asc`` adds
J - 1 of them). For each N it reports

* ``compile_s``: XLA compilation of the value+gradient and value+gradient+Hessian kernels
  (ahead-of-time ``lower().compile()``);
* ``eval_best_s`` / ``eval_median_s``: one log-likelihood + gradient evaluation
  (:func:`bundleopt.choice.likelihood.loglik_and_grad`, one fused pass over blocks of
  observations), and the same for the plain jitted autodiff version
  (``jit(value_and_grad(loglik))``) and for plain numpy, with ratios;
* ``hess_s``: one value + gradient + Hessian pass;
* ``fit_s``: a full fit (:func:`bundleopt.choice.fitting.maximize_loglik`) from a cold
  compilation cache (``jax.clear_caches()``), with its L-BFGS iterations, evaluations and
  Newton steps; ``fit_warm_s`` the same fit once compiled.

The memory floor: one evaluation must read ``X`` (N * J * K * 8 bytes; 1.28 GB at N = 1e6)
at least once. Results go to ``results/bench_estimation_speed.{csv,json}``.

Usage::

    .venv/bin/python benchmarks/bench_estimation_speed.py --sizes 1e4 1e5 1e6
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bundleopt.bench.common import wall_times
from bundleopt.choice.fitting import maximize_loglik
from bundleopt.choice.likelihood import (
    block_size,
    loglik,
    loglik_and_grad,
    loglik_grad_hess,
    make_data,
    n_blocks,
)
from bundleopt.choice.simulate import simulate_mnl_arrays

jax.config.update("jax_enable_x64", True)  # this script calls the kernels directly, as the fits do in float64


def numpy_loglik_and_grad(theta: np.ndarray, X: np.ndarray, y: np.ndarray, A: np.ndarray):
    """Plain numpy value and gradient (all available, unit weights): the reference speed."""
    n_asc = A.shape[1]
    V = X @ theta[n_asc:] + A @ theta[:n_asc]
    m = V.max(axis=1, keepdims=True)
    e = np.exp(V - m)
    s = e.sum(axis=1, keepdims=True)
    P = e / s
    rows = np.arange(len(y))
    ll = float(np.sum(V[rows, y] - m[:, 0] - np.log(s[:, 0])))
    R = -P
    R[rows, y] += 1.0
    g = np.concatenate([A.T @ R.sum(axis=0), np.einsum("nj,njk->k", R, X)])
    return ll, g


def run_size(n: int, n_alts: int, n_features: int, asc: bool, repeats: int, seed: int) -> dict:
    X, y, avail, truth = simulate_mnl_arrays(n, n_alts, n_features, params=np.linspace(-1, 1, n_features), seed=seed)
    A = np.eye(n_alts)[:, 1:] if asc else np.zeros((n_alts, 0))
    p = A.shape[1] + n_features
    t0 = time.perf_counter()
    data = make_data(X, y, avail, A)
    jax.block_until_ready(data)
    to_device = time.perf_counter() - t0
    size = block_size(n, n_alts, n_features)
    blocks = n_blocks(n, size)
    theta = jnp.asarray(np.full(p, 0.1))
    row = {
        "n_obs": n,
        "n_alts": n_alts,
        "n_features": n_features,
        "n_params": p,
        "X_gb": X.nbytes / 1e9,
        "block_obs": size,
        "to_device_s": to_device,
    }

    # a full fit from a cold compilation cache (compile included), then warm
    jax.clear_caches()
    t0 = time.perf_counter()
    res = maximize_loglik(data)
    row["fit_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = maximize_loglik(data)
    row["fit_warm_s"] = time.perf_counter() - t0
    row.update(
        {
            "lbfgs_iter": res.n_iter,
            "lbfgs_evals": res.n_eval,
            "lbfgs_obs": res.lbfgs_obs,
            "newton_steps": res.n_newton,
            "hess_passes": res.n_hess,
            "converged": res.converged,
            "max_abs_err_vs_truth_in_se": float(
                np.max(np.abs(res.theta[A.shape[1] :] - truth.to_numpy()[n_alts - 1 :]) / np.sqrt(np.diag(np.linalg.inv(-res.hessian)))[A.shape[1] :])
            ),
        }
    )

    # compile times (ahead of time, cold cache)
    jax.clear_caches()
    t0 = time.perf_counter()
    loglik_and_grad.lower(theta, data, size=size, blocks=blocks).compile()
    row["compile_grad_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    loglik_grad_hess.lower(theta, data, size=size, blocks=blocks).compile()
    row["compile_hess_s"] = time.perf_counter() - t0
    row["compile_s"] = row["compile_grad_s"] + row["compile_hess_s"]

    # one evaluation: fused kernel
    fused = lambda: loglik_and_grad(theta, data, size, blocks)  # noqa: E731
    jax.block_until_ready(fused())
    ts = wall_times(fused, repeats)
    row["eval_best_s"], row["eval_median_s"] = min(ts), statistics.median(ts)
    row["eval_read_gb_s"] = X.nbytes / 1e9 / min(ts)
    hess = lambda: loglik_grad_hess(theta, data, size, blocks)  # noqa: E731
    jax.block_until_ready(hess())
    ts = wall_times(hess, max(1, repeats // 2))
    row["hess_best_s"] = min(ts)

    # plain jitted autodiff (the whole tensor at once)
    plain_fn = jax.jit(jax.value_and_grad(loglik))
    plain = lambda: plain_fn(theta, data)  # noqa: E731
    ll_plain, g_plain = jax.block_until_ready(plain())
    ts = wall_times(plain, repeats)
    row["plain_jit_best_s"], row["plain_jit_median_s"] = min(ts), statistics.median(ts)

    # plain numpy, same process
    th = np.asarray(theta)
    ll_np, g_np = numpy_loglik_and_grad(th, X, y, A)
    ts = []
    for _ in range(max(1, min(repeats, 3))):
        t0 = time.perf_counter()
        numpy_loglik_and_grad(th, X, y, A)
        ts.append(time.perf_counter() - t0)
    row["numpy_best_s"], row["numpy_median_s"] = min(ts), statistics.median(ts)
    ll_f, g_f = fused()
    row["max_rel_diff_vs_numpy"] = float(
        max(abs(float(ll_f) - ll_np) / abs(ll_np), np.max(np.abs(np.asarray(g_f) - g_np)) / np.max(np.abs(g_np)))
    )
    row["max_rel_diff_plain_vs_fused"] = float(abs(float(ll_plain) - float(ll_f)) / abs(float(ll_f)))
    row["speedup_vs_numpy"] = row["numpy_best_s"] / row["eval_best_s"]
    row["speedup_vs_plain_jit"] = row["plain_jit_best_s"] / row["eval_best_s"]
    return row


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6])
    ap.add_argument("--alts", type=int, default=20)
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--asc", action="store_true", help="add J - 1 alternative constants")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("results"))
    args = ap.parse_args(argv)

    rows = []
    for n in args.sizes:
        row = run_size(int(n), args.alts, args.features, args.asc, args.repeats, args.seed)
        rows.append(row)
        print(
            f"N={row['n_obs']:>9,d}  fit {row['fit_s']:6.2f} s (warm {row['fit_warm_s']:5.2f}; "
            f"L-BFGS {row['lbfgs_iter']} it / {row['lbfgs_evals']} evals on {row['lbfgs_obs']:,d} obs, "
            f"Newton {row['newton_steps']}, {row['hess_passes']} Hessian passes)  "
            f"compile {row['compile_s']:.2f} s  |  eval best {row['eval_best_s']:.4f} s "
            f"(median {row['eval_median_s']:.4f}, {row['eval_read_gb_s']:.1f} GB/s of X)  "
            f"hess {row['hess_best_s']:.4f} s  |  plain jit {row['plain_jit_best_s']:.4f} s "
            f"(x{row['speedup_vs_plain_jit']:.2f})  numpy {row['numpy_best_s']:.4f} s "
            f"(x{row['speedup_vs_numpy']:.2f})  |  rel diff vs numpy {row['max_rel_diff_vs_numpy']:.1e}",
            flush=True,
        )
    df = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    df.to_csv(args.out / "bench_estimation_speed.csv", index=False)
    (args.out / "bench_estimation_speed.json").write_text(
        json.dumps({"meta": meta, "rows": df.to_dict(orient="records")}, indent=2, default=float)
    )
    print(f"wrote {args.out / 'bench_estimation_speed.csv'} and .json")
    return df


if __name__ == "__main__":
    main()
