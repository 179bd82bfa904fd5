"""``bundleopt bench SUITE``: run a benchmark suite and write CSV/JSON/PNG results.

SUITE is one of ``estimation``, ``optimization``, ``pricing``, ``end-to-end`` or ``all``.
``--quick`` (the default, for CI: under 3 minutes per suite on 2 cores) or ``--full``;
results go to ``--out`` (default ``results/<suite>/``). Each suite's folder is written like
every bundleopt output (:mod:`bundleopt.outdir`): a new folder, or one bundleopt wrote
(the default folder is replaced; another one with ``--overwrite``); a folder holding
other files is refused before any work, never emptied.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_CHOICES = ("estimation", "optimization", "pricing", "end-to-end", "all")


def bench(
    suite: Annotated[str, typer.Argument(help="estimation, optimization, pricing, end-to-end or all.")],
    quick: Annotated[bool, typer.Option("--quick/--full", help="CI size (< 3 min per suite) or full size.")] = True,
    out: Annotated[Path | None, typer.Option(help="Results folder (default results/<suite>/; "
                                             "with 'all', one sub-folder per suite).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of every instance and simulation.")] = 0,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace --out if it holds results bundleopt wrote (and nothing else); "
        "the default folder is always replaced.")] = False,
) -> None:
    """Run a benchmark suite; write <suite>.csv, <suite>.json and <suite>.png."""
    from bundleopt.bench import SUITES, suite_runner
    from bundleopt.outdir import check_output_folder, staged_folder

    console = Console()
    if suite not in _CHOICES:
        typer.echo(f"error: unknown suite {suite!r}; choose one of {', '.join(_CHOICES)}", err=True)
        raise typer.Exit(code=2)
    names = list(SUITES) if suite == "all" else [suite]
    folders = {name: (out / name if suite == "all" else out) if out is not None else Path("results") / name
               for name in names}
    replace = overwrite or out is None
    try:  # every folder checked before any suite runs
        for folder in folders.values():
            if out is None or suite == "all":
                folder.parent.mkdir(parents=True, exist_ok=True)
            check_output_folder(folder, overwrite=replace, overwrite_hint="--overwrite")
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    for name in names:
        folder = folders[name]
        run = suite_runner(name)
        t0 = time.perf_counter()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task(name, total=None)

            def report(done: int, total: int, label: str, _task=task, _bar=bar) -> None:
                _bar.update(_task, completed=done, total=total, description=label)

            try:
                with staged_folder(folder, kind="bench", overwrite=replace, overwrite_hint="--overwrite") as tmp:
                    df = run(quick=quick, out=tmp, seed=seed, progress=report)
            except (ValueError, RuntimeError, OSError) as exc:
                console.print(f"[red]error in suite {name}:[/red] {exc}")
                raise typer.Exit(code=1) from exc
        console.print(f"[bold]{name}[/bold]: {len(df)} rows in {time.perf_counter() - t0:.1f} s "
                      f"-> {folder}/")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
