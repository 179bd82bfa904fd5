"""``bundleopt plan``: the main job on the user's files, written to a report folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bundleopt.commands._common import (
    OneLineErrors,
    check_interrupted,
    fail,
    print_plan,
    progress_bar,
    user_errors,
)
from bundleopt.commands._interrupt import interrupt_guard


def _ladder(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        fail(f"--ladder must be comma-separated numbers such as 0.8,0.9,1.0, got {text!r}", code=2)
    if not values:
        fail("--ladder needs at least one level, e.g. 0.8,0.9,1.0", code=2)
    return values


#: PlanConfig's fields as ``bundleopt plan`` spells them, so that a bad value's error names the option
_OPTION_OF_FIELD = {
    "purchase_share": "--purchase-share", "n_segments": "--segments", "max_bundles": "--max-bundles",
    "max_offers": "--max-offers", "min_margin": "--min-margin", "ladder": "--ladder",
    "keep_on_sale": "--keep-on-sale", "max_price_change": "--max-price-change", "backtest_split": "--backtest",
    "min_segment_size": "--min-segment-size", "n_draws": "--draws", "robust_draws": "--robust-draws",
    "min_support": "--min-support", "min_lift": "--min-lift", "max_candidates": "--max-candidates",
    "max_products": "--max-products", "random_state": "--seed", "time_limit": "--time-limit",
}


def _as_options(message: str, fields: tuple[str, ...] | None = None) -> str:
    """A :class:`PlanConfig` error with its field names written as the command's options
    (only ``fields`` when given: words such as "ladder" also appear in other messages)."""
    names = fields if fields is not None else tuple(_OPTION_OF_FIELD)
    return re.sub(r"\b(" + "|".join(names) + r")\b", lambda m: _OPTION_OF_FIELD[m.group(1)], message)


def _check_keep_on_sale(keep: list[str] | None, *frames: object, n_close: int = 3) -> None:
    """``--keep-on-sale`` ids that are in none of the files: a one-line ``ValueError`` naming the
    option and, for each, up to ``n_close`` known product ids spelt alike (:mod:`difflib`).

    Ids the files hold but that cleaning or ``--max-products`` leaves out are refused later
    by :func:`bundleopt.pipeline.build_plan` (its error is renamed by :func:`_as_options`).
    """
    import difflib

    from bundleopt.data.row_checks import as_id

    if not keep:
        return
    known: set[str] = set()
    for frame in frames:
        if frame is not None and "product_id" in frame:  # type: ignore[operator]
            known.update(as_id(frame["product_id"]).dropna())  # type: ignore[index]
    unknown = [p for p in keep if p not in known]
    if not unknown:
        return
    hints = []
    for p in unknown[:5]:
        close = difflib.get_close_matches(p, sorted(known), n=n_close, cutoff=0.6)
        if close:
            hints.append(f"{p!r}: did you mean {', '.join(map(repr, close))}?")
    raise ValueError(f"--keep-on-sale names {len(unknown)} product id(s) that are in neither file: "
                     f"{unknown[:10]}" + (f" ({'; '.join(hints)})" if hints else "")
                     + "; give ids as written in the catalog's product_id column")


def plan(
    transactions: Annotated[Path, typer.Option(
        "--transactions", "-t", help="Transactions file (CSV or Parquet): order_id, customer_id, "
        "timestamp, product_id, quantity, unit_price.")],
    catalog: Annotated[Path, typer.Option(
        "--catalog", "-c", help="Catalog file (CSV or Parquet): product_id, unit_cost, list_price "
        "[, category, stock].")],
    sessions: Annotated[Path | None, typer.Option(
        "--sessions", help="Visits file (session_id, customer_id, timestamp [, order_id]); visits "
        "without an order are no-purchases.")] = None,
    purchase_share: Annotated[float | None, typer.Option(
        "--purchase-share", help="Without --sessions: share of visits that end in a purchase, e.g. 0.3.")] = None,
    segments: Annotated[int | None, typer.Option(
        "--segments", "-k", help="Number of customer segments (default: chosen by silhouette in 2..6).")] = None,
    max_bundles: Annotated[int, typer.Option("--max-bundles", help="At most this many bundles per menu.")] = 3,
    max_offers: Annotated[int | None, typer.Option(
        "--max-offers", help="At most this many offers per menu (default: no cap).")] = None,
    min_margin: Annotated[float | None, typer.Option(
        "--min-margin", help="Margin floor (p - c) / p of every offer, from 0 up to 1.")] = None,
    personalised: Annotated[bool, typer.Option(
        "--personalised/--uniform", help="One menu per segment, or one menu for everybody.")] = True,
    ladder: Annotated[str, typer.Option(
        "--ladder", help="Price levels as multiples of the list price, comma-separated; 1.0 is always "
        "added. The default goes from 20 % below to 20 % above list.")] = "0.8,0.85,0.9,0.95,1.0,1.05,1.1,1.15,1.2",
    keep_on_sale: Annotated[str | None, typer.Option(
        "--keep-on-sale", help="Products that must stay on sale, comma-separated product ids.")] = None,
    max_price_change: Annotated[float | None, typer.Option(
        "--max-price-change", help="A product's price stays within this share of its list price "
        "(0.1 = +-10 %).")] = None,
    backtest: Annotated[str, typer.Option(
        "--backtest", help="Check the model against what happened: refit on the days before this date "
        "(YYYY-MM-DD) or holding this share of the orders (e.g. 0.75) and score the later days; "
        "'none' skips it.")] = "0.75",
    min_segment_size: Annotated[int, typer.Option(
        "--min-segment-size", help="Privacy: with personalised menus, segments of fewer customers are "
        "merged into the nearest one first.")] = 50,
    draws: Annotated[int, typer.Option(
        "--draws", help="Draws of the fitted parameters for intervals on profit and uplift (0: none).")] = 200,
    robust_draws: Annotated[int, typer.Option(
        "--robust-draws", help="Also find the plan with the best mean profit over this many draws "
        "(0: no; a larger MILP).")] = 0,
    price_points: Annotated[str | None, typer.Option(
        "--price-points", help="Round prices (all but the list price) to .99 endings ('.99') or to "
        "multiples of a step (e.g. 0.1).")] = None,
    bundle_utility: Annotated[str, typer.Option(
        "--bundle-utility", help="How bundles get a utility: copurchase (estimated from baskets) or "
        "additive (components plus log lift).")] = "copurchase",
    min_support: Annotated[float | None, typer.Option(
        "--min-support", help="Bundle mining: minimum share of baskets (default: chosen from the data, "
        "the 100th most frequent pair's count, at least 20 baskets; the report says which).")] = None,
    min_lift: Annotated[float, typer.Option("--min-lift", help="Bundle mining: minimum lift.")] = 1.5,
    max_candidates: Annotated[int, typer.Option(
        "--max-candidates", help="At most this many bundle candidates.")] = 10,
    max_products: Annotated[int | None, typer.Option(
        "--max-products", help="Keep only the N products bought in most orders.")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Stop at the first bad row instead of dropping and reporting bad rows.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (segmentation, no-purchase draws).")] = 0,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver time limit in seconds.")] = 60.0,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="New folder to write the plan and report into (written atomically).")
    ] = Path("bundleopt-plan"),
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace --out if it holds a plan bundleopt wrote (and nothing else).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the final line.")] = False,
    date_format: Annotated[str | None, typer.Option(
        "--date-format", help="How to read timestamps: a strptime format such as %d/%m/%Y, ISO8601, "
        "or an epoch unit s/ms/us/ns (default: detected; ambiguous columns are refused).")] = None,
    dayfirst: Annotated[bool | None, typer.Option(
        "--dayfirst/--monthfirst", help="Order of day and month in dates like 03/04/2024 "
        "(default: detected over the whole column).")] = None,
    decimal: Annotated[str | None, typer.Option(
        "--decimal", help="Decimal mark of the files' numbers, . or , (default: read from the values; "
        "refused when they do not tell it, as in 1,234).")] = None,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="Text encoding of the CSV files (default: UTF-8, else Windows-1252 "
        "as Excel writes on Windows).")] = None,
    allow_positive_price_coef: Annotated[bool, typer.Option(
        "--allow-positive-price-coef", help="Keep a segment whose fitted price coefficient is "
        "positive (demand rising with price) instead of stopping.")] = False,
) -> None:
    """Choose bundles and per-segment prices from your transactions; write plan + report to --out.

    Runs validation, segmentation, bundle mining, one choice model per segment and the exact optimiser, then writes plan.csv, plan.json, plots and report.html to --out. --out is checked first: it must be new, empty, or (with --overwrite) a plan folder bundleopt wrote; a folder holding other files is never replaced. Ctrl-C stops the run (exit 130) and writes nothing.
    """
    from bundleopt.data import load_catalog, load_sessions, load_transactions
    from bundleopt.outdir import check_output_folder
    from bundleopt.pipeline import BUNDLE_UTILITIES, PlanConfig, build_plan
    from bundleopt.report import write_report

    if bundle_utility not in BUNDLE_UTILITIES:
        fail(f"--bundle-utility must be one of {', '.join(BUNDLE_UTILITIES)}, got {bundle_utility!r}", code=2)
    levels = _ladder(ladder)
    from bundleopt.plan_parts.controls import check_price_points

    try:
        points = check_price_points(price_points)
    except ValueError as exc:
        fail(f"--price-points: {exc}", code=2)
    if max_price_change is not None and not max_price_change >= 0:
        fail(f"--max-price-change must be a share >= 0 of the list price (0.1 = 10 %), got {max_price_change}",
             code=2)
    split: str | float | None = None if backtest.strip().lower() in ("", "none", "off") else backtest
    try:
        split = float(split) if split is not None else None
    except ValueError:
        pass  # a date: checked by build_plan
    keep = [p.strip() for p in keep_on_sale.split(",") if p.strip()] if keep_on_sale else None
    console = Console()
    with interrupt_guard() as guard, user_errors(guard):
        check_output_folder(out, overwrite=overwrite, overwrite_hint="--overwrite")
        if sessions is None and purchase_share is None:
            raise ValueError("no-purchase is not observed: give --sessions FILE (visits) or "
                             "--purchase-share S (share of visits that end in a purchase)")
        if sessions is not None and purchase_share is not None:
            raise ValueError("give --sessions FILE (the no-purchase share observed) or --purchase-share S "
                             "(assumed), not both: one of them would be ignored")
        if decimal not in (None, ".", ","):
            raise ValueError(f"--decimal must be . or , (got {decimal!r})")
        try:
            config = PlanConfig(
                purchase_share=purchase_share, n_segments=segments, max_bundles=max_bundles,
                max_offers=max_offers, min_margin=min_margin, personalised=personalised, ladder=levels,
                bundle_utility=bundle_utility,  # type: ignore[arg-type]
                min_support=min_support, min_lift=min_lift, max_candidates=max_candidates,
                max_products=max_products, errors="raise" if strict else "drop", random_state=seed,
                time_limit=time_limit, allow_positive_price_coef=allow_positive_price_coef,
                keep_on_sale=tuple(keep or ()), max_price_change=max_price_change, price_points=points,
                backtest_split=split, n_draws=draws or None, robust_draws=robust_draws or None,
                min_segment_size=min_segment_size,
            )
        except ValueError as exc:
            raise ValueError(_as_options(str(exc))) from exc
        dates = {"date_format": date_format, "dayfirst": dayfirst}
        fmt = {"decimal": decimal, "encoding": encoding}
        tx = load_transactions(transactions, **dates, **fmt)
        cat = load_catalog(catalog, **fmt)
        ses = load_sessions(sessions, **dates, **fmt) if sessions is not None else None
        _check_keep_on_sale(keep, cat, tx)
        if not quiet:
            for frame in (tx, cat, ses):
                for note in frame.attrs.get("read_notes", []) if frame is not None else ():
                    console.print(f"read: {note}", markup=False, soft_wrap=True)
        guard.check()
        with progress_bar(console, enabled=not quiet) as progress:
            try:
                result = build_plan(tx, cat, config, sessions=ses, progress=guard.progress(progress))
            except ValueError as exc:  # a setting checked against the data: named as its option
                named = _as_options(str(exc), fields=("keep_on_sale", "backtest_split", "max_products"))
                if named == str(exc):
                    raise
                raise ValueError(named) from exc
        guard.check()
        folder = write_report(result, out, overwrite=overwrite, before_commit=guard.check)
        guard.written()
        check_interrupted(guard)
    if not quiet:
        if result.cleaning.entries:
            console.print("[yellow]cleaned:[/]")
            console.print(result.cleaning.summary(), markup=False)
        print_plan(console, result)
    console.print(f"plan and report written to {folder}/ (open {folder / 'report.html'})",
                  markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("plan", cls=OneLineErrors)(plan)
