"""Solve many scenarios in parallel: what-if rule settings, stores, regions.

:func:`sweep` maps :func:`bundleopt.solve` over scenarios with any
``concurrent.futures.Executor`` (default: a local process pool) or a
``dask.distributed.Client`` (it runs on the Dask cluster through the client's
``concurrent.futures`` view). A scenario that fails reports its error in its own
:class:`SweepResult`; the others are not lost.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import pandas as pd
from rich.progress import Progress

from bundleopt.scenario import Scenario


@dataclass(frozen=True)
class SweepResult:
    """Outcome of one scenario: its key, the Solution or the error that stopped it."""

    key: Any
    solution: Any | None
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _solve_one(key: Any, scenario: Scenario, solve_kwargs: dict[str, Any]) -> SweepResult:
    """Worker body: never raises, so one failure cannot take the sweep down."""
    from bundleopt.optimize import solve

    try:
        return SweepResult(key, solve(scenario, **solve_kwargs))
    except Exception as exc:  # reported per scenario, by design
        return SweepResult(key, None, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _as_items(scenarios: Mapping[Any, Scenario] | Iterable[Scenario]) -> list[tuple[Any, Scenario]]:
    items = list(scenarios.items()) if isinstance(scenarios, Mapping) else list(enumerate(scenarios))
    for key, sc in items:
        if not isinstance(sc, Scenario):
            raise ValueError(f"sweep: scenario {key!r} is a {type(sc).__name__}, not a bundleopt.Scenario")
    return items


def _resolve_executor(executor: Any) -> tuple[Executor, bool]:
    """(executor, owned): a dask Client is viewed through its concurrent.futures executor."""
    if executor is None:
        # spawn, not fork: forking a process in which JAX (multithreaded) runs can deadlock
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(max_workers=max(1, os.cpu_count() or 1), mp_context=context), True
    if hasattr(executor, "get_executor") and not isinstance(executor, Executor):
        return executor.get_executor(), False  # dask.distributed.Client
    if isinstance(executor, Executor):
        return executor, False
    raise ValueError(
        "sweep: executor must be a concurrent.futures.Executor or a dask.distributed.Client, "
        f"got {type(executor).__name__}"
    )


def sweep(
    scenarios: Mapping[Any, Scenario] | Iterable[Scenario],
    executor: Any = None,
    *,
    progress: bool = True,
    **solve_kwargs: Any,
) -> list[SweepResult]:
    """Solve every scenario, in parallel, and return one :class:`SweepResult` each, in input order.

    ``scenarios`` is a mapping key -> Scenario or a sequence (keys 0..n-1).
    ``solve_kwargs`` go to :func:`bundleopt.solve`; ``threads`` defaults to 1 so that
    parallel workers do not oversubscribe the cores.
    """
    items = _as_items(scenarios)
    solve_kwargs.setdefault("threads", 1)
    pool, owned = _resolve_executor(executor)
    results: dict[int, SweepResult] = {}
    try:
        futures = {pool.submit(_solve_one, key, sc, solve_kwargs): i for i, (key, sc) in enumerate(items)}
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("solving scenarios", total=len(futures))
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:  # the worker itself died (e.g. a lost process)
                    results[i] = SweepResult(items[i][0], None, f"{type(exc).__name__}: {exc}")
                bar.advance(task)
    finally:
        if owned:
            pool.shutdown()
    return [results[i] for i in range(len(items))]


def sweep_table(results: list[SweepResult]) -> pd.DataFrame:
    """One row per scenario: key, status, profit, gap, method, error."""
    rows = []
    for r in results:
        sol = r.solution
        rows.append({
            "key": r.key,
            "ok": r.ok,
            "profit": getattr(sol, "profit", None),
            "gap": getattr(sol, "gap", None),
            "method": getattr(sol, "method", None),
            "error": r.error,
        })
    return pd.DataFrame(rows)
