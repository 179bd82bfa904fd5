"""``bundleopt demo``: the main job on an embedded synthetic market."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def demo(seed: int = typer.Option(0, help="Random seed of the synthetic market.")) -> None:
    """Fit a multinomial logit on a simulated market and print the estimates."""
    from bundleopt.choice import MNL, simulate_mnl

    console = Console()
    with console.status("simulating and fitting an MNL (JAX, float64)..."):
        data, truth = simulate_mnl(n_obs=5000, n_alts=5, n_features=2, seed=seed)
        features = [c for c in data.columns if c.startswith("x")]
        model = MNL(features=features).fit(data, obs="obs", alt="alt", choice="chosen")
    table = Table(title=f"MNL on {model.n_obs_} simulated choices (log-likelihood {model.loglik_:.2f})")
    for col in ("parameter", "true", "estimate", "std. error"):
        table.add_column(col, justify="right")
    for name, est in model.params_.items():
        table.add_row(name, f"{truth.get(name, float('nan')):.3f}", f"{est:.3f}",
                      f"{model.std_errors_[name]:.3f}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
