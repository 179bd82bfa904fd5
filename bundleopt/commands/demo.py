"""``bundleopt demo``: the whole pipeline on an embedded synthetic market."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bundleopt.commands._common import (
    OneLineErrors,
    check_interrupted,
    frame_table,
    print_plan,
    progress_bar,
    user_errors,
)
from bundleopt.commands._interrupt import interrupt_guard


def demo(
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the synthetic market.")] = 0,
    segments: Annotated[int | None, typer.Option("--segments", "-k", help="Number of customer segments "
                                        "(default: chosen by silhouette).")] = None,
    personalised: Annotated[bool, typer.Option("--personalised/--uniform", help="One menu per segment, or one "
                                      "menu for everybody.")] = True,
    max_bundles: Annotated[int, typer.Option("--max-bundles", help="At most this many bundles per menu.")] = 3,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the plan and report to this folder.")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace --out if it holds a plan bundleopt wrote (and nothing else).")] = False,
) -> None:
    """Run the whole pipeline on a synthetic shop (make_market) and print the plan.

    The market's true choice model is known, so the plan is also scored under the
    truth against the shop's list prices.
    """
    from bundleopt.datasets import make_market
    from bundleopt.outdir import check_output_folder
    from bundleopt.pipeline import build_plan
    from bundleopt.report import write_report
    from bundleopt.truth import truth_comparison

    console = Console()
    with interrupt_guard() as guard, user_errors(guard):
        if out is not None:
            check_output_folder(out, overwrite=overwrite, overwrite_hint="--overwrite")
        with console.status("simulating a shop (make_market)..."):
            market = make_market(seed=seed)
        guard.check()
        with progress_bar(console) as progress:
            result = build_plan(market.transactions, market.catalog, sessions=market.sessions,
                                n_segments=segments, personalised=personalised, max_bundles=max_bundles,
                                random_state=seed, progress=guard.progress(progress))
        truth = truth_comparison(result, market)
        guard.check()
        folder = (write_report(result, out, overwrite=overwrite, title="bundleopt demo plan",
                               before_commit=guard.check) if out else None)
        guard.written()
        check_interrupted(guard)
    print_plan(console, result)
    truth = truth.assign(true_uplift=truth["true_uplift"].map("{:+.1%}".format))
    console.print(frame_table(truth, "Under the market's TRUE model (known parameters)"))
    console.print(f"true price coefficients per segment: {[round(float(b), 3) for b in market.truth.beta]}; "
                  f"planted bundles: {['+'.join(p) for p in market.truth.planted_pairs]}", markup=False)
    if folder is not None:
        console.print(f"plan and report written to {folder}/")


def register(app: typer.Typer) -> None:
    app.command("demo", cls=OneLineErrors)(demo)
