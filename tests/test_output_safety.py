"""Output folders: never lose a user's files, check before working, stop cleanly on signals,
and write ids as plain text (issue 13, items 1, 4, 5, 6, 7, 14).

Most command-line tests replace ``build_plan`` by a stub returning a small real Plan:
what is tested is the output handling, not the computation.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bundleopt
import bundleopt.report as report
from bundleopt.cli import app
from bundleopt.datasets import make_market
from bundleopt.outdir import MANIFEST, check_output_folder, read_manifest
from bundleopt.pipeline import build_plan

runner = CliRunner()

# ids a careless or hostile user may have: math text, raw HTML, spreadsheet formulas,
# Markdown table breakers, rich markup
HOSTILE = ("=SUM(A1)", "x$5_$", "5_$x^2$", "<b>x</b>", "@cmd", "-2x3", "p|q", "[red]r[/]", "P8", "P9")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def market():
    return make_market(seed=3, n_products=10, n_customers=250, n_pairs=2)


@pytest.fixture(scope="module")
def plan(market):
    """A small real plan whose product ids are HOSTILE; every hostile id is in its table."""
    names = dict(zip(sorted(market.catalog["product_id"]), HOSTILE, strict=True))
    tx = market.transactions.assign(product_id=market.transactions["product_id"].map(names))
    cat = market.catalog.assign(product_id=market.catalog["product_id"].map(names))
    result = build_plan(tx, cat, sessions=market.sessions, n_segments=2, min_lift=1.2, threads=1)
    offers = [HOSTILE[i % len(HOSTILE)] for i in range(len(result.table))]
    return dataclasses.replace(result, table=result.table.assign(offer=offers))


@pytest.fixture(scope="module")
def files(market, tmp_path_factory):
    d = tmp_path_factory.mktemp("shop")
    market.transactions.to_csv(d / "tx.csv", index=False)
    market.catalog.to_csv(d / "cat.csv", index=False)
    return d


def _plan_args(files, out, *extra):
    return ["plan", "-t", str(files / "tx.csv"), "-c", str(files / "cat.csv"), "--purchase-share", "0.5",
            "-k", "2", "-o", str(out), *extra]


def _lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.strip()]


def _stub_build_plan(monkeypatch, plan, hook=None):
    """Replace build_plan by a stub returning ``plan`` (after ``hook(progress)``); returns call count."""
    calls = []

    def stub(*args, progress=None, **kwargs):
        calls.append(1)
        if hook is not None:
            hook(progress)
        return plan

    monkeypatch.setattr("bundleopt.pipeline.build_plan", stub)
    return calls


def _forbid_work(monkeypatch):
    """Loading or planning fails the test: the output must be refused before any of it."""
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the output folder was checked")

    for name in ("bundleopt.pipeline.build_plan", "bundleopt.data.load_transactions",
                 "bundleopt.data.load_catalog", "bundleopt.adaptive.run_simulation"):
        monkeypatch.setattr(name, forbidden)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _no_temp_folders(folder: Path) -> None:
    stray = [p.name for p in folder.iterdir() if p.name.startswith(".") and (".tmp-" in p.name or ".old-" in p.name
                                                                            or "probe" in p.name)]
    assert stray == [], stray


def _user_folder(d: Path) -> Path:
    d.mkdir()
    (d / "thesis.tex").write_text("\\documentclass{article}")
    (d / "data").mkdir()
    (d / "data" / "a.csv").write_text("x\n1\n")
    return d


# --------------------------------------------------------------------------- item 1: data loss
def test_overwrite_never_deletes_a_users_folder(files, plan, tmp_path, monkeypatch):
    calls = _stub_build_plan(monkeypatch, plan)
    docs = _user_folder(tmp_path / "docs")
    before = _snapshot(docs)
    result = runner.invoke(app, _plan_args(files, docs, "--overwrite"))
    assert result.exit_code == 1, result.output
    assert len(_lines(result)) == 1 and "not written by bundleopt" in result.output
    assert _snapshot(docs) == before and calls == []
    with pytest.raises(FileExistsError, match="not written by bundleopt"):
        report.write_report(plan, docs, overwrite=True)
    assert _snapshot(docs) == before
    _no_temp_folders(tmp_path)


def test_overwrite_replaces_only_a_plan_folder_holding_nothing_else(files, plan, tmp_path, monkeypatch):
    _stub_build_plan(monkeypatch, plan)
    out = tmp_path / "plan"
    assert runner.invoke(app, _plan_args(files, out)).exit_code == 0
    assert sorted(read_manifest(out)["files"]) == sorted(report.REPORT_FILES)
    # without --overwrite: refused; with it: replaced
    again = runner.invoke(app, _plan_args(files, out))
    assert again.exit_code == 1 and "--overwrite" in again.output and len(_lines(again)) == 1
    (out / "plan.csv").write_text("old")
    assert runner.invoke(app, _plan_args(files, out, "--overwrite")).exit_code == 0
    assert (out / "plan.csv").read_text() != "old"
    # a user's file added to a plan folder makes it the user's: refused, nothing lost
    (out / "my-notes.txt").write_text("keep")
    before = _snapshot(out)
    refused = runner.invoke(app, _plan_args(files, out, "--overwrite"))
    assert refused.exit_code == 1 and "my-notes.txt" in refused.output and len(_lines(refused)) == 1
    assert _snapshot(out) == before
    # a forged manifest does not make a user's sub-folder replaceable
    (out / "my-notes.txt").unlink()
    (out / "plan.csv").unlink()
    (out / "plan.csv").mkdir()
    (out / "plan.csv" / "precious.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="did not write"):
        report.write_report(plan, out, overwrite=True)
    assert (out / "plan.csv" / "precious.txt").read_text() == "keep"
    _no_temp_folders(tmp_path)


def test_an_empty_folder_is_written_without_overwrite(plan, tmp_path):
    (tmp_path / "empty").mkdir()
    out = report.write_report(plan, tmp_path / "empty")
    assert read_manifest(out) is not None and (out / "report.html").exists()


@pytest.mark.parametrize("where", ["dot", "cwd", "parent of cwd", "home", "root"])
def test_protected_folders_are_refused(files, plan, tmp_path, monkeypatch, where):
    _forbid_work(monkeypatch)
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    target = {"dot": ".", "cwd": str(work), "parent of cwd": str(tmp_path / "a"), "home": str(home),
              "root": "/"}[where]
    before = _snapshot(tmp_path)
    result = runner.invoke(app, _plan_args(files, target, "--overwrite"))
    assert result.exit_code == 1, result.output
    assert len(_lines(result)) == 1 and "cannot write into" in result.output and "plan" in result.output
    with pytest.raises(FileExistsError, match="cannot write into"):
        report.write_report(plan, target, overwrite=True)
    assert _snapshot(tmp_path) == before
    for d in (tmp_path, tmp_path / "a", work, home):
        _no_temp_folders(d)


def test_a_symbolic_link_is_refused(plan, tmp_path):
    first = report.write_report(plan, tmp_path / "real")
    (tmp_path / "link").symlink_to(first)
    with pytest.raises(FileExistsError, match="symbolic link"):
        report.write_report(plan, tmp_path / "link", overwrite=True)
    assert (tmp_path / "link").is_symlink() and read_manifest(first) is not None


# --------------------------------------------------------------------------- item 6: check first
@pytest.mark.parametrize("case", ["missing parent", "file", "file with overwrite", "foreign folder"])
def test_output_is_refused_before_any_work(files, tmp_path, monkeypatch, case):
    _forbid_work(monkeypatch)
    (tmp_path / "a-file").write_text("mine")
    _user_folder(tmp_path / "docs")
    out, extra, text = {
        "missing parent": (tmp_path / "no" / "such" / "plan", [], "does not exist"),
        "file": (tmp_path / "a-file", [], "is a file"),
        "file with overwrite": (tmp_path / "a-file", ["--overwrite"], "is a file"),
        "foreign folder": (tmp_path / "docs", [], "not written by bundleopt"),
    }[case]
    before = _snapshot(tmp_path)
    t0 = time.perf_counter()
    result = runner.invoke(app, _plan_args(files, out, *extra))
    assert time.perf_counter() - t0 < 5
    assert result.exit_code == 1, result.output
    lines = _lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], result.output
    assert "Traceback" not in result.output
    assert _snapshot(tmp_path) == before


def test_demo_checks_its_folder_first(tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the output folder was checked")

    monkeypatch.setattr("bundleopt.datasets.make_market", forbidden)
    docs = _user_folder(tmp_path / "docs")
    before = _snapshot(docs)
    result = runner.invoke(app, ["demo", "-o", str(docs), "--overwrite"])
    assert result.exit_code == 1, result.output
    assert len(_lines(result)) == 1 and "not written by bundleopt" in result.output
    assert _snapshot(docs) == before


# --------------------------------------------------------------------------- item 4: unwritable
def test_an_unwritable_location_is_one_line_before_any_work(files, tmp_path, monkeypatch):
    _forbid_work(monkeypatch)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("bundleopt.outdir.tempfile.mkdtemp", read_only)
    result = runner.invoke(app, _plan_args(files, tmp_path / "plan"))
    assert result.exit_code == 1, result.output
    assert len(_lines(result)) == 1 and "Read-only file system" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "plan").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_for_real(files, tmp_path, monkeypatch):
    _forbid_work(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = runner.invoke(app, _plan_args(files, locked / "plan"))
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 1 and len(_lines(result)) == 1 and "cannot write" in result.output


def test_a_write_failure_is_one_line_and_leaves_nothing(files, plan, tmp_path, monkeypatch):
    _stub_build_plan(monkeypatch, plan)
    out = tmp_path / "plan"
    assert runner.invoke(app, _plan_args(files, out)).exit_code == 0
    before = _snapshot(out)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "_write_all", disk_full)
    result = runner.invoke(app, _plan_args(files, out, "--overwrite"))
    assert result.exit_code == 1, result.output
    assert len(_lines(result)) == 1 and "No space left on device" in result.output
    assert _snapshot(out) == before
    _no_temp_folders(tmp_path)


# --------------------------------------------------------------------------- item 5: ids as text
def test_ids_are_plain_text_in_plots_markdown_and_csv(plan, tmp_path):
    assert "x$5_$" in plan.scenario.offer_ids  # matplotlib's math text fails on it
    out = report.write_report(plan, tmp_path / "rep")
    for name in ("price_ladder.png", "profit_by_segment.png", "bundle_map.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    # Markdown: no raw HTML, every table row has the header's number of cells
    md = (out / "report.md").read_text()
    assert re.search(r"(?<!\\)<", md) is None and "<b>" not in md
    blocks = [[line for line in b if line.startswith("|")] for b in re.split(r"\n\s*\n", md)]
    tables = [b for b in blocks if b]
    assert len(tables) >= 3  # headline, plan, comparison (and the checks)
    for rows in tables:  # every row of a table has its header's number of cells
        assert len({len(re.findall(r"(?<!\\)\|", line)) for line in rows}) == 1, rows[0]
    assert r"\<b\>x\</b\>" in md and r"p\|q" in md
    # HTML: escaped
    html = (out / "report.html").read_text()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    # CSV: no cell a spreadsheet would run as a formula; numbers stay numbers
    for path in out.glob("*.csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    if cell.startswith(FORMULA_START):
                        float(cell)  # only a number may start with - or +
    table = (out / "plan.csv").read_text()
    assert "'=SUM(A1)" in table and "'@cmd" in table and "'-2x3" in table
    import pandas as pd

    back = pd.read_csv(out / "plan.csv")
    for col in ("price", "list_price", "profit", "units"):
        assert pd.api.types.is_float_dtype(back[col])
    assert (pd.read_csv(out / "segments.csv")["price_coef"] < 0).any()  # negative numbers kept
    # JSON keeps the ids exactly
    doc = (out / "plan.json").read_text()
    assert '"=SUM(A1)"' in doc and '"<b>x</b>"' in doc


def test_plots_ignore_a_usetex_setting(plan, tmp_path):
    import matplotlib

    with matplotlib.rc_context({"text.usetex": True}):
        report.plot_price_ladder(plan, tmp_path / "ladder.png")
    assert (tmp_path / "ladder.png").read_bytes().startswith(b"\x89PNG")


def test_rich_markup_in_ids_is_printed_literally(files, plan, tmp_path, monkeypatch):
    _stub_build_plan(monkeypatch, plan)
    result = runner.invoke(app, _plan_args(files, tmp_path / "plan"))
    assert result.exit_code == 0, result.output
    assert "[red]r[/]" in result.output


# --------------------------------------------------------------------------- item 14: quiet, simulate
def test_quiet_prints_only_the_final_line(files, plan, tmp_path, monkeypatch):
    _stub_build_plan(monkeypatch, plan, hook=lambda progress: progress("fitting choice models", 0.5))
    result = runner.invoke(app, _plan_args(files, tmp_path / "plan", "-q"))
    assert result.exit_code == 0, result.output
    assert _lines(result) == [f"plan and report written to {tmp_path / 'plan'}/ "
                              f"(open {tmp_path / 'plan' / 'report.html'})"]


def test_simulate_checks_its_folder_first_and_errors_in_one_line(tmp_path, monkeypatch):
    _forbid_work(monkeypatch)
    (tmp_path / "a-file").write_text("mine")
    docs = _user_folder(tmp_path / "docs")
    before = _snapshot(tmp_path)
    for args, code, text in (
        (["--out", str(tmp_path / "a-file")], 1, "is a file"),
        (["--out", str(docs)], 1, "not written by bundleopt"),
        (["--out", str(docs), "--overwrite"], 1, "not written by bundleopt"),
        (["--out", str(tmp_path / "no" / "sim")], 1, "does not exist"),
        (["--periods", "0"], 2, "--periods"),
        (["--forget", "0"], 2, "--forget"),
    ):
        result = runner.invoke(app, ["simulate", *args])
        lines = _lines(result)
        assert result.exit_code == code, result.output
        assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], result.output
    assert _snapshot(tmp_path) == before


def test_simulate_replaces_only_its_own_folder(tmp_path):
    out = tmp_path / "sim"
    args = ["simulate", "--periods", "2", "--customers", "30", "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert read_manifest(out)["kind"] == "simulation"
    assert {"periods.csv", "summary.json", "posterior.csv", "curves.png"} <= set(read_manifest(out)["files"])
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and len(_lines(again)) == 1 and "--overwrite" in again.output
    (out / "periods.csv").write_text("old")
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert (out / "periods.csv").read_text() != "old"
    _no_temp_folders(tmp_path)


# --------------------------------------------------------------------------- item 7: signals
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_swallowed_signal_still_stops_the_write(files, plan, tmp_path, monkeypatch, signum, code):
    """A library (JAX's GC callback) may swallow the KeyboardInterrupt: nothing is written anyway."""
    out = tmp_path / "plan"
    _stub_build_plan(monkeypatch, plan)
    assert runner.invoke(app, _plan_args(files, out)).exit_code == 0
    before = _snapshot(out)

    def swallow(progress):
        try:
            signal.raise_signal(signum)
            time.sleep(0.01)
        except KeyboardInterrupt:
            pass  # swallowed, as "Exception ignored in: <function _xla_gc_callback>"

    _stub_build_plan(monkeypatch, plan, hook=swallow)
    result = runner.invoke(app, _plan_args(files, out, "--overwrite"))
    assert result.exit_code == code, result.output
    assert len(_lines(result)) == 1 and "nothing was written" in result.output
    assert _snapshot(out) == before
    _no_temp_folders(tmp_path)


def test_a_signal_during_the_swap_never_hides_the_plan(files, plan, tmp_path, monkeypatch):
    """SIGINT between the two renames is held back; the swap is undone: the old plan stays."""
    out = tmp_path / "plan"
    _stub_build_plan(monkeypatch, plan)
    assert runner.invoke(app, _plan_args(files, out)).exit_code == 0
    before = _snapshot(out)
    real_replace = os.replace
    seen = []

    def replace(src, dst):
        real_replace(src, dst)
        seen.append((Path(src), Path(dst)))
        if Path(src) == out and len(seen) == 1:  # the old plan just moved aside
            signal.raise_signal(signal.SIGINT)
            assert not out.exists()  # the moment an unguarded interrupt would have left no plan

    monkeypatch.setattr(os, "replace", replace)
    result = runner.invoke(app, _plan_args(files, out, "--overwrite"))
    monkeypatch.undo()
    assert result.exit_code == 130, result.output
    assert len(_lines(result)) == 1 and "nothing was written" in result.output
    assert len(seen) == 4  # old aside, new in, new back out, old back in
    assert _snapshot(out) == before
    _no_temp_folders(tmp_path)


def test_a_signal_during_the_rename_of_a_new_folder_writes_nothing(plan, tmp_path, monkeypatch):
    real_replace = os.replace

    def replace(src, dst):
        real_replace(src, dst)
        if Path(dst) == tmp_path / "rep":
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        report.write_report(plan, tmp_path / "rep")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_a_failure_between_the_renames_restores_the_old_plan(plan, tmp_path, monkeypatch):
    out = report.write_report(plan, tmp_path / "plan")
    before = _snapshot(out)
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == out and ".tmp-" in Path(src).name:  # the new plan moving in
            raise OSError(errno.EIO, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="Input/output error"):
        report.write_report(plan, out, overwrite=True)
    monkeypatch.undo()
    assert _snapshot(out) == before
    _no_temp_folders(tmp_path)


_RUNNER = textwrap.dedent("""
    import pickle, sys, time
    import bundleopt.pipeline as pipeline
    from bundleopt.cli import app

    plan_file, mode, ready, *args = sys.argv[1:]
    with open(plan_file, "rb") as fh:
        plan = pickle.load(fh)

    def slow_build_plan(*a, progress=None, **k):
        open(ready, "w").close()
        for _ in range(400):
            try:
                time.sleep(0.05)
            except KeyboardInterrupt:
                if mode == "swallow":  # as JAX's GC callback does
                    return plan
                raise
            if mode != "stuck":  # "stuck": a long step with no progress report (a solve)
                progress("fitting choice models", 0.5)
        return plan

    pipeline.build_plan = slow_build_plan
    app(args=args, prog_name="bundleopt")
""")


@pytest.mark.parametrize(("signum", "code", "mode"), [
    (signal.SIGINT, 130, "raise"), (signal.SIGTERM, 143, "raise"), (signal.SIGINT, 130, "swallow"),
    (signal.SIGTERM, 143, "swallow"), (signal.SIGINT, 130, "stuck"),
])
def test_a_signal_mid_run_exits_nonzero_and_keeps_the_old_plan(files, plan, tmp_path, signum, code, mode):
    old = report.write_report(plan, tmp_path / "plan")
    before = _snapshot(old)
    (tmp_path / "plan.pkl").write_bytes(pickle.dumps(plan))
    (tmp_path / "runner.py").write_text(_RUNNER)
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": str(Path(bundleopt.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "plan.pkl"), mode, str(ready),
         *_plan_args(files, old, "--overwrite", "-q")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ready.exists(), proc.communicate()
    proc.send_signal(signum)
    if mode == "stuck":  # the first signal waits for a safe point; a second one stops at once
        time.sleep(0.5)
        assert proc.poll() is None
        proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, (stdout, stderr)
    assert "Traceback" not in stderr and f"interrupted by {signal.Signals(signum).name}" in stderr
    assert _snapshot(old) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan", "plan.pkl", "ready", "runner.py"]


def test_check_output_folder_returns_the_path(tmp_path):
    assert check_output_folder(tmp_path / "new") == tmp_path / "new"
    assert not (tmp_path / "new").exists() and list(tmp_path.iterdir()) == []
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / MANIFEST).write_text("not json")
    (tmp_path / "x" / "plan.csv").write_text("")
    with pytest.raises(FileExistsError, match="not written by bundleopt"):
        check_output_folder(tmp_path / "x", overwrite=True)


def test_an_interrupt_swallowed_by_a_gc_callback_is_recorded_and_not_printed(monkeypatch):
    """JAX's GC callback swallows exceptions: the guard records the signal, prints no traceback."""
    import gc

    from bundleopt.commands._interrupt import Interrupted, interrupt_guard

    printed = []  # what Python would print as "Exception ignored in: ..."
    monkeypatch.setattr(sys, "unraisablehook", printed.append)
    fired = []

    def callback(phase, info):
        if phase == "start" and not fired:
            fired.append(1)
            signal.raise_signal(signal.SIGINT)  # recorded
            signal.raise_signal(signal.SIGINT)  # would be swallowed by the collector: sent again later
            time.sleep(0.01)

    with interrupt_guard() as guard:
        with pytest.raises(Interrupted):  # the second signal, sent again outside the callback
            gc.callbacks.append(callback)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(callback)
            time.sleep(2)
        if callback in gc.callbacks:  # the interrupt may land before the remove above
            gc.callbacks.remove(callback)
        assert fired and guard.signum == signal.SIGINT  # recorded
        with pytest.raises(Interrupted):
            guard.check()
    assert printed == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert sys.unraisablehook == printed.append  # put back


def test_an_interrupt_swallowed_by_a_finalizer_is_raised_again(monkeypatch):
    """An exception in ``__del__`` is swallowed ("Exception ignored"): the guard raises it again later."""
    from bundleopt.commands._interrupt import Interrupted, interrupt_guard

    printed = []
    monkeypatch.setattr(sys, "unraisablehook", printed.append)

    class Finalized:
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)  # raised here, swallowed by the interpreter

    with interrupt_guard(raise_first=True) as guard:
        with pytest.raises(Interrupted):
            Finalized()  # dropped at once: __del__ runs
            time.sleep(2)
        assert guard.signum == signal.SIGTERM
    assert printed == []


def _written_folder(path):
    from bundleopt.outdir import staged_folder

    with staged_folder(path, kind="plan") as tmp:
        (tmp / "plan.json").write_text("{}")
    return path


def test_a_swap_killed_midway_is_repaired_on_the_next_write(tmp_path):
    # the state SIGKILL leaves between the two renames: out gone, the previous folder hidden
    out = _written_folder(tmp_path / "plan")
    hidden = tmp_path / ".plan.old-abc123"
    hidden.mkdir()
    os.replace(out, hidden / "previous")
    new = tmp_path / ".plan.tmp-def456"
    _written_folder(tmp_path / "other")
    os.replace(tmp_path / "other", new)  # a complete folder that was never swapped in
    with pytest.warns(UserWarning, match="restored"):
        with pytest.raises(FileExistsError, match="already exists"):
            check_output_folder(out)
    assert (out / "plan.json").read_text() == "{}" and read_manifest(out) is not None
    assert not hidden.exists() and not new.exists()


def test_leftovers_holding_user_files_are_left_alone(tmp_path):
    from bundleopt.outdir import recover_interrupted_swap

    hidden = tmp_path / ".plan.old-xyz"
    (hidden / "previous").mkdir(parents=True)
    (hidden / "previous" / "notes.txt").write_text("mine")
    young = tmp_path / ".plan.tmp-young"
    young.mkdir()
    with pytest.warns(UserWarning, match="left alone"):
        done = recover_interrupted_swap(tmp_path / "plan")
    assert done == [] and (hidden / "previous" / "notes.txt").read_text() == "mine"
    assert young.exists()  # may belong to a run still going on
    os.utime(young, (0, 0))
    with pytest.warns(UserWarning):
        assert recover_interrupted_swap(tmp_path / "plan") == ["removed .plan.tmp-young, left by an interrupted run"]


def test_a_normal_write_leaves_nothing_to_recover(tmp_path):
    import warnings

    from bundleopt.outdir import recover_interrupted_swap

    _written_folder(tmp_path / "plan")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert recover_interrupted_swap(tmp_path / "plan") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]
