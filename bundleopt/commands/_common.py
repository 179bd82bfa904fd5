"""Shared pieces of the ``plan`` and ``demo`` commands: one-line errors, progress, tables.

Every user mistake ends with ONE line on stderr (``error: ...``) and a non-zero exit
code: bad options (exit 2, caught while parsing by :class:`OneLineErrors`) and bad
files or impossible settings (exit 1, :func:`user_errors`), and Ctrl-C / SIGTERM (exit
130 / 143, :mod:`bundleopt.commands._interrupt`). The output folder is checked before
any work (:func:`bundleopt.outdir.check_output_folder`) and nothing is written before
the work succeeds (:func:`bundleopt.report.write_report` is atomic).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperCommand

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: <first line of message>`` on stderr and exit with ``code``."""
    first = str(message).strip().splitlines()[0] if str(message).strip() else "failed"
    stderr.print(f"error: {first.rstrip(':')}", markup=False)
    raise typer.Exit(code)


class OneLineErrors(TyperCommand):
    """A command whose option errors are one line (``error: ...``), exit code 2."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            fail(f"{exc.format_message()} (see: bundleopt {self.name} --help)", code=2)


def warning_line(message: Warning | str, category: type[Warning] | None = None) -> str:
    """A warning as one line of plain text: its message with the lines joined, then its kind
    (``IdentificationWarning``) unless the message already starts with it."""
    text = " ".join(str(message).split())
    kind = category.__name__ if category is not None else ""
    named = kind and kind not in ("UserWarning", "Warning") and not text.startswith(kind)
    return f"{text} ({kind})" if named else text


@contextmanager
def readable_warnings(console: Console | None = None) -> Iterator[None]:
    """Show each Python warning raised inside the block as ONE line, ``warning: <message>``,
    on ``console`` (stderr by default), instead of Python's two raw lines (the source path
    and line, then the code line). Which warnings show (the filters) is unchanged, and
    ``warnings.showwarning`` is restored on exit: the library used from Python is untouched.
    """
    out = console if console is not None else stderr
    with warnings.catch_warnings():
        def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
            out.print(f"[yellow]warning:[/] {escape(warning_line(message, category))}", soft_wrap=True)

        warnings.showwarning = show
        yield


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "fix your input": reported in one line, never a traceback."""
    from bundleopt.optimize import SolverError

    return (ValueError, OSError, SolverError)


@contextmanager
def user_errors(guard: Any = None) -> Iterator[None]:
    """Turn a user's mistake raised inside the block into one line and exit code 1.

    With ``guard`` (an :class:`~bundleopt.commands._interrupt.InterruptGuard`), any
    exception after SIGINT/SIGTERM arrived (whatever a library turned it into) ends as
    one line and exit code ``128 + signal``.
    """
    try:
        yield
    except typer.Exit:  # already reported (fail)
        raise
    except BaseException as exc:
        if guard is not None and guard.signum is not None:
            _interrupted(guard)
        if isinstance(exc, user_error_types()):
            fail(str(exc))
        raise


def _interrupted(guard: Any) -> NoReturn:
    import signal

    name = signal.Signals(guard.signum).name
    if guard.committed:
        fail(f"interrupted by {name} after the output was written (it is complete)",
             code=128 + guard.signum)
    fail(f"interrupted by {name}; nothing was written", code=128 + guard.signum)


def check_interrupted(guard: Any) -> None:
    """Exit as interrupted if ``guard`` recorded a signal (one that no exception carried out)."""
    if guard.signum is not None:
        _interrupted(guard)


@contextmanager
def progress_bar(console: Console, enabled: bool = True) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar driven by ``callback(step, fraction_done)``."""
    if not enabled:
        yield lambda step, fraction: None
        return
    with Progress(TextColumn("{task.description:<40}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("starting", total=1.0)

        def update(step: str, fraction: float) -> None:
            bar.update(task, description=step, completed=fraction)

        yield update


def frame_table(frame: Any, title: str, floats: str = "{:,.2f}", max_rows: int | None = None) -> Table:
    """A rich table of a DataFrame (numbers right-aligned)."""
    import numpy as np

    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(Text(str(col)), justify="right" if np.issubdtype(frame[col].dtype, np.number) else "left")
    rows = frame if max_rows is None else frame.head(max_rows)
    for row in rows.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, (float, np.floating)):
                cells.append("" if value != value else floats.format(value))
            else:
                cells.append(Text(str(value)))  # ids are plain text, never rich markup
        table.add_row(*cells)
    if max_rows is not None and len(frame) > max_rows:
        table.caption = f"{len(frame) - max_rows} more rows not shown"
    return table


def print_plan(console: Console, plan: Any, max_rows: int = 40) -> None:
    """The headline (gain over the shop as it is, in parts) first, then the plan, its
    comparison with the shop's prices and the segments, as rich tables."""
    summ = plan.data_summary
    head = getattr(plan, "headline", None)
    if head is not None:
        from bundleopt.plan_parts.summary import interval_sentence, trust_sentence

        console.print(f"[bold]{escape(trust_sentence(plan))}[/]", soft_wrap=True)
        steps = head.steps[["description", "profit", "part", "part_pct", "feasible"]]
        steps = steps.assign(part_pct=steps["part_pct"].map(lambda v: "n/a" if v != v else f"{v:+.1%}"))
        console.print(frame_table(steps, "Where the gain comes from (each step re-evaluated exactly; "
                                  "parts add up to the total)"))
        console.print(f"plan {head.profit:,.2f} vs the shop as it is {head.base_profit:,.2f}: "
                      f"gain {head.gain:+,.2f}, uplift {head.uplift_text()}", markup=False)
        iv = getattr(plan, "intervals", None)
        if iv is not None:  # the report's sentence, one definition
            console.print(interval_sentence(iv), markup=False, soft_wrap=True)
    console.print(
        f"[bold]{summ['transaction_rows']}[/] lines, [bold]{summ['customers']}[/] customers, "
        f"[bold]{summ['products']}[/] products, {summ['first_day']} to {summ['last_day']}; "
        f"[bold]{summ['segments']}[/] segments, [bold]{summ['candidates']}[/] bundle candidates, "
        f"{summ['occasions']} choice occasions")
    seg = plan.segments[["segment", "n_customers", "weight", "purchase_rate", "price_coef", "price_se"]]
    console.print(frame_table(seg, "Segments (one MNL each; weight = share of occasions)", "{:,.3f}"))
    table = plan.table[["segment", "offer", "price", "list_price", "discount", "units", "profit"]]
    console.print(frame_table(table, "Plan: offers and prices per segment (expected units and profit)",
                              max_rows=max_rows))
    comp = plan.comparison[["plan", "profit", "revenue", "units", "feasible", "gain", "uplift"]]
    comp = comp.assign(uplift=comp["uplift"].map(lambda v: "n/a" if v != v else f"{v:+.1%}"))
    console.print(frame_table(comp, "Expected profit: optimised plan vs shop list prices and baselines"))
    for row in plan.comparison.itertuples():
        if getattr(row, "note", ""):
            console.print(f"{escape(str(row.plan))}: {escape(row.note)}")
    uplift = head.uplift_text() if head is not None else "n/a"
    base = head.base_profit if head is not None else plan.shop_profit
    console.print(
        f"optimised plan [bold green]{plan.profit:,.2f}[/] vs the shop as it is (status quo) "
        f"[bold]{base:,.2f}[/] (uplift {escape(uplift)}); "
        f"solver {plan.solution.method} ({plan.solution.status}), {plan.timings['total']:.1f} s")
    for note in plan.notes:
        console.print(f"note: {note}", markup=False)
