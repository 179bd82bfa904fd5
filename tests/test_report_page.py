"""report.html as a shop owner reads it: the summary first, bounded tables at any size,
figures labelled with their unit, the full list still in the CSV/JSON, and (where
Chromium is installed) a real browser's rendering: a screenshot and no sideways scroll."""

from __future__ import annotations

import importlib.util
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import bundleopt.report as report
from bundleopt.datasets import make_market
from bundleopt.pipeline import build_plan
from bundleopt.plan_parts.summary import backtest_check, trust_sentence

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"


def _screenshot_module():
    spec = importlib.util.spec_from_file_location("report_screenshot", ROOT / "benchmarks" / "report_screenshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Page(HTMLParser):
    """The page's tables (rows, whether inside a closed <details>), figures and headings, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tables: list[dict] = []
        self.figures: list[dict] = []
        self.order: list[str] = []  # ids and h2 texts, in page order
        self._text: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in ("img", "meta", "br"):
            self.stack.append(tag)
        if "id" in a:
            self.order.append("#" + a["id"])
        if tag == "table":
            self.tables.append({"id": a.get("id"), "in_details": "details" in self.stack, "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "figure":
            self.figures.append({"img": None, "caption": ""})
        elif tag == "img":
            if "figure" in self.stack:
                self.figures[-1]["img"] = a.get("src")
            else:
                self.figures.append({"img": a.get("src"), "caption": None})
        elif tag in ("figcaption", "h2"):
            self._text = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1]["rows"][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "figcaption" and self._text is not None:
            self.figures[-1]["caption"] = "".join(self._text)
            self._text = None
        elif tag == "h2" and self._text is not None:
            self.order.append("".join(self._text))
            self._text = None
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._text is not None:
            self._text.append(data)


def parse_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def check_page_structure(out: Path, plan, max_rows: int = 25) -> _Page:
    """The structural promises of report.html (module docstring), for any size of plan."""
    page = parse_page(out / "report.html")
    order = page.order
    # summary, then the assumptions box, then the top changes, then the details
    assert order.index("#summary") < order.index("#assumptions") < order.index("#top-changes") \
        < order.index("Plan")
    assert order.index("#trust") < order.index("#what-to-change") < order.index("#headline") < order.index("#interval")
    # tables shown open are bounded whatever the number of offers
    for t in page.tables:
        if not t["in_details"]:
            assert len(t["rows"]) - 1 <= max_rows, f"table {t['id']} shows {len(t['rows']) - 1} rows"
    shown = sum(len(t["rows"]) for t in page.tables if not t["in_details"])
    assert shown < 300
    # ... and the full list is still there: plan.csv, plan.json, and the closed scrolling block
    n = len(plan.table)
    assert len(pd.read_csv(out / "plan.csv")) == n
    assert len(json.loads((out / "plan.json").read_text())["plan"]) == n
    if n > max_rows:
        full = [t for t in page.tables if t["in_details"]]
        assert len(full) == 1 and len(full[0]["rows"]) - 1 == min(n, 5000)
    # every figure has a caption naming its unit, and every figure file the report writes is shown
    assert page.figures and all(f["caption"] and "unit" in f["caption"].lower() for f in page.figures), page.figures
    pngs = {n for n in report.REPORT_FILES if n.endswith(".png")}
    if not plan.scenario.is_bundle.any():  # no candidate: a sentence says so instead of an empty map
        pngs.discard("bundle_map.png")
    assert {f["img"] for f in page.figures} == pngs
    return page


_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?%|[-+]?\d[\d,]*\.\d+|n/a")


def _numbers(text: str) -> list[float | str]:
    """The decimal numbers in ``text`` in order (``"1,234.50"`` -> 1234.5, ``"+12.5%"`` -> 0.125),
    ``"n/a"`` kept as text."""
    out: list[float | str] = []
    for tok in _NUMBER.findall(text):
        if tok == "n/a":
            out.append(tok)
        elif tok.endswith("%"):
            out.append(float(tok[:-1].replace(",", "")) / 100)
        else:
            out.append(float(tok.replace(",", "")))
    return out


def _same(shown: float | str, value: float | None, pct: bool = False) -> bool:
    """``shown`` (parsed from the page) is ``value`` rounded as the page rounds it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return shown == "n/a"
    return shown != "n/a" and abs(shown - value) <= (0.0005 if pct else 0.005 + 1e-12 * abs(value))


class _Texts(HTMLParser):
    """Text of the elements with an id (nested ids each get their own text)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str | None]] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        if tag in ("img", "meta", "br"):
            return
        ident = dict(attrs).get("id")
        self.open.append((tag, ident))
        if ident:
            self.text[ident] = []

    def handle_endtag(self, tag):
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for _, ident in self.open:
            if ident:
                self.text[ident].append(data)


def check_numbers_match_json(out: Path) -> dict:
    """Every number of report.html's headline sentence, decomposition table and interval
    sentence equals plan.json's (as rounded on the page). Returns plan.json."""
    doc = json.loads((out / "plan.json").read_text())
    page = parse_page(out / "report.html")
    texts = _Texts()
    texts.feed((out / "report.html").read_text(encoding="utf-8"))
    head = doc["headline"]
    # the sentence: plan profit, base profit, gain, uplift (or n/a with its reason)
    said = _numbers("".join(texts.text["headline-sentence"]))
    assert _same(said[0], head["profit"]) and _same(said[1], head["base_profit"]) and _same(said[2], head["gain"])
    assert _same(said[3], head["uplift"], pct=True)
    assert math.isclose(head["profit"], doc["profit"], rel_tol=1e-12)
    # the decomposition: one row per step, in order
    table = next(t for t in page.tables if t["id"] == "headline")
    rows = table["rows"][1:]
    assert len(rows) == len(head["steps"]) >= 4
    for row, step in zip(rows, head["steps"], strict=True):
        assert row[0] == step["description"]
        assert _same(_numbers(row[1])[0], step["profit"]) and _same(_numbers(row[2])[0], step["part"])
        assert _same(_numbers(row[3])[0] if row[3] != "n/a" else "n/a", step["part_pct"], pct=True)
    assert math.isclose(sum(s["part"] for s in head["steps"]), head["gain"], rel_tol=1e-9, abs_tol=1e-6)
    # the interval: plan profit low..high (median, point), gain, uplift low..high
    iv = {r["quantity"]: r for r in doc["intervals"]["table"]}
    said = _numbers("".join(texts.text["interval"]))
    assert said[0] == doc["intervals"]["level"]  # "90% interval" -> 0.9
    pp = iv["plan_profit"]
    expect = [(pp["low"], False), (pp["high"], False), (pp["median"], False), (pp["point"], False),
              (iv["gain"]["low"], False), (iv["gain"]["high"], False)]
    for shown, (value, pct) in zip(said[1:7], expect, strict=True):
        assert _same(shown, value, pct)
    if iv["uplift"]["low"] is None:
        assert said[7] == "n/a"
    else:
        assert _same(said[7], iv["uplift"]["low"], True) and _same(said[8], iv["uplift"]["high"], True)
    return doc


def test_the_page_shows_the_numbers_of_the_json(plan, tmp_path):
    out = report.write_report(plan, tmp_path / "rep")
    check_numbers_match_json(out)


@pytest.fixture(scope="module")
def plan():
    m = make_market(seed=3, n_products=10, n_customers=250, n_pairs=2)
    return build_plan(m.transactions, m.catalog, sessions=m.sessions, n_segments=2, min_lift=1.2, threads=1,
                      n_draws=20, backtest_split=0.75)


def test_the_page_reads_summary_first_with_bounded_tables(plan, tmp_path):
    out = report.write_report(plan, tmp_path / "rep")
    check_page_structure(out, plan)
    html = (out / "report.html").read_text()
    assert "a price may rise up to 20% above list (the default ladder)" in html
    assert "kept on sale" in html and "none asked" in html


def test_a_long_plan_shows_its_top_rows_and_keeps_the_rest_closed(plan, tmp_path):
    from bundleopt.plan_parts.report_html import render_html

    page_path = tmp_path / "report.html"
    page_path.write_text(render_html(plan, "t", max_rows=5, top_k=3), encoding="utf-8")
    page = parse_page(page_path)
    by_id = {t["id"]: len(t["rows"]) - 1 for t in page.tables if t["id"]}
    assert by_id["plan-top"] == 5 and by_id["top-changes"] <= 3
    full = [t for t in page.tables if t["in_details"]]
    assert len(full) == 1 and len(full[0]["rows"]) - 1 == len(plan.table) > 5


def test_every_figure_names_its_unit_on_its_axes(plan, tmp_path, monkeypatch):
    """Each saved figure: every value axis has a label (categorical axes: products,
    segments, name their items); the unit is in the label or in the figure's caption."""
    import matplotlib.figure

    saved: dict[str, list] = {}
    original = matplotlib.figure.Figure.savefig

    def recording(self, fname, *args, **kwargs):
        saved[Path(str(fname)).name] = [(ax.get_xlabel(), ax.get_ylabel(), len(ax.get_xticklabels()))
                                       for ax in self.axes if ax.axison]
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", recording)
    report.write_report(plan, tmp_path / "rep")
    assert set(saved) == {n for n in report.REPORT_FILES if n.endswith(".png")}
    for name, axes in saved.items():
        assert axes, name
        for _, ylabel, _ in axes:
            assert ylabel, f"{name}: an axis without a y label"
        if name in ("calibration.png", "intervals.png"):  # numeric x axes (the others are categories)
            assert all(x for x, _, _ in axes), f"{name}: no x label"
    assert any("price / list price" in y for _, y, _ in saved["price_ladder.png"])
    assert "expected profit" in saved["intervals.png"][0][0]


def test_the_summary_says_plainly_when_the_backtest_fails(plan):
    good = backtest_check(plan.backtest)
    assert set(good) == {"passed", "wape", "chance_wape", "total_error", "reasons"}
    assert 0 < good["chance_wape"] < 1
    # the same plan with a model that predicts twice the sales it saw: it fails, and the summary says so
    from dataclasses import replace

    bt = plan.backtest
    bad_rows = bt.by_offer.assign(predicted=bt.by_offer["predicted"] * 2.0)
    bad = replace(bt, by_offer=bad_rows)
    check = backtest_check(bad)
    assert not check["passed"] and any("purchases where" in r for r in check["reasons"])
    sentence = trust_sentence(replace(plan, backtest=bad))
    assert sentence.startswith("Do not rely on these figures yet") and "failed its backtest" in sentence
    assert f"({check['total_error']:+.0%})" in sentence and check["total_error"] > 0.8
    assert trust_sentence(replace(plan, backtest=None)).startswith("Unchecked: no backtest")


def test_poisson_chance_error_matches_simulation():
    import numpy as np

    from bundleopt.plan_parts.summary import _poisson_mad

    rng = np.random.default_rng(0)
    for mu in (0.3, 1.0, 2.5, 7.0, 40.0):
        sim = np.abs(rng.poisson(mu, 200_000) - mu).mean()
        assert abs(_poisson_mad(np.array([mu]))[0] - sim) < 0.01 * max(1.0, mu)
    assert _poisson_mad(np.array([0.0]))[0] == 0.0


def test_screenshot_in_chromium(plan, tmp_path):
    shots = _screenshot_module()
    if shots.find_browser() is None:
        pytest.skip("no Chromium on PATH (apt-get install -y chromium): the browser check is skipped")
    out = report.write_report(plan, tmp_path / "rep")
    png = shots.screenshot(out / "report.html", tmp_path / "shot.png", 1280, 1600)
    data = png.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000
    assert shots.page_width(out / "report.html", 1280) <= 1280  # nothing makes the reader scroll sideways


@pytest.mark.slow
def test_a_1000_offer_report_stays_readable(tmp_path):
    """About 1,000 offers: the page keeps its shape, the browser lays it out within the window."""
    m = make_market(seed=5, n_products=1500, n_customers=2000, n_pairs=5)  # 1,230 of them sold
    big = build_plan(m.transactions, m.catalog, sessions=m.sessions, n_segments=2, min_lift=1.2, threads=1,
                     n_draws=10, backtest_split=0.75, max_bundles=None, time_limit=10,
                     constraints={"stock": None})
    assert big.scenario.n_offers >= 1000
    out = report.write_report(big, tmp_path / "rep")
    check_page_structure(out, big)
    shots = _screenshot_module()
    if shots.find_browser() is not None:
        shots.screenshot(out / "report.html", tmp_path / "shot.png", 1280, 2400)
        assert shots.page_width(out / "report.html", 1280) <= 1280


def test_what_to_change_names_each_change_with_its_part_of_the_gain(plan):
    from bundleopt.plan_parts.summary import what_to_change

    said = what_to_change(plan)
    parts = plan.headline.steps.set_index("step")["part"]
    text = " ".join(said)
    assert f"its own menu ({parts['personalisation']:+,.2f})" in text
    if parts["bundles"]:
        assert f"bundle deal(s) ({parts['bundles']:+,.2f})" in text
    if parts["price_changes"]:
        assert f"of list ({parts['price_changes']:+,.2f})" in text


def test_an_interval_that_misses_its_point_is_said_to(plan):
    from dataclasses import replace

    from bundleopt.plan_parts.summary import interval_sentence

    iv = plan.intervals
    assert "lies" not in interval_sentence(iv) or "this interval" in interval_sentence(iv)
    table = iv.table.copy()
    row = table["quantity"] == "plan_profit"
    table.loc[row, "point"] = float(table.loc[row, "low"].iloc[0]) - 1.0
    assert "lies below this interval" in interval_sentence(replace(iv, table=table))
