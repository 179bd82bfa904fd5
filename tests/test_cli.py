"""The ``bundleopt demo`` and ``bundleopt plan`` commands (typer's CliRunner).

Every user mistake must end with exactly one line, a non-zero exit code, and no file written.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bundleopt.cli import app
from bundleopt.datasets import make_market
from bundleopt.outdir import MANIFEST
from bundleopt.report import REPORT_FILES

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small make_market shop written as CSV files."""
    m = make_market(seed=4, n_products=10, n_customers=250, n_pairs=2)
    d = tmp_path_factory.mktemp("shop")
    m.transactions.to_csv(d / "tx.csv", index=False)
    m.catalog.to_csv(d / "cat.csv", index=False)
    m.sessions.to_csv(d / "ses.csv", index=False)
    return d


def _lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.strip()]


def test_help_for_every_command():
    for args in ([], ["demo"], ["plan"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_demo_runs_the_whole_pipeline():
    result = runner.invoke(app, ["demo", "--segments", "3"])
    assert result.exit_code == 0, result.output
    for text in ("Segments", "Plan: offers and prices", "optimised", "shop", "TRUE model"):
        assert text in result.output


def test_plan_on_csv_files_writes_the_report(files, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["plan", "-t", str(files / "tx.csv"), "-c", str(files / "cat.csv"),
                                 "--sessions", str(files / "ses.csv"), "--segments", "2",
                                 "--max-bundles", "2", "--min-lift", "1.2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted([*REPORT_FILES, MANIFEST])
    doc = json.loads((out / "plan.json").read_text())
    assert doc["settings"]["n_segments"] == 2 and doc["settings"]["max_bundles"] == 2
    # the command builds a PlanConfig: every setting is written out, as given or defaulted
    from dataclasses import fields

    from bundleopt import PlanConfig

    assert {f.name for f in fields(PlanConfig)} <= set(doc["settings"])
    assert doc["settings"]["min_lift"] == 1.2 and doc["settings"]["sessions"] is True
    assert len(doc["segments"]) == 2
    assert "written to" in result.output
    # the report's trust sentence, then the decomposed headline, come first in the terminal
    md = (out / "report.md").read_text()
    trust = md.split("## Summary: what to change and why", 1)[1].split("**")[1]
    words = " ".join(result.output.split())
    assert " ".join(trust.split()) in words
    assert words.index(" ".join(trust.split())) < words.index("Where the gain comes from") < words.index("Plan: offers")
    # a second run into the same folder is refused, then allowed with --overwrite
    again = runner.invoke(app, ["plan", "-t", str(files / "tx.csv"), "-c", str(files / "cat.csv"),
                                "--purchase-share", "0.6", "--segments", "2", "--out", str(out)])
    assert again.exit_code == 1 and len(_lines(again)) == 1 and "--overwrite" in again.output


def _bad_files(files, d):
    """name -> (transactions, catalog, extra args, expected text)."""
    import pandas as pd

    tx = pd.read_csv(files / "tx.csv")
    cat = pd.read_csv(files / "cat.csv")
    cat.drop(columns=["unit_cost"]).to_csv(d / "cat_nocost.csv", index=False)
    tx.assign(unit_price=-1.0).to_csv(d / "tx_allneg.csv", index=False)
    tx.assign(unit_price=tx["unit_price"].where(tx.index != 3, -2.0)).to_csv(d / "tx_oneneg.csv", index=False)
    tx.assign(timestamp="not a date").to_csv(d / "tx_dates.csv", index=False)
    tx.assign(product_id="X" + tx["product_id"]).to_csv(d / "tx_unknown.csv", index=False)
    (d / "empty.csv").write_text("")
    (d / "tx.xlsx").write_text("not really")
    good_t, good_c = files / "tx.csv", files / "cat.csv"
    return {
        "missing file": (d / "nope.csv", good_c, [], "no such file"),
        "missing column": (good_t, d / "cat_nocost.csv", [], "unit_cost"),
        "empty file": (d / "empty.csv", good_c, [], "cannot be read"),
        "unknown type": (d / "tx.xlsx", good_c, [], "unknown file type"),
        "all prices negative": (d / "tx_allneg.csv", good_c, [], "no valid rows"),
        "one bad price, strict": (d / "tx_oneneg.csv", good_c, ["--strict"], "unit_price"),
        "dates": (d / "tx_dates.csv", good_c, [], "no valid rows"),
        "unknown products": (d / "tx_unknown.csv", good_c, ["--strict"], "not in the catalog"),
    }


@pytest.mark.parametrize("case", ["missing file", "missing column", "empty file", "unknown type",
                                  "all prices negative", "one bad price, strict", "dates",
                                  "unknown products"])
def test_bad_files_give_one_line_and_write_nothing(files, tmp_path, case):
    inputs = tmp_path / "in"
    inputs.mkdir()
    tx, cat, extra, text = _bad_files(files, inputs)[case]
    out = tmp_path / "out"
    result = runner.invoke(app, ["plan", "-t", str(tx), "-c", str(cat), "--purchase-share", "0.6",
                                 "--segments", "2", "--out", str(out), *extra])
    lines = _lines(result)
    assert result.exit_code != 0
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and text in lines[0]
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # nothing written


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--segments", "abc"], "--segments"),
        (["--segments", "0"], "--segments must be"),
        (["--min-margin", "1.5"], "--min-margin must be"),
        (["--ladder", "0.9,x"], "--ladder"),
        (["--ladder", "0.9,-1"], "--ladder must be"),
        (["--purchase-share", "2"], "--purchase-share must be"),
        (["--bundle-utility", "magic"], "--bundle-utility"),
        (["--max-offers", "0"], "--max-offers must be"),
        (["--no-such-option"], "no-such-option"),
        (["--time-limit", "0"], "--time-limit must be"),
        (["--max-bundles", "-1"], "--max-bundles must be"),
        (["--price-points", "cheap"], "--price-points"),
        (["--max-price-change", "-0.1"], "--max-price-change"),
        (["--keep-on-sale", "no-such-product"], "--keep-on-sale names 1 product id(s) that are in neither file"),
        # checked once by PlanConfig, before the files are read
        (["--min-support", "0"], "--min-support must be"),
        (["--min-segment-size", "0"], "--min-segment-size must be"),
        (["--draws", "1"], "--draws must be"),
        (["--backtest", "1.5"], "--backtest must be"),
        (["--seed", "-1"], "--seed must be"),
    ],
)
def test_bad_options_give_one_line_and_write_nothing(files, tmp_path, args, text):
    out = tmp_path / "out"
    base = ["plan", "-t", str(files / "tx.csv"), "-c", str(files / "cat.csv"), "--out", str(out)]
    if "--purchase-share" not in args:
        base += ["--sessions", str(files / "ses.csv")]
    result = runner.invoke(app, [*base, *args])
    lines = _lines(result)
    assert result.exit_code != 0
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and text in lines[0]
    assert not out.exists()


def test_no_purchase_source_is_required(files, tmp_path):
    result = runner.invoke(app, ["plan", "-t", str(files / "tx.csv"), "-c", str(files / "cat.csv"),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and len(_lines(result)) == 1 and "--purchase-share" in result.output
    assert list(tmp_path.iterdir()) == []


def test_ambiguous_dates_name_the_cli_options_and_the_options_settle_them(files, tmp_path):
    """Dates that read both day-first and month-first are refused in one line naming
    --dayfirst / --monthfirst / --date-format; with --dayfirst the same file is read."""
    import pandas as pd

    tx = pd.read_csv(files / "tx.csv")
    stamps = pd.to_datetime(tx["timestamp"])
    # every day <= 12: 03/04 could be 3 April or 4 March
    tx["timestamp"] = [f"{min(t.day, 12):02d}/{t.month:02d}/{t.year}" for t in stamps]
    path = tmp_path / "tx_ambiguous.csv"
    tx.to_csv(path, index=False)
    base = ["plan", "-t", str(path), "-c", str(files / "cat.csv"), "--purchase-share", "0.6",
            "--max-products", "4", "--segments", "2", "-q"]
    refused = runner.invoke(app, [*base, "-o", str(tmp_path / "a")])
    assert refused.exit_code == 1
    lines = _lines(refused)
    assert len(lines) == 1 and "--dayfirst" in lines[0] and "--date-format" in lines[0], lines
    assert not (tmp_path / "a").exists()
    read = runner.invoke(app, [*base, "--dayfirst", "-o", str(tmp_path / "b")])
    assert read.exit_code == 0, read.output
