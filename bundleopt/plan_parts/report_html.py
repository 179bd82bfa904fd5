"""``report.html``: the page a shop owner reads, laid out to stay readable at 1,000 offers.

Order: the summary (how far to trust the plan, what to change and why, the gain in
parts and its interval), the assumptions box, the top changes, then the details.
Sizes stay bounded whatever the number of offers:

* tables shown open have at most ``max_rows`` rows (the top changes ``top_k``); the
  full plan sits in a closed ``<details>`` block that scrolls inside a fixed height
  (at most ``full_rows`` rows; every row is in ``plan.csv`` and ``plan.json``);
* wide tables scroll sideways in their own box, long text wraps, so the page never
  grows wider than the window;
* every figure has a caption naming its unit (:data:`FIGURE_CAPTIONS`); the figures
  themselves show the top offers only (:mod:`bundleopt.report` draws them).

Every id, name and note is HTML-escaped. Numbers are shown with two decimals and
thousands separators, missing ones as an em dash.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.plan_parts.summary import (
    PROFIT_UNIT,
    assumptions,
    backtest_check,
    headline_sentence,
    headline_table,
    interval_sentence,
    top_changes,
    trust_sentence,
    what_to_change,
)

__all__ = ["FIGURE_CAPTIONS", "html_table", "render_html"]

#: ``(heading, sentence, table or None, image file or None)`` of a check section
Section = tuple[str, str, pd.DataFrame | None, str | None]

#: the caption of each figure: what it shows and in which unit
FIGURE_CAPTIONS = {
    "profit_by_segment.png": f"Profit by segment for each plan compared. Unit: {PROFIT_UNIT}.",
    "price_ladder.png": ("Price of each offer on each segment's menu, as a multiple of its list price "
                         "(unit: x list price, 1.0 = list price); grey ticks are the levels allowed. Only the "
                         "most profitable offers are drawn; every price is in plan.csv."),
    "bundle_map.png": ("Which products (rows) make up each candidate bundle (columns); a dark cell means "
                       "\"in the bundle\" (no unit). The segments a bundle is offered to are in brackets."),
    "calibration.png": ("Backtest: purchase occasions (unit: count of order lines, a bundle counts once) "
                        "predicted vs observed in the later window, per segment and offer, on log scales."),
    "intervals.png": (f"Profit of the plan and of the status quo under each draw of the fitted parameters. "
                      f"Unit: {PROFIT_UNIT} (x axis); number of draws (y axis)."),
}

_CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.35}
table{border-collapse:collapse;font-size:12px}td,th{padding:2px 8px;text-align:right;vertical-align:top}
th{background:#fff;border-bottom:1px solid #888}td.t,th.t{text-align:left}
tr:nth-child(even){background:#f4f4f4}img{max-width:100%}
figure{margin:1em 0}figcaption{font-size:13px;color:#333;max-width:900px}
.scroll{overflow-x:auto;max-width:100%}.tall{max-height:480px;overflow-y:auto;border:1px solid #ccc}
.tall th{position:sticky;top:0}
.box{border:1px solid #888;background:#fafaf0;padding:0.5em 1em;margin:1em 0}
.box th{text-align:left;vertical-align:top;white-space:nowrap;border:none;background:none}.box td{text-align:left}
.trust{border-left:6px solid #2a7;padding:0.4em 0.8em;background:#f0faf4}
.trust.warn{border-left-color:#c33;background:#fdf0f0;font-weight:bold}
pre{white-space:pre-wrap;word-break:break-word;font-size:12px}
details summary{cursor:pointer;margin:0.5em 0}"""


def _cell(value: Any) -> tuple[str, bool]:
    """``(text, is_text)``: numbers with 2 decimals and separators, missing as an em dash,
    booleans as yes/no."""
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), True
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", False
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return "\u2014", False
    if isinstance(value, float | np.floating):
        return (f"{float(value):,.2f}" if math.isfinite(value) else str(value)), False
    return str(value), True


def html_table(frame: pd.DataFrame, *, css_class: str = "", table_id: str | None = None,
               headers: Sequence[str] | None = None) -> str:
    """``frame`` as an HTML table: text cells left-aligned and escaped, numbers right-aligned."""
    esc = html.escape
    heads = list(headers) if headers is not None else [str(c) for c in frame.columns]
    cols = list(frame.columns)
    text_col = [not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
                for c in cols]
    head = "".join(f'<th class="t">{esc(h)}</th>' if t else f"<th>{esc(h)}</th>"
                   for h, t in zip(heads, text_col, strict=True))
    rows = []
    for values in frame.itertuples(index=False, name=None):
        cells = []
        for v in values:
            text, is_text = _cell(v)
            cells.append(f'<td class="t">{esc(text)}</td>' if is_text else f"<td>{esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    attrs = (f' id="{esc(table_id)}"' if table_id else "") + (f' class="{esc(css_class)}"' if css_class else "")
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _scroll(inner: str, tall: bool = False) -> str:
    return f'<div class="scroll{" tall" if tall else ""}">{inner}</div>'


def _figure(image: str, alt: str) -> str:
    esc = html.escape
    caption = FIGURE_CAPTIONS.get(image, "")
    return (f'<figure><img src="{esc(image)}" alt="{esc(alt)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def _links(names: Iterable[str]) -> str:
    return " · ".join(f'<a href="{html.escape(n)}">{html.escape(n)}</a>' for n in names)


def _summary(plan: Any, top_k: int) -> tuple[str, str]:
    """``(summary, top changes)`` HTML blocks."""
    esc = html.escape
    bt = getattr(plan, "backtest", None)
    failed = bt is not None and not backtest_check(bt)["passed"]
    parts = [f'<p class="trust{" warn" if failed or bt is None else ""}" id="trust">{esc(trust_sentence(plan))}</p>',
             "<h3>What to change</h3><ul id=\"what-to-change\">"
             + "".join(f"<li>{esc(t)}</li>" for t in what_to_change(plan)) + "</ul>"]
    if getattr(plan, "headline", None) is not None:
        parts += ["<h3>Where the gain comes from</h3>",
                  f'<p id="headline-sentence">{esc(headline_sentence(plan))} Unit: {esc(PROFIT_UNIT)}.</p>',
                  _scroll(html_table(headline_table(plan), table_id="headline"))]
    iv = getattr(plan, "intervals", None)
    if iv is not None:
        parts.append(f'<p id="interval">{esc(interval_sentence(iv))}</p>')
    changes = ""
    if getattr(plan, "offer_reasons", None) is not None:
        top = top_changes(plan, top_k)
        changes = (f"<h2>Top changes</h2><p>The {len(top)} largest changes against the status quo "
                   f"(contribution: the offer's {esc(PROFIT_UNIT)} in the plan, or in the status quo for "
                   f"one taken off sale). Every offer: <a href=\"plan.csv\">plan.csv</a>.</p>"
                   + _scroll(html_table(top, table_id="top-changes", headers=[
                       "menu (segment)" if plan.scenario.personalised else "menu", "offer", "name", "change",
                       "list price", "new price", "contribution"])))
    return "".join(parts), changes


def _plan_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The plan's rows as shown: most profitable first; the price against list as a signed
    percentage (not a "discount" that reads -0.20 for a rise); the name only when it says
    more than the id; the cost left to plan.csv."""
    shown = table.sort_values("profit", ascending=False, kind="stable").drop(columns=["cost"])
    if "discount" in shown:
        vs_list = (shown["price"] / shown["list_price"] - 1).map(lambda v: f"{v:+.0%}")
        shown = shown.assign(discount=vs_list).rename(columns={"discount": "price vs list"})
    if "name" in shown and (shown["name"].astype(str) == shown["offer"].astype(str)).all():
        shown = shown.drop(columns=["name"])
    return shown


def _comparison_rows(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison as shown: the uplift as a signed percentage ("n/a" where there is none)."""
    if "uplift" not in comparison:
        return comparison
    return comparison.assign(uplift=comparison["uplift"].map(lambda v: "n/a" if v != v else f"{v:+.1%}"))


def render_html(plan: Any, title: str, sections: Sequence[Section] = (), *, max_rows: int = 25,
                top_k: int = 15, full_rows: int = 5000) -> str:
    """The report page (module docstring). ``sections``: the checks' sections, shared with
    the Markdown report (:func:`bundleopt.report._check_sections`)."""
    esc = html.escape
    summary, changes = _summary(plan, top_k)
    facts = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in assumptions(plan))
    notes = "".join(f"<li>{esc(n)}</li>" for n in plan.notes)
    if len(plan.notes) > 8:
        notes = (f"<details><summary>{len(plan.notes)} notes (click to open)</summary><ul>{notes}</ul>"
                 "</details>")
    elif notes:
        notes = f"<ul>{notes}</ul>"
    shown = _plan_rows(plan.table)
    n = len(shown)
    plan_block = (f"<p>The {min(max_rows, n)} most profitable of {n:,} rows (segment x offer). Units: "
                  "expected purchase occasions per data period (a bundle counts once; product_units counts "
                  "each product in it); revenue and profit: the catalog's currency per data period.</p>"
                  + _scroll(html_table(
                      shown.head(max_rows), table_id="plan-top")))
    if n > max_rows:
        full = shown.head(full_rows)
        more = (f" (the first {full_rows:,}; every row is in plan.csv)" if n > full_rows else "")
        plan_block += (f'<details id="plan-all"><summary>Show all {n:,} rows{esc(more)}, in a scrolling '
                       "table</summary>" + _scroll(html_table(full), tall=True) + "</details>")
    mining = plan.candidates.attrs.get("mining") if hasattr(plan.candidates, "attrs") else None
    how = (f'<p id="candidate-rule">{esc(mining["text"])}</p>' if mining else "")
    bundles = how + (_figure("bundle_map.png", "bundle map") if bool(plan.scenario.is_bundle.any()) else
                     "<p>No bundle candidates: no pair of products was bought together often enough "
                     f"(mining settings: min_support {esc(str(plan.settings.get('min_support')))}, min_lift "
                     f"{esc(str(plan.settings.get('min_lift')))}; candidates.csv). The bundle map is empty.</p>")
    uplift_na = ("<p>An uplift shown as n/a is not available: the shop's modelled profit is not a "
                 "meaningful base for a percentage (see the summary).</p>"
                 if "uplift" in plan.comparison and plan.comparison["uplift"].isna().any() else "")
    checks = []
    for heading, text, frame, image in sections:
        block = f"<h2>{esc(heading)}</h2><p>{esc(text)}</p>"
        if frame is not None:
            block += _scroll(html_table(frame.head(max_rows)))
            if len(frame) > max_rows:
                block += f"<p>The first {max_rows} of {len(frame):,} rows; all in the CSV files above.</p>"
        if image is not None:
            block += _figure(image, heading)
        checks.append(block)
    files = _links(["plan.csv", "plan.json", "comparison.csv", "segments.csv", "params.csv", "candidates.csv",
                    "reasons.csv", "rule_costs.csv", "backtest.csv", "intervals.csv", "cleaning.csv",
                    "report.md"])
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{_CSS}</style></head><body>
<h1>{esc(title)}</h1>
<section id="summary"><h2>Summary: what to change and why</h2>
{summary}</section>
<div class="box" id="assumptions"><h3>Assumptions</h3><table>{facts}</table></div>
{changes}
{f"<h2>Notes</h2>{notes}" if notes else ""}
<p>Files: {files}</p>
<h2>Plan</h2>{plan_block}
<h2>Comparison</h2><p>The plan, the shop's prices and simple baselines (shop: list prices with
co-purchases of candidate pairs; status_quo: list prices, no bundles); profits are {esc(PROFIT_UNIT)}.</p>
{_scroll(html_table(_comparison_rows(plan.comparison)))}{uplift_na}
{_figure("profit_by_segment.png", "profit by segment")}
<h2>Prices</h2>{_figure("price_ladder.png", "price ladder per segment")}
<h2>Bundles</h2>{bundles}
{"".join(checks)}
<h2>Segments</h2>{_scroll(html_table(plan.segments))}
<h2>Data cleaning</h2><pre>{esc(plan.cleaning.summary())}</pre>
</body></html>
"""
