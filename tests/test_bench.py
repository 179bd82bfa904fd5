"""Benchmark suites: each runs at its smallest size and writes CSV/JSON/PNG with metadata."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bundleopt.bench import SUITES, suite_runner
from bundleopt.bench.common import relative_gap, repeat_timing, resolve_size
from bundleopt.cli import app


def _check_files(out, suite: str, seed: int, df: pd.DataFrame) -> dict:
    """The three files exist; CSV equals the rows; JSON has machine, versions, seed."""
    name = suite.replace("-", "_")
    csv, js, png = out / f"{name}.csv", out / f"{name}.json", out / f"{name}.png"
    for path in (csv, js, png):
        assert path.is_file() and path.stat().st_size > 0, path
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(pd.read_csv(csv)) == len(df) > 0
    doc = json.loads(js.read_text())
    assert doc["suite"] == suite and doc["seed"] == seed and doc["size"] == "tiny"
    assert doc["machine"]["cpu_count"] >= 1 and doc["machine"]["python"]
    assert doc["versions"]["numpy"] == np.__version__
    assert len(doc["rows"]) == len(df)
    return doc


def test_pricing_gap_shrinks_with_the_step(tmp_path):
    df = suite_runner("pricing")(out=tmp_path, seed=3, size="tiny")
    _check_files(tmp_path, "pricing", 3, df)
    for _, part in df.groupby("case"):
        gaps = part.sort_values("relative_step", ascending=False)["profit_gap"].to_numpy()
        # a ladder can never beat the continuous optimum, and refining it helps
        assert (gaps >= -1e-9).all()
        assert gaps[-1] < gaps[0]
        assert (part["profit_recomputed_error"] < 1e-9).all()


def test_optimization_methods_agree_where_exact(tmp_path):
    df = suite_runner("optimization")(out=tmp_path, seed=0, size="tiny")
    _check_files(tmp_path, "optimization", 0, df)
    comp = df[(df["part"] == "compare") & ~df["personalised"].astype(bool)].set_index("method")
    exact = comp.at["brute_force", "profit"]
    # MILP with and without strengthening equal brute force; no baseline beats it
    for method in ("milp", "milp-no-rlt"):
        assert comp.at[method, "profit"] == pytest.approx(exact, rel=1e-6)
    for name in ("naive_linear", "list_price_all", "revenue_ordered", "greedy_add_drop"):
        assert comp.at[name, "profit"] <= exact * (1 + 1e-9)
    # strengthening never weakens the root bound
    assert comp.at["milp", "root_bound"] <= comp.at["milp-no-rlt", "root_bound"] + 1e-9
    pers = df[(df["part"] == "compare") & df["personalised"].astype(bool)]
    assert pers["method"].str.startswith("lp-decomposed").any()
    assert pers["profit"].max() - pers["profit"].min() <= 1e-6 * pers["profit"].max()
    sweep = df[df["part"] == "sweep"]
    assert len(sweep) >= 2 and (sweep[["build_s", "handoff_s", "solve_s"]] >= 0).all().all()
    assert (sweep["profit_vs_bound"] <= 1 + 1e-6).all()


def test_estimation_matches_biogeme(tmp_path):
    pytest.importorskip("biogeme", reason="Biogeme (the [dev] extra) is not installed")
    df = suite_runner("estimation")(out=tmp_path, seed=0, size="tiny")
    doc = _check_files(tmp_path, "estimation", 0, df)
    mnl = df[df["model"] == "MNL"]
    assert mnl["biogeme_estimate"].notna().all()
    assert (mnl["abs_diff"] < 1e-4).all()
    assert (mnl["loglik_diff"].abs() < 1e-6).all()
    assert (mnl["time_ratio"] > 0).all()
    assert any("choice-learn" in n for n in doc["notes"])
    lc = df[df["model"] == "LatentClassMNL"]
    assert len(lc) == 4 and (lc["error_vs_true"].abs() < 4 * lc["bundleopt_se"] + 0.05).all()
    oos = df[df["model"].str.endswith("out of sample")].set_index("model")
    assert set(oos.index) == {"MNL, out of sample", "TasteNet, out of sample"}
    assert (oos["test_loglik"] < 0).all() and oos["test_hit_rate"].between(0, 1).all()
    assert (oos["test_loglik"] > np.log(1.0 / oos["n_alternatives"])).all()  # better than a uniform guess
    assert (tmp_path / "estimation_out_of_sample.png").exists()


def test_end_to_end_scores_under_the_truth(tmp_path):
    df = suite_runner("end-to-end")(out=tmp_path, seed=0, size="tiny")
    _check_files(tmp_path, "end-to-end", 0, df)
    models = df[df["part"] == "models"].set_index("plan")
    assert {"MNL", "BundleNet", "truth (sampled)"} <= set(models.index)
    assert np.isfinite(models.loc[["MNL", "BundleNet"], ["test_loglik", "true_profit"]].to_numpy()).all()
    assert (tmp_path / "end_to_end_models.png").exists()
    df = df[df["part"] == "pipeline"]
    rows = df.set_index("plan")
    assert {"optimised", "shop", "status_quo", "greedy_add_drop"} <= set(rows.index)
    assert rows.at["shop", "true_uplift"] == 0.0
    # optimal under the fitted model: no feasible decision scores higher there
    feasible = rows[rows["feasible"].astype(bool)]
    assert rows.at["optimised", "model_profit"] >= feasible["model_profit"].max() * (1 - 1e-6)
    assert np.isfinite(rows["true_profit"]).all()


def test_cli_rejects_an_unknown_suite_in_one_line():
    result = CliRunner().invoke(app, ["bench", "nonsense"])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown suite 'nonsense'" in lines[0]
    for name in (*SUITES, "all"):
        assert name in lines[0]


def test_cli_runs_a_suite(tmp_path, monkeypatch):
    import bundleopt.bench.pricing as pricing

    real = pricing.run
    monkeypatch.setattr(pricing, "run", lambda **kw: real(**kw, size="tiny"))
    result = CliRunner().invoke(app, ["bench", "pricing", "--out", str(tmp_path), "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "pricing.json").read_text())["seed"] == 5


def test_helpers_reject_bad_input_and_compute():
    with pytest.raises(ValueError, match="size must be one of"):
        resolve_size(True, "huge")
    assert resolve_size(False, None) == "full" and resolve_size(True, None) == "quick"
    with pytest.raises(ValueError, match="unknown benchmark suite"):
        suite_runner("nope")
    with pytest.raises(ValueError, match="repeat"):
        repeat_timing(lambda: 1, 0)
    value, best, median = repeat_timing(lambda: 7, 3)
    assert value == 7 and 0 <= best <= median
    assert relative_gap(9.0, 10.0) == pytest.approx(0.1) and relative_gap(0.0, 0.0) == 0.0


def _gpu_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gpu.py"
    spec = importlib.util.spec_from_file_location("bench_gpu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # two cold JAX compilations (MNL and mixed logit): about a minute on 2 loaded cores
def test_gpu_benchmark_skips_with_a_reason_or_runs_unchanged_on_the_cpu(tmp_path):
    gpu = _gpu_script()
    out = tmp_path / "gpu.json"
    if gpu.skip_reason() is not None:
        assert gpu.main(["--out", str(out)]) is None
        assert "no GPU visible to JAX" in json.loads(out.read_text())["skipped"]
    df = gpu.main(["--force-cpu", "--mnl-n", "3000", "--ml-n", "400", "--ml-draws", "20", "--out", str(out)])
    assert list(df["model"]) == ["MNL", "MixedLogit"] and (df["fit_s"] > 0).all()
    assert df["device"].str.contains("cpu", case=False).all() and df["converged"].all()


def test_end_to_end_records_a_market_the_pipeline_refuses(tmp_path, monkeypatch):
    """A market whose plan the pipeline refuses (e.g. a positive price coefficient) is a
    row saying so, and the suite goes on (before: the whole suite stopped)."""
    import bundleopt.pipeline
    from bundleopt.bench import end_to_end

    def refuse(*args, **kwargs):
        raise ValueError("segment 1: fitted price coefficient 0.074 >= 0")

    monkeypatch.setattr(bundleopt.pipeline, "build_plan", refuse)
    monkeypatch.setattr(end_to_end, "models_part", lambda cfg, seed, notes: [])  # not this test
    monkeypatch.setattr(end_to_end, "_plot_models", lambda df, out: None)
    df = end_to_end.run(size="tiny", out=tmp_path, seed=0)
    row = df[df["dataset"] == "synthetic (seed 0)"].iloc[0]
    assert row["plan"] == "no plan" and "price coefficient" in row["error"]
    assert (tmp_path / "end_to_end.csv").exists()


def test_bench_never_writes_into_a_users_folder(tmp_path, monkeypatch):
    """``bundleopt bench``: a folder with the user's files is refused before any work and left
    as it was; the default folder is replaced run after run; --out replaced with --overwrite."""
    import bundleopt.bench

    ran = []

    def fake_suite(quick, out, seed, progress):
        ran.append(out)
        pd.DataFrame({"x": [1]}).to_csv(out / "pricing.csv", index=False)
        return pd.DataFrame({"x": [1]})

    monkeypatch.setattr(bundleopt.bench, "suite_runner", lambda name: fake_suite)
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "pricing.csv").write_text("my numbers\n")
    r = CliRunner().invoke(app, ["bench", "pricing", "--out", str(mine), "--overwrite"])
    assert r.exit_code == 1 and "not written by bundleopt" in r.output and not ran
    assert (mine / "pricing.csv").read_text() == "my numbers\n"
    for _ in range(2):  # the default results/pricing is bundleopt's: replaced
        assert CliRunner().invoke(app, ["bench", "pricing"]).exit_code == 0
    assert (tmp_path / "results" / "pricing" / "pricing.csv").exists()
    assert (tmp_path / "results" / "pricing" / ".bundleopt-manifest.json").exists()
    new = tmp_path / "new"
    assert CliRunner().invoke(app, ["bench", "pricing", "--out", str(new)]).exit_code == 0
    r = CliRunner().invoke(app, ["bench", "pricing", "--out", str(new)])
    assert r.exit_code == 1 and "--overwrite" in r.output
    assert CliRunner().invoke(app, ["bench", "pricing", "--out", str(new), "--overwrite"]).exit_code == 0
