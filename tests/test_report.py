"""write_report: every file, faithful contents, atomic writes (nothing half-written)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

import bundleopt.report as report
from bundleopt.datasets import make_market
from bundleopt.outdir import MANIFEST, read_manifest
from bundleopt.pipeline import build_plan

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def plan():
    m = make_market(seed=3, n_products=10, n_customers=250, n_pairs=2)
    return build_plan(m.transactions, m.catalog, sessions=m.sessions, n_segments=2, min_lift=1.2, threads=1)


def test_every_file_is_written_and_faithful(plan, tmp_path):
    out = report.write_report(plan, tmp_path / "rep")
    assert sorted(p.name for p in out.iterdir()) == sorted([*report.REPORT_FILES, MANIFEST])
    assert sorted(read_manifest(out)["files"]) == sorted(report.REPORT_FILES)
    table = pd.read_csv(out / "plan.csv")
    assert len(table) == len(plan.table)
    pd.testing.assert_series_equal(table["price"], plan.table["price"], check_names=False)
    assert math.isclose(table["profit"].sum(), plan.profit, rel_tol=1e-9)
    doc = json.loads((out / "plan.json").read_text())
    assert math.isclose(doc["profit"], plan.profit) and math.isclose(doc["shop_profit"], plan.shop_profit)
    assert doc["seed"] == plan.settings["random_state"]
    assert doc["machine"] and {"python", "numpy", "jax"} <= set(doc["versions"])
    assert len(doc["plan"]) == len(plan.table) and len(doc["segments"]) == len(plan.segments)
    comp = pd.read_csv(out / "comparison.csv").set_index("plan")
    assert math.isclose(comp.at["optimised", "profit"], plan.profit, rel_tol=1e-9)
    for name in ("price_ladder.png", "profit_by_segment.png", "bundle_map.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5_000
    html = (out / "report.html").read_text()
    for name in ("plan.csv", "plan.json", "price_ladder.png", "profit_by_segment.png", "bundle_map.png"):
        assert name in html and name in (out / "report.md").read_text()
    assert list(tmp_path.iterdir()) == [out]  # no temporary folder left behind


def test_an_existing_folder_is_kept_unless_overwrite(plan, tmp_path):
    out = report.write_report(plan, tmp_path / "rep")
    before = (out / "plan.json").read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        report.write_report(plan, out)
    assert (out / "plan.json").read_bytes() == before
    (out / "plan.csv").write_text("an old plan")
    report.write_report(plan, out, overwrite=True)  # a folder bundleopt wrote is replaced
    assert (out / "plan.csv").read_text() != "an old plan"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_a_failure_writes_nothing(plan, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(report, "plot_bundle_map", broken)
    with pytest.raises(RuntimeError, match="plot failed"):
        report.write_report(plan, tmp_path / "rep")
    assert list(tmp_path.iterdir()) == []
    # an existing report survives a failed overwrite untouched
    monkeypatch.undo()
    first = report.write_report(plan, tmp_path / "rep")
    before = (first / "plan.csv").read_bytes()
    monkeypatch.setattr(report, "plot_bundle_map", broken)
    with pytest.raises(RuntimeError):
        report.write_report(plan, tmp_path / "rep", overwrite=True)
    assert (first / "plan.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_missing_parent_folder(plan, tmp_path):
    with pytest.raises(NotADirectoryError, match="does not exist"):
        report.write_report(plan, tmp_path / "no" / "such" / "rep")


def test_the_decomposed_headline_comes_first_everywhere(plan, tmp_path):
    out = report.write_report(plan, tmp_path / "rep")
    doc = json.loads((out / "plan.json").read_text())
    assert next(iter(doc)) == "headline"
    head = doc["headline"]
    assert math.isclose(sum(s["part"] for s in head["steps"]), head["gain"], rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(head["profit"], plan.profit, rel_tol=1e-9)
    html = (out / "report.html").read_text()
    assert html.index("Where the gain comes from") < html.index("<h2>Plan</h2>")
    md = (out / "report.md").read_text()
    assert md.index("Where the gain comes from") < md.index("## Plan")


def test_intervals_are_in_the_report_and_match_the_json(plan, tmp_path):
    out = report.write_report(plan, tmp_path / "rep")
    doc = json.loads((out / "plan.json").read_text())
    rows = {r["quantity"]: r for r in doc["intervals"]["table"]}
    t = plan.intervals.table.set_index("quantity")
    assert math.isclose(rows["plan_profit"]["low"], t.at["plan_profit", "low"])
    assert rows["plan_profit"]["low"] <= plan.profit <= rows["plan_profit"]["high"]
    assert len(pd.read_csv(out / "intervals.csv")) == doc["intervals"]["n_draws"] == len(plan.intervals.draws)
    html = (out / "report.html").read_text()
    assert "intervals from the estimates" in html and 'src="intervals.png"' in html


def test_reasons_are_in_the_plan_and_the_report(plan, tmp_path):
    why = plan.offer_reasons
    assert len(why) == len(plan.table)  # one row per (segment, offer) of the plan
    assert math.isclose(why["contribution"].sum(), plan.profit, rel_tol=1e-9)
    assert set(plan.rule_costs["rule"]) == set(plan.scenario.constraints.active())
    out = report.write_report(plan, tmp_path / "rep")
    assert len(pd.read_csv(out / "reasons.csv")) == len(why)
    html = (out / "report.html").read_text()
    assert "Why each offer is in the plan" in html and "What each rule costs" in html
