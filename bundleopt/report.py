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

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bundleopt.outdir import staged_folder
from bundleopt.report_parts.csv_safe import _to_csv
from bundleopt.report_parts.markdown import _markdown
from bundleopt.report_parts.plan_json import plan_to_json
from bundleopt.report_parts.plots import (
    plot_bundle_map,
    plot_calibration,
    plot_intervals,
    plot_price_ladder,
    plot_profit_by_segment,
)
from bundleopt.report_parts.sections import _check_sections

__all__ = ["REPORT_FILES", "plot_bundle_map", "plot_price_ladder", "plot_profit_by_segment",
           "plan_to_json", "write_report"]

REPORT_FILES = (
    "plan.csv", "plan.json", "comparison.csv", "profit_by_segment.csv", "segments.csv",
    "params.csv", "candidates.csv", "cleaning.csv", "price_ladder.png",
    "profit_by_segment.png", "bundle_map.png", "report.md", "report.html",
    "headline.csv", "margin_gap.csv", "backtest.csv", "calibration.png", "intervals.csv",
    "intervals.png", "reasons.csv", "rule_costs.csv", "customer_segments.csv",
)


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
