"""Write a :class:`~bundleopt.pipeline.Plan` to a folder: CSV, JSON, PNG plots, HTML/Markdown.

:func:`write_report` writes everything into a temporary folder next to the target
and swaps it into place at the end (:func:`bundleopt.outdir.staged_folder`), so a
failure or an interrupt leaves nothing half-written. The folder carries a manifest
(:data:`bundleopt.outdir.MANIFEST`) naming the files written; ``overwrite=True``
replaces only such a folder holding nothing else, never a folder with a user's files.

Ids (products, bundles, segments) are plain text in every file: plot labels are not
read as math text, Markdown cells are escaped (no raw HTML or links pass through),
HTML is escaped, and a CSV text cell starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return gets a leading ``'`` so that a spreadsheet does not run it as a
formula (numeric columns stay numbers). ``plan.json`` keeps the ids exactly.

Files::

    plan.csv                one row per (segment, offer): price, list price, discount,
                            expected units / revenue / profit
    plan.json               settings, data summary, comparison, segments, fitted
                            parameters, candidates, cleaning, timings, notes,
                            machine, versions and seed
    comparison.csv          optimised plan vs shop prices, status quo and baselines
    profit_by_segment.csv   the same per segment
    segments.csv, params.csv, candidates.csv, cleaning.csv
    price_ladder.png        per segment: each offer's ladder and the chosen price
    profit_by_segment.png   profit per segment: optimised vs shop vs baselines
    bundle_map.png          products x candidate bundles, offered ones marked
    report.md, report.html  a short report linking all of the above
    .bundleopt-manifest.json  the files above (what ``overwrite`` may replace)
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.outdir import staged_folder

__all__ = ["REPORT_FILES", "plot_bundle_map", "plot_price_ladder", "plot_profit_by_segment",
           "plan_to_json", "write_report"]

REPORT_FILES = (
    "plan.csv", "plan.json", "comparison.csv", "profit_by_segment.csv", "segments.csv",
    "params.csv", "candidates.csv", "cleaning.csv", "price_ladder.png",
    "profit_by_segment.png", "bundle_map.png", "report.md", "report.html",
    "headline.csv", "margin_gap.csv", "backtest.csv", "calibration.png", "intervals.csv",
    "intervals.png", "reasons.csv", "rule_costs.csv", "customer_segments.csv",
)


# --------------------------------------------------------------------------- JSON
def _plain(value: Any) -> Any:
    """JSON-friendly copy: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return _plain(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))


def plan_to_json(plan: Any) -> dict[str, Any]:
    """Everything in a plan that is data, as a JSON-friendly dict."""
    sol = plan.solution
    head = getattr(plan, "headline", None)
    return _plain({
        "headline": head.to_dict() if head is not None else None,
        "profit": plan.profit,
        "shop_profit": plan.shop_profit,
        "gain_vs_shop": plan.profit - plan.shop_profit,
        "uplift_vs_status_quo": plan.uplift,
        "solver": {"method": sol.method, "status": sol.status, "gap": sol.gap,
                   "best_bound": sol.best_bound, "timings": sol.timings, "notes": list(sol.notes)},
        "settings": plan.settings,
        "seed": plan.settings.get("random_state"),
        "data_summary": {k: v for k, v in plan.data_summary.items() if k not in ("machine", "versions")},
        "machine": plan.data_summary.get("machine"),
        "versions": plan.data_summary.get("versions"),
        "timings": plan.timings,
        "notes": list(plan.notes),
        "plan": _records(plan.table),
        "comparison": _records(plan.comparison),
        "segments": _records(plan.segments),
        "params": _records(plan.params),
        "candidates": _records(plan.candidates.assign(
            components=plan.candidates["components"].map(lambda c: "+".join(c)))),
        "importance": _plain(plan.importance.to_dict()),
        "cleaning": _records(plan.cleaning.to_frame().assign(
            sample=lambda d: d["sample"].map(lambda s: [str(x) for x in s]))),
        "cleaning_summary": plan.cleaning.summary(),
        "margin_gap": _records(plan.margin_gap) if getattr(plan, "margin_gap", None) is not None else None,
        "backtest": _backtest_json(getattr(plan, "backtest", None)),
        "intervals": _intervals_json(getattr(plan, "intervals", None)),
        "robust_plan": _robust_json(getattr(plan, "robust", None)),
        "offer_reasons": _maybe_records(getattr(plan, "offer_reasons", None)),
        "rule_costs": _maybe_records(getattr(plan, "rule_costs", None)),
    })


def _maybe_records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    return None if frame is None else _records(frame)


def _intervals_json(iv: Any) -> dict[str, Any] | None:
    if iv is None:
        return None
    return {"level": iv.level, "note": iv.note, "table": _records(iv.table), "n_draws": len(iv.draws)}


def _robust_json(rb: Any) -> dict[str, Any] | None:
    if rb is None:
        return None
    return {"gives_up": rb.gives_up, "exact": rb.exact, "note": rb.note, "table": _records(rb.table),
            "levels": rb.decision.levels.tolist()}


def _backtest_json(bt: Any) -> dict[str, Any] | None:
    if bt is None:
        return None
    return {"summary": bt.summary, "by_segment": _records(bt.by_segment),
            "calibration": _records(bt.calibration)}


# --------------------------------------------------------------------------- plots
@contextmanager
def _figure(width: float, height: float) -> Iterator[tuple[Any, Any]]:
    """``(plt, figure)`` on the Agg backend with TeX off (ids must not reach LaTeX); closed after."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"text.usetex": False}):
        fig = plt.figure(figsize=(width, height))
        try:
            yield plt, fig
        finally:
            plt.close(fig)


def _label(value: Any) -> str:
    """``value`` as a plot label shown literally: ``$`` escaped, so matplotlib never parses math text."""
    return str(value).replace("$", r"\$")


def _top_offers(plan: Any, k: int) -> np.ndarray:
    """Indices of the ``k`` offers with the largest expected profit in the plan (all segments),
    then the others in their order (offers not offered anywhere last)."""
    sc = plan.scenario
    profit = plan.table.groupby("offer")["profit"].sum()
    score = np.array([profit.get(o, -np.inf) for o in sc.offer_ids], dtype=float)
    return np.argsort(-score, kind="stable")[:k]


def plot_price_ladder(plan: Any, path: str | Path, max_offers: int = 40) -> None:
    """One panel per segment: each offer's ladder (grey) and its chosen price (dot);
    the ``max_offers`` most profitable offers, so the figure stays readable at any size."""
    sc = plan.scenario
    n = min(sc.n_offers, max_offers)
    with _figure(max(6.0, 0.35 * n + 2), 2.2 * sc.n_segments + 1) as (_, fig):
        _draw_price_ladder(plan, fig, _top_offers(plan, max_offers))
        fig.savefig(path, dpi=110)


def _draw_price_ladder(plan: Any, fig: Any, shown: np.ndarray | None = None) -> None:
    sc = plan.scenario
    idx = np.arange(sc.n_offers) if shown is None else np.asarray(shown)
    x = np.arange(len(idx))
    list_p = sc.list_prices()[idx]
    axes = fig.subplots(sc.n_segments, 1, sharex=True, squeeze=False)[:, 0]
    for s, ax in enumerate(axes):
        for k in range(sc.n_levels):
            ax.scatter(x, sc.prices[idx, k] / list_p, marker="_", color="0.7", s=80)
        levels = plan.solution.decision.menu_of(s)[idx]
        on = levels != -1
        chosen = np.where(on, sc.prices[idx, np.maximum(levels, 0)] / list_p, np.nan)
        colors = np.where(sc.is_bundle[idx], "tab:orange", "tab:blue")
        ax.scatter(x[on], chosen[on], c=colors[on], s=30, zorder=3)
        ax.set_ylabel(_label(f"segment {sc.segment_ids[s]}\nprice / list price"))
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(x)
    axes[-1].set_xticklabels([_label(sc.offer_ids[o]) for o in idx], rotation=90, fontsize=7)
    what = (f"the {len(idx)} most profitable of {sc.n_offers} offers; " if len(idx) < sc.n_offers else "")
    fig.suptitle(f"Price ladder per segment ({what}grey: levels; blue: single, orange: bundle offered)",
                 fontsize=10)
    fig.tight_layout()


def plot_profit_by_segment(plan: Any, path: str | Path) -> None:
    """Grouped bars: expected profit per segment for each plan compared."""
    with _figure(8.0, 5.0) as (_, fig):
        _draw_profit_by_segment(plan.profit_by_segment, fig)
        fig.savefig(path, dpi=110)


def _draw_profit_by_segment(data: pd.DataFrame, fig: Any) -> None:
    ax = fig.add_subplot()
    n_plans, n_seg = data.shape
    width = 0.8 / max(n_plans, 1)
    x = np.arange(n_seg)
    for i, (name, row) in enumerate(data.iterrows()):
        ax.bar(x + (i - (n_plans - 1) / 2) * width, row.to_numpy(dtype=float), width, label=_label(name))
    ax.set_xticks(x)
    ax.set_xticklabels([_label(f"segment {s}") for s in data.columns])
    ax.set_ylabel("expected profit per data period")
    ax.set_title("Profit by segment: optimised vs shop prices vs baselines")
    ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.tight_layout()


def plot_calibration(plan: Any, path: str | Path) -> None:
    """Backtest: predicted vs observed purchase occasions (:func:`bundleopt.plan_parts.figures.draw_calibration`)."""
    from bundleopt.plan_parts.figures import draw_calibration

    with _figure(7.0, 5.5) as (_, fig):
        draw_calibration(getattr(plan, "backtest", None), fig)
        fig.savefig(path, dpi=110)


def plot_intervals(plan: Any, path: str | Path) -> None:
    """Profit under parameter draws (:func:`bundleopt.plan_parts.figures.draw_intervals`)."""
    from bundleopt.plan_parts.figures import draw_intervals

    with _figure(7.0, 4.5) as (_, fig):
        draw_intervals(getattr(plan, "intervals", None), fig)
        fig.savefig(path, dpi=110)


def plot_bundle_map(plan: Any, path: str | Path) -> None:
    """Products (rows) x candidate bundles (columns); offered bundles name their segments."""
    sc = plan.scenario
    bundles = [o for o in range(sc.n_offers) if sc.is_bundle[o]]
    comps = sorted({p for o in bundles for p in sc.components[o]})
    with _figure(max(4.0, 0.6 * len(bundles) + 2.5), max(3.0, 0.3 * len(comps) + 2)) as (_, fig):
        _draw_bundle_map(plan, bundles, comps, fig)
        fig.savefig(path, dpi=110)


def _draw_bundle_map(plan: Any, bundles: list[int], comps: list[Any], fig: Any) -> None:
    sc = plan.scenario
    ax = fig.add_subplot()
    if not bundles:
        ax.text(0.5, 0.5, "no bundle candidates", ha="center", va="center")
        ax.set_axis_off()
    else:
        mat = np.array([[p in sc.components[o] for o in bundles] for p in comps], dtype=float)
        ax.imshow(mat, cmap="Greys", vmin=0, vmax=1.5, aspect="auto")
        labels = []
        for o in bundles:
            segs = [str(sc.segment_ids[s]) for s in range(sc.n_segments)
                    if plan.solution.decision.menu_of(s)[o] != -1]
            labels.append(f"{sc.offer_ids[o]}\n(seg {','.join(segs)})" if segs else str(sc.offer_ids[o]))
        ax.set_xticks(np.arange(len(bundles)))
        ax.set_xticklabels([_label(t) for t in labels], rotation=60, ha="right", fontsize=7)
        ax.set_yticks(np.arange(len(comps)))
        ax.set_yticklabels([_label(c) for c in comps], fontsize=7)
        ax.set_xlabel("candidate bundle (segments it is offered to)")
        ax.set_ylabel("component product")
    ax.set_title("Bundle map")
    fig.tight_layout()


# --------------------------------------------------------------------------- text
#: characters escaped in Markdown text: emphasis, code, links, tables, raw HTML, entities, math
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+!|&~$])")


def _md_text(value: Any) -> str:
    """``value`` as literal Markdown text: specials backslash-escaped, on one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _md_table(frame: pd.DataFrame, floatfmt: str) -> str:
    """A Markdown table whose text cells and headers are literal (escaped, never parsed as numbers)."""
    text_cols = [i for i, col in enumerate(frame.columns)
                 if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col])]
    body = frame.copy()
    for i in text_cols:
        body.isetitem(i, frame.iloc[:, i].map(lambda v: "" if v is None else _md_text(v)))
    body.columns = [_md_text(c) for c in frame.columns]
    return body.to_markdown(index=False, floatfmt=floatfmt, disable_numparse=text_cols or False)


def _md_code(text: str) -> list[str]:
    """``text`` in a fenced code block whose fence is longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def _markdown(plan: Any, title: str) -> str:
    summ = plan.data_summary
    comp = plan.comparison[["plan", "profit", "gain", "uplift", "feasible"]]
    tables = _has_tabulate()
    from bundleopt.plan_parts.summary import (
        assumptions,
        top_changes,
        trust_sentence,
        what_to_change,
    )

    lines = [f"# {_md_text(title)}", "", "## Summary: what to change and why", "",
             f"**{_md_text(trust_sentence(plan))}**", "",
             *[f"- {_md_text(t)}" for t in what_to_change(plan)], "", *_md_headline(plan, tables)]
    iv = getattr(plan, "intervals", None)
    if iv is not None:
        lines += [_md_text(_interval_sentence(iv)), ""]
    lines += ["## Assumptions", "", *[f"- **{_md_text(k)}**: {_md_text(v)}" for k, v in assumptions(plan)], ""]
    if getattr(plan, "offer_reasons", None) is not None and tables:
        lines += ["## Top changes", "", _md_table(top_changes(plan), ",.2f"), ""]
    shown = plan.table.drop(columns=["cost"]).sort_values("profit", ascending=False, kind="stable").head(50)
    lines += [
        f"Data: {summ['transaction_rows']} lines, {summ['customers']} customers, {summ['orders']} orders, "
        f"{summ['products']} products, {summ['first_day']} to {summ['last_day']}; "
        f"{summ['segments']} segments, {summ['candidates']} bundle candidates, "
        f"{summ['occasions']} choice occasions. Solver: {summ['solver_method']} ({summ['solver_status']}).",
        "", "## Plan", "", "[plan.csv](plan.csv) · [plan.json](plan.json)", "",
        f"The {len(shown)} most profitable of {len(plan.table)} rows:" if len(plan.table) > len(shown) else "",
        _md_table(shown, ".3f") if tables else "see plan.csv", "",
        "## Comparison", "", "[comparison.csv](comparison.csv)", "",
        _md_table(comp, ".2f") if tables else "see comparison.csv", "",
        "![profit by segment](profit_by_segment.png)", "",
        "## Prices", "", "![price ladder](price_ladder.png)", "",
        "## Bundles", "", "![bundle map](bundle_map.png) · [candidates.csv](candidates.csv)", "",
        *_md_checks(plan, tables),
        "## Segments and models", "", "[segments.csv](segments.csv) · [params.csv](params.csv)", "",
        "## Data cleaning", "", *_md_code(plan.cleaning.summary()), "",
    ]
    if plan.notes:
        lines += ["## Notes", "", *[f"- {_md_text(n)}" for n in plan.notes], ""]
    return "\n".join(lines)


def _headline_frame(plan: Any) -> pd.DataFrame:
    """The headline's steps as shown: percentages as text ("n/a" when the base is not meaningful)."""
    steps = plan.headline.steps[["description", "profit", "part", "part_pct", "feasible", "note"]]
    return steps.assign(part_pct=steps["part_pct"].map(lambda v: "n/a" if v != v else f"{v:+.1%}"))


def _headline_sentence(plan: Any) -> str:
    head = plan.headline
    return (f"Expected profit of the plan: {plan.profit:,.2f} against {head.base_profit:,.2f} for the "
            f"shop as it is (every product at its list price, no bundle deal): gain {head.gain:+,.2f}, "
            f"uplift {head.uplift_text()}. The parts below add up to the gain; each is an exact "
            "re-evaluation of an intermediate decision.")


def _md_headline(plan: Any, tables: bool) -> list[str]:
    if getattr(plan, "headline", None) is None:
        return []
    return ["## Where the gain comes from", "", _md_text(_headline_sentence(plan)), "",
            _md_table(_headline_frame(plan), ",.2f") if tables else "see plan.json", ""]


def _check_sections(plan: Any, top_k: int = 20) -> list[tuple[str, str, pd.DataFrame | None, str | None]]:
    """``(heading, sentence, table, image)`` of each check, shared by the Markdown and the HTML."""
    out: list[tuple[str, str, pd.DataFrame | None, str | None]] = []
    why = getattr(plan, "offer_reasons", None)
    if why is not None and len(why):
        top = why.reindex(why["remove"].abs().sort_values(ascending=False).index).head(top_k)
        out.append(("Why each offer is in the plan",
                    f"Per offer on each menu: its own expected profit, and how the whole plan's profit "
                    f"changes if it is taken off the menu or its price moves one step (exact "
                    f"re-evaluation; a rule broken by the move is marked False). The {len(top)} offers that "
                    f"matter most of {len(why)}; all in reasons.csv.", top, None))
    rules = getattr(plan, "rule_costs", None)
    if rules is not None and len(rules):
        out.append(("What each rule costs",
                    "Each rule family switched off in turn and the plan re-solved: the profit it costs.",
                    rules, None))
    iv = getattr(plan, "intervals", None)
    if iv is not None:
        out.append(("How sure: intervals from the estimates' uncertainty",
                    f"Plan and status quo re-evaluated exactly under each draw of the fitted parameters "
                    f"({iv.note}). Per draw: intervals.csv.", iv.table, "intervals.png"))
    rb = getattr(plan, "robust", None)
    if rb is not None:
        out.append(("A plan that holds up under the draws",
                    f"The plan with the best mean profit over draws ({rb.note}) gives up "
                    f"{rb.gives_up:,.2f} at the estimates against the point plan.", rb.table, None))
    bt = getattr(plan, "backtest", None)
    if bt is not None:
        s = bt.summary
        text = (f"Choice models fitted again on {s['fit_window']} only and scored on {s['test_window']} "
                f"(the later window's own prices and assortment): {s['predicted_purchases']:,.0f} purchase "
                f"occasions predicted vs {s['observed_purchases']:,.0f} observed (weighted absolute error "
                f"per segment and offer {s['wape']:.0%}, correlation {s['correlation']:.3f}); margin "
                f"{s['predicted_margin']:,.2f} predicted vs {s['observed_margin']:,.2f} observed "
                "(one unit per purchase occasion). Per offer: backtest.csv.")
        out.append(("The model checked against what happened", text, bt.by_segment, "calibration.png"))
    else:
        out.append(("The model checked against what happened",
                    "No backtest was run (build_plan(backtest_split=0.75) or --backtest 0.75).", None, None))
    gap = getattr(plan, "margin_gap", None)
    if gap is not None:
        out.append(("Modelled vs observed margin",
                    "The status quo's modelled margin beside the margin the data shows; each row changes "
                    "one assumption and the changes add up to the gap.", gap, None))
    return out


def _md_checks(plan: Any, tables: bool) -> list[str]:
    lines: list[str] = []
    for heading, text, frame, image in _check_sections(plan):
        lines += [f"## {heading}", "", _md_text(text), ""]
        if frame is not None:
            lines += [_md_table(frame, ",.2f") if tables else "see plan.json", ""]
        if image is not None:
            lines += [f"![{heading}]({image})", ""]
    return lines


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


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


def _interval_sentence(iv: Any) -> str:
    t = iv.table.set_index("quantity")
    text = (f"{iv.level:.0%} interval over {len(iv.draws)} draws of the fitted parameters: plan profit "
            f"{t.at['plan_profit', 'low']:,.2f} to {t.at['plan_profit', 'high']:,.2f}, gain "
            f"{t.at['gain', 'low']:+,.2f} to {t.at['gain', 'high']:+,.2f}")
    up = t.loc["uplift"]
    text += (f", uplift {up['low']:+.1%} to {up['high']:+.1%}." if pd.notna(up["low"]) else
             ", uplift n/a (see the intervals section).")
    return text


def _html_check(heading: str, text: str, frame: pd.DataFrame | None, image: str | None,
                table: Callable[[pd.DataFrame], str]) -> str:
    esc = html.escape
    parts = [f"<h2>{esc(heading)}</h2><p>{esc(text)}</p>"]
    if frame is not None:
        parts.append(table(frame))
    if image is not None:
        parts.append(f'<img src="{esc(image)}" alt="{esc(heading)}">')
    return "".join(parts)


# --------------------------------------------------------------------------- writing
#: first characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet shows as text: ``'`` prefixed when it starts a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells, headers and index made formula-safe; numeric columns untouched."""
    safe = frame.copy()
    for i in range(safe.shape[1]):
        col = safe.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            safe.isetitem(i, col.map(_csv_cell))
    safe.columns = [_csv_cell(str(c)) if isinstance(c, str) else c for c in safe.columns]
    safe.index = safe.index.map(_csv_cell)
    return safe


def _to_csv(frame: pd.DataFrame, path: Path, index: bool = False) -> None:
    _csv_safe(frame).to_csv(path, index=index)


def _write_all(plan: Any, folder: Path, title: str, customer_key: bytes | str | None = None) -> None:
    from bundleopt.plan_parts.privacy import new_key, pseudonymise

    _to_csv(pd.DataFrame({"customer": pseudonymise(plan.assignments.index, customer_key or new_key()),
                          "segment": plan.assignments.to_numpy()}), folder / "customer_segments.csv")
    _to_csv(plan.table, folder / "plan.csv")
    with open(folder / "plan.json", "w", encoding="utf-8") as fh:
        json.dump(plan_to_json(plan), fh, indent=2, allow_nan=False)
    _to_csv(plan.comparison, folder / "comparison.csv")
    _to_csv(plan.profit_by_segment, folder / "profit_by_segment.csv", index=True)
    _to_csv(plan.segments, folder / "segments.csv")
    _to_csv(plan.params, folder / "params.csv")
    _to_csv(plan.candidates.assign(components=plan.candidates["components"].map("+".join)),
            folder / "candidates.csv")
    _to_csv(plan.cleaning.to_frame(), folder / "cleaning.csv")
    plot_price_ladder(plan, folder / "price_ladder.png")
    plot_profit_by_segment(plan, folder / "profit_by_segment.png")
    plot_bundle_map(plan, folder / "bundle_map.png")
    plot_calibration(plan, folder / "calibration.png")
    plot_intervals(plan, folder / "intervals.png")
    for name in ("offer_reasons", "rule_costs"):
        frame = getattr(plan, name, None)
        _to_csv(frame if frame is not None else pd.DataFrame(),
                folder / ("reasons.csv" if name == "offer_reasons" else "rule_costs.csv"))
    iv = getattr(plan, "intervals", None)
    _to_csv(iv.draws if iv is not None else pd.DataFrame(), folder / "intervals.csv")
    head = getattr(plan, "headline", None)
    _to_csv(head.steps if head is not None else pd.DataFrame(), folder / "headline.csv")
    gap = getattr(plan, "margin_gap", None)
    _to_csv(gap if gap is not None else pd.DataFrame(), folder / "margin_gap.csv")
    bt = getattr(plan, "backtest", None)
    _to_csv(bt.by_offer if bt is not None else pd.DataFrame(), folder / "backtest.csv")
    (folder / "report.md").write_text(_markdown(plan, title), encoding="utf-8")
    from bundleopt.plan_parts.report_html import render_html

    (folder / "report.html").write_text(render_html(plan, title, _check_sections(plan)), encoding="utf-8")


def write_report(plan: Any, out: str | Path, *, overwrite: bool = False,
                 title: str = "Bundle and price plan",
                 before_commit: Callable[[], None] | None = None,
                 customer_key: bytes | str | None = None) -> Path:
    """Write the plan's files (:data:`REPORT_FILES` and a manifest) to the folder ``out``, atomically.

    ``out`` may be new or an empty folder; with ``overwrite`` it may also be a folder
    bundleopt wrote that holds nothing but its own files (see :mod:`bundleopt.outdir`).
    Anything else is refused before anything is written: ``FileExistsError`` (a file,
    a folder with other files, the current or home folder), ``NotADirectoryError``
    (no parent folder), ``PermissionError`` (nothing can be written there).
    ``before_commit()`` is called just before the new folder replaces ``out`` (with
    SIGINT/SIGTERM deferred); raising from it aborts and writes nothing (the command
    line uses it to honour a Ctrl-C that a library swallowed). Returns the folder.

    Customer ids are never written: ``customer_segments.csv`` names each customer by a
    keyed pseudonym (:func:`bundleopt.plan_parts.privacy.pseudonymise`) made with
    ``customer_key`` (at least 16 bytes; default: a fresh random key, so the file
    cannot be linked to the ids nor to another run's).
    """
    if customer_key is not None:
        from bundleopt.plan_parts.privacy import pseudonymise

        pseudonymise([], customer_key)  # checks the key before anything is written
    with staged_folder(out, kind="plan", overwrite=overwrite, before_commit=before_commit) as tmp:
        _write_all(plan, tmp, title, customer_key)
    return Path(out)
