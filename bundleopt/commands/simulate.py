"""``bundleopt simulate``: the adaptive re-pricing loop on the benchmark market."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bundleopt.commands._common import OneLineErrors, check_interrupted, fail, user_errors
from bundleopt.commands._interrupt import interrupt_guard

DEFAULT_OUT = Path("simulation")


def simulate(
    periods: Annotated[int, typer.Option(min=1, help="Number of periods.")] = 50,
    customers: Annotated[int, typer.Option(min=1, help="Customers arriving per period.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the market, the customers and the policy.")] = 0,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="New folder for periods.csv, summary.json, posterior.csv, curves.png.")] = DEFAULT_OUT,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace --out if it holds a simulation bundleopt wrote (and nothing else).")] = False,
    drift: Annotated[float, typer.Option(min=0.0, help="Per-period random-walk sd of the true tastes (0 = static).")] = 0.0,
    forget: Annotated[float, typer.Option(min=0.0, max=1.0, help="Discount per period of old sales (use < 1 with drift).")] = 1.0,
    explore: Annotated[float, typer.Option(min=0.0, max=1.0, help="Probability per period and menu of a one-step price move.")] = 0.0,
    greedy: Annotated[bool, typer.Option("--greedy", help="Plan with the posterior mean (no Thompson sampling).")] = False,
    latent: Annotated[bool, typer.Option("--latent", help="Segments are latent: one pooled model, one menu for all.")] = False,
    uniform: Annotated[bool, typer.Option("--uniform", help="Observed segments but one menu (prices) for all: MILP.")] = False,
) -> None:
    """Price a simulated market period by period and compare with the oracle that knows it.

    --out is checked first: it must be new, empty, or (with --overwrite) a folder bundleopt wrote.
    """
    from bundleopt.adaptive import ThompsonPolicy, benchmark_market, run_simulation
    from bundleopt.outdir import check_output_folder, staged_folder

    console = Console()
    if forget <= 0:
        fail("--forget must be in (0, 1] (see: bundleopt simulate --help)", code=2)
    with interrupt_guard(raise_first=True) as guard, user_errors(guard):  # the loop has no safe points
        check_output_folder(out, overwrite=overwrite, overwrite_hint="--overwrite")
        market = benchmark_market(seed=seed, drift_sd=drift, personalised=not (latent or uniform),
                                  observed_segments=not latent)
        policy = ThompsonPolicy(thompson=not greedy, explore=explore, forget=forget, seed=seed)
        result = run_simulation(market, policy, n_periods=periods, customers_per_period=customers, seed=seed,
                                progress=True)
        guard.check()
        with staged_folder(out, kind="simulation", overwrite=overwrite, before_commit=guard.check,
                           overwrite_hint="--overwrite") as tmp:
            paths = {name: out / path.name for name, path in result.write_files(tmp).items()}
        guard.written()
        check_interrupted(guard)
    s = result.summary()
    table = Table(title=f"Adaptive pricing: {periods} periods x {customers} customers (seed {seed})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in s.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)
    for name, path in paths.items():
        console.print(f"{name}: {path}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("simulate", cls=OneLineErrors)(simulate)
