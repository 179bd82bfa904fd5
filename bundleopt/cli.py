"""The ``bundleopt`` command line (typer + rich)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Choose bundles and per-segment prices from purchase data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def demo() -> None:
    """Run the main job on an embedded synthetic market and print the result."""
    from bundleopt.demo import run_demo

    run_demo()


if __name__ == "__main__":
    app()
