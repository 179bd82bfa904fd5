"""Solve many scenarios in parallel: what-if rule settings, stores, regions.

:func:`sweep` maps :func:`bundleopt.solve` over scenarios with local worker processes
(default; :mod:`bundleopt.worker_processes`), any ``concurrent.futures.Executor`` or a
``dask.distributed.Client`` (it runs on the Dask cluster through the client's
``concurrent.futures`` view). A scenario that fails reports its error in its own
:class:`SweepResult`; the others are not lost, even when its worker process dies.

The module is ``sweeping``, not ``sweep``: importing a submodule binds it as an
attribute of the package, which would replace the public function ``bundleopt.sweep``.
"""

from __future__ import annotations

import os
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import BrokenExecutor, Executor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import pandas as pd
from rich.progress import Progress

from bundleopt.checks import flag, number
from bundleopt.scenario import Scenario
from bundleopt.worker_processes import (
    WorkerDied,
    WorkerStartError,
    describe_exit,
    run_in_processes,
    spawn_blocker,
    starting_worker,
)


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


def _resolve_executor(executor: Any) -> Executor:
    """A dask Client is viewed through its concurrent.futures executor."""
    if hasattr(executor, "get_executor") and not isinstance(executor, Executor):
        return executor.get_executor()  # dask.distributed.Client
    if isinstance(executor, Executor):
        return executor
    raise ValueError(
        "sweep: executor must be a concurrent.futures.Executor or a dask.distributed.Client, "
        f"got {type(executor).__name__}"
    )


def _as_result(key: Any, value: Any) -> SweepResult:
    """A worker's answer as a SweepResult: its own, or the exception that replaced it."""
    if isinstance(value, SweepResult):
        return value
    error = f"{type(value).__name__}: {value}"
    if isinstance(value, WorkerDied):
        error = (f"WorkerDied: the worker process solving this scenario {describe_exit(value.exitcode)}; "
                 "the other scenarios went on in fresh workers")
    elif isinstance(value, BrokenExecutor):
        error += (" (a worker of the executor given to sweep died: this scenario may not be the one "
                  "that killed it; sweep's default executor reports only the scenario that did)")
    return SweepResult(key, None, error)


def _run_on_executor(pool: Executor, items: list[tuple[Any, Scenario]], indices: Iterable[int],
                     solve_kwargs: dict[str, Any], record: Callable[[int, Any], None]) -> None:
    futures = {pool.submit(_solve_one, *items[i], solve_kwargs): i for i in indices}
    for fut in as_completed(futures):
        try:
            value = fut.result()
        except Exception as exc:  # the worker itself failed (e.g. a lost process)
            value = exc
        record(futures[fut], value)


def _run_default(items: list[tuple[Any, Scenario]], solve_kwargs: dict[str, Any], workers: int,
                 record: Callable[[int, Any], None], done: Callable[[int], bool]) -> None:
    """Worker processes, one scenario at a time each (a dead worker fails only its own
    scenario); threads, with a warning, where worker processes cannot start."""
    if starting_worker():
        raise RuntimeError("sweep was called while a worker process imported the main script: "
                           'put the call under `if __name__ == "__main__":`')
    reason = spawn_blocker()
    if reason is None:
        try:
            run_in_processes(_solve_one, [(key, sc, solve_kwargs) for key, sc in items], record,
                             max_workers=workers)
            return
        except WorkerStartError as exc:
            reason = str(exc)
    warnings.warn(
        f"sweep: worker processes cannot start here ({reason}); solving on {workers} "
        f"thread{'s' if workers > 1 else ''} "
        'instead. For processes, run sweep from a script file under `if __name__ == "__main__":`, '
        "or pass an executor", RuntimeWarning, stacklevel=3)
    with ThreadPoolExecutor(workers) as pool:
        _run_on_executor(pool, items, [i for i in range(len(items)) if not done(i)], solve_kwargs, record)


def _check_solve_kwargs(solve_kwargs: dict[str, Any]) -> None:
    """Refuse, before any work, options that would fail every scenario the same way."""
    import inspect

    from bundleopt.optimize.dispatch import check_options, solve

    try:
        bound = inspect.signature(solve).bind(None, **solve_kwargs)
    except TypeError as exc:
        raise ValueError(f"sweep: {exc} (options of bundleopt.solve: "
                         f"{', '.join(list(inspect.signature(solve).parameters)[1:])})") from None
    bound.apply_defaults()
    args = dict(bound.arguments)
    check_options(args.get("time_limit"), args.get("mip_gap", 0.0), args.get("threads"),
                  **{k: args[k] for k in ("warm_start", "verbose") if k in args})


def sweep(
    scenarios: Mapping[Any, Scenario] | Iterable[Scenario],
    executor: Any = None,
    *,
    progress: bool = True,
    workers: int | None = None,
    **solve_kwargs: Any,
) -> list[SweepResult]:
    """Solve every scenario, in parallel, and return one :class:`SweepResult` each, in input order.

    ``scenarios`` is a mapping key -> Scenario or a sequence (keys 0..n-1).
    ``executor``: None (default) runs ``workers`` worker processes (default: one per
    CPU) that take one scenario at a time, so a worker that dies (a crash in native
    code, the out-of-memory killer) fails only the scenario it held, reported as
    ``WorkerDied`` with its exit code or signal, and a fresh worker goes on with the
    rest. Where worker processes cannot start (a script read from standard input, or
    a call at a script's top level outside ``if __name__ == "__main__":``) the sweep
    runs on threads with a ``RuntimeWarning``. Otherwise any
    ``concurrent.futures.Executor`` or a ``dask.distributed.Client``.
    ``solve_kwargs`` go to :func:`bundleopt.solve`; ``threads`` defaults to 1 so that
    parallel workers do not oversubscribe the cores.
    """
    items = _as_items(scenarios)
    progress = flag("progress", progress)
    workers = os.cpu_count() or 1 if workers is None else number("workers", workers, integer=True)
    if workers < 1:
        raise ValueError(f"sweep: workers must be at least 1, got {workers}")
    workers = min(workers, max(1, len(items)))
    pool = None if executor is None else _resolve_executor(executor)
    solve_kwargs.setdefault("threads", 1)
    _check_solve_kwargs(solve_kwargs)
    results: dict[int, SweepResult] = {}
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("solving scenarios", total=len(items))

        def record(i: int, value: Any) -> None:
            results[i] = _as_result(items[i][0], value)
            bar.advance(task)

        if pool is None:
            _run_default(items, solve_kwargs, workers, record, results.__contains__)
        else:
            _run_on_executor(pool, items, range(len(items)), solve_kwargs, record)
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
