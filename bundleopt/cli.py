"""The ``bundleopt`` command line (typer + rich).

Each sub-command lives in its own module under :mod:`bundleopt.commands` and exposes
``register(app)``; heavy libraries (JAX, Pyomo) are imported inside the commands so
that ``bundleopt --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    help="Choose bundles and per-segment prices from purchase data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Choose bundles and per-segment prices from purchase data."""
    from bundleopt.commands._common import readable_warnings

    ctx.with_resource(readable_warnings())  # each warning one line while the command runs


# sub-command modules, in the order `bundleopt --help` lists them
_COMMANDS = ("demo", "plan", "bench", "simulate")

for _name in _COMMANDS:
    importlib.import_module(f"bundleopt.commands.{_name}").register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
