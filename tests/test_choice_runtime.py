"""Run-time settings of the fits (issue 15 item 2): the compilation-cache folder, one BLAS thread
around L-BFGS-B, and nothing heavy at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bundleopt.choice.compile_cache import cache_dir


def test_cache_dir_from_environment(tmp_path):
    assert cache_dir({"BUNDLEOPT_JAX_CACHE": str(tmp_path)}) == tmp_path
    assert cache_dir({"BUNDLEOPT_JAX_CACHE": "0"}) is None
    assert cache_dir({"BUNDLEOPT_JAX_CACHE": ""}) is None
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "bundleopt" / "jax"
    assert cache_dir({}) == Path.home() / ".cache" / "bundleopt" / "jax"


def test_single_blas_thread_is_scoped():
    from threadpoolctl import threadpool_info

    from bundleopt.choice.fitting import single_blas_thread

    before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    with single_blas_thread():
        inside = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    after = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert all(n == 1 for n in inside)
    assert after == before


def test_cache_is_set_by_a_fit_not_by_import(tmp_path):
    code = (
        "import jax, bundleopt, bundleopt.choice as c\n"
        "assert not jax.config.jax_compilation_cache_dir\n"
        "df, _ = c.simulate_mnl(n_obs=200, n_alts=3, n_features=1, seed=0)\n"
        "c.MNL(features=['x0']).fit(df)\n"
        "print(jax.config.jax_compilation_cache_dir)\n"
    )
    env = {"BUNDLEOPT_JAX_CACHE": str(tmp_path / "jax"), "PATH": "/usr/bin:/bin"}
    import os

    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip().splitlines()[-1] == str(tmp_path / "jax")
    assert (tmp_path / "jax").is_dir()
