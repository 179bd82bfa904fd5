"""``report.html``: summary first (what to change and why), then assumptions, notes and details;
every id HTML-escaped."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pandas as pd

from bundleopt.report_parts.sections import (
    _check_sections,
    _headline_frame,
    _headline_sentence,
    _interval_sentence,
)

__all__ = ["_html"]


def _html(plan: Any, title: str, max_rows: int = 50, top_k: int = 15) -> str:
    """Summary first (what to change and why, with the gain in parts), then the assumptions,
    the notes, and the details; long tables show their first rows and link their CSV."""
    from bundleopt.plan_parts.summary import assumptions, top_changes

    esc = html.escape

    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, float_format=lambda v: f"{v:,.3f}", border=0)

    summary = ""
    if getattr(plan, "headline", None) is not None:
        summary = f"<p>{esc(_headline_sentence(plan))}</p>{table(_headline_frame(plan))}"
        iv = getattr(plan, "intervals", None)
        if iv is not None:
            summary += f"<p>{esc(_interval_sentence(iv))}</p>"
    changes = top_changes(plan, top_k) if getattr(plan, "offer_reasons", None) is not None else None
    if changes is not None:
        summary += (f"<h3>Top changes</h3><p>The {len(changes)} largest changes against the status quo "
                    "(contribution: the offer's expected profit per data period in the plan, or in the "
                    "status quo for one taken off sale). All offers: <a href=\"plan.csv\">plan.csv</a>.</p>"
                    f"{table(changes)}")
    facts = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in assumptions(plan))
    notes = "".join(f"<li>{esc(n)}</li>" for n in plan.notes)
    shown = plan.table.drop(columns=["cost"]).sort_values("profit", ascending=False, kind="stable")
    more = (f"<p>The {max_rows} most profitable of {len(shown)} rows; all in "
            f"<a href=\"plan.csv\">plan.csv</a>.</p>" if len(shown) > max_rows else "")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;font-size:12px}}td,th{{padding:2px 8px;text-align:right}}
tr:nth-child(even){{background:#f4f4f4}}img{{max-width:100%}}
.box{{border:1px solid #888;background:#fafaf0;padding:0.5em 1em;margin:1em 0}}
.box th{{text-align:left;vertical-align:top}}.box td{{text-align:left}}</style></head><body>
<h1>{esc(title)}</h1>
<h2>Summary: what to change and why</h2>
<h3>Where the gain comes from</h3>
{summary}
<div class="box"><h3>Assumptions</h3><table>{facts}</table></div>
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
<p>Files: <a href="plan.csv">plan.csv</a> · <a href="plan.json">plan.json</a> ·
<a href="comparison.csv">comparison.csv</a> · <a href="segments.csv">segments.csv</a> ·
<a href="params.csv">params.csv</a> · <a href="candidates.csv">candidates.csv</a> ·
<a href="reasons.csv">reasons.csv</a> · <a href="backtest.csv">backtest.csv</a> ·
<a href="cleaning.csv">cleaning.csv</a> · <a href="report.md">report.md</a></p>
<h2>Plan</h2>{more}{table(shown.head(max_rows))}
<h2>Comparison</h2><p>Expected profit per data period of the plan, the shop's prices and simple
baselines (shop: list prices with co-purchases of candidate pairs; status_quo: list prices, no bundles).</p>
{table(plan.comparison)}
<img src="profit_by_segment.png" alt="profit by segment">
<h2>Prices</h2><img src="price_ladder.png" alt="price ladder per segment">
<h2>Bundles</h2><img src="bundle_map.png" alt="bundle map">
{"".join(_html_check(h, t, f, i, table) for h, t, f, i in _check_sections(plan))}
<h2>Segments</h2>{table(plan.segments)}
<h2>Data cleaning</h2><pre>{esc(plan.cleaning.summary())}</pre>
</body></html>
"""


def _html_check(heading: str, text: str, frame: pd.DataFrame | None, image: str | None,
                table: Callable[[pd.DataFrame], str]) -> str:
    esc = html.escape
    parts = [f"<h2>{esc(heading)}</h2><p>{esc(text)}</p>"]
    if frame is not None:
        parts.append(table(frame))
    if image is not None:
        parts.append(f'<img src="{esc(image)}" alt="{esc(heading)}">')
    return "".join(parts)
