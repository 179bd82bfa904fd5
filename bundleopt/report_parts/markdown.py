"""``report.md``: the plan as Markdown whose ids are literal text (every special escaped)."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from bundleopt.report_parts.sections import (
    _check_sections,
    _headline_frame,
    _headline_sentence,
    _interval_sentence,
)

__all__ = ["_markdown"]


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
    # tabulate indexes its per-column switches by the columns of the rows: none without rows
    return body.to_markdown(index=False, floatfmt=floatfmt,
                            disable_numparse=(text_cols or False) if len(body) else False)


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


def _md_headline(plan: Any, tables: bool) -> list[str]:
    if getattr(plan, "headline", None) is None:
        return []
    return ["## Where the gain comes from", "", _md_text(_headline_sentence(plan)), "",
            _md_table(_headline_frame(plan), ",.2f") if tables else "see plan.json", ""]


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
