"""Run tasks in worker processes so that a worker that dies fails only its own task.

A ``concurrent.futures.ProcessPoolExecutor`` whose worker dies (``os._exit``, a
segfault in a native library, the kernel's out-of-memory killer) marks the whole pool
broken: every pending task fails with ``BrokenProcessPool`` and nobody knows which task
killed it. :func:`run_in_processes` keeps one task at a time in each worker ("lane"):
when a worker dies, the task it held is the one that killed it; that task alone is
reported (:class:`WorkerDied`, with the exit code or signal) and a fresh worker takes
the lane over. The cost is one round trip per task, nothing next to a solve.

Workers are started with ``spawn`` (forking a process in which JAX runs can deadlock).
``spawn`` starts each worker by importing the parent's main module, which fails for a
script read from standard input and re-runs a script whose top-level code is not under
``if __name__ == "__main__":``; :func:`spawn_blocker` says, before anything starts, when
that is the case, and :class:`WorkerStartError` is raised when a worker dies before it
is ready all the same.
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from types import FrameType
from typing import Any

_READY = "ready"


class WorkerDied(RuntimeError):
    """The worker process running a task ended without returning its result."""

    def __init__(self, exitcode: int | None) -> None:
        self.exitcode = exitcode
        super().__init__(f"the worker process running this task {describe_exit(exitcode)}; "
                         "the other tasks were not affected")


class WorkerStartError(RuntimeError):
    """A worker process died before it was ready to take a task."""


def describe_exit(exitcode: int | None) -> str:
    """A process's end in words: ``exited with code 3``, ``was killed by SIGKILL (...)``."""
    if exitcode is None:
        return "ended without an exit status"
    if exitcode >= 0:
        return f"exited with code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    hint = {"SIGKILL": " (as the out-of-memory killer does)", "SIGSEGV": " (a crash in native code)"}
    return f"was killed by {name}{hint.get(name, '')}"


def _lane_main(conn: Connection, fn: Callable[..., Any]) -> None:
    """Worker body: say ready, then run ``fn(*args)`` for each ``(i, args)`` received
    until ``None``; an exception is sent back as the result, never raised."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    conn.send(_READY)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        i, args = msg
        try:
            out: Any = fn(*args)
        except Exception as exc:  # sent back to the parent, by design
            out = RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        try:
            conn.send((i, out))
        except Exception as exc:  # e.g. a result that cannot be pickled
            conn.send((i, RuntimeError(f"the result could not be sent back: {type(exc).__name__}: {exc}")))


class _Lane:
    """One worker process, its pipe and the task it holds (None when idle)."""

    def __init__(self, ctx: Any, fn: Callable[..., Any]) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_lane_main, args=(child, fn), daemon=False,
                                name="bundleopt-worker")
        self.proc.start()
        child.close()
        self.ready = False
        self.task: int | None = None

    def stop(self, graceful: bool) -> None:
        if graceful and self.ready and self.task is None:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)
        self.conn.close()


def run_in_processes(
    fn: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    on_result: Callable[[int, Any], None],
    *,
    max_workers: int,
) -> None:
    """Call ``fn(*tasks[i])`` for every ``i`` in at most ``max_workers`` spawned processes.

    ``on_result(i, value)`` is called in this process as each task ends; ``value`` is
    the result, or an exception: :class:`WorkerDied` when the worker running task ``i``
    died (a fresh worker replaces it), the error of ``fn``, or the error that stopped
    the task's arguments being sent (e.g. not picklable). ``fn`` must be importable
    by name (a module-level function). Raises :class:`WorkerStartError` when a worker
    dies before it is ready (tasks not yet reported are then left to the caller).
    """
    ctx = multiprocessing.get_context("spawn")
    queue = deque(range(len(tasks)))
    lanes: list[_Lane] = []
    done = False
    try:
        while True:
            for lane in lanes:  # hand out work to idle, ready lanes
                while lane.ready and lane.task is None and queue:
                    i = queue.popleft()
                    try:
                        lane.conn.send((i, tasks[i]))
                        lane.task = i
                    except (BrokenPipeError, ConnectionResetError):
                        queue.appendleft(i)  # the idle worker is gone: its EOF is handled below
                        break
                    except Exception as exc:  # the task could not be pickled
                        on_result(i, exc)
            busy = sum(lane.task is not None for lane in lanes)
            if not queue and not busy:
                break
            booting = sum(not lane.ready for lane in lanes)
            while len(lanes) < max_workers and booting < len(queue):  # a worker per waiting task
                lanes.append(_Lane(ctx, fn))
                booting += 1
            for conn in wait([lane.conn for lane in lanes]):
                lane = next(lane for lane in lanes if lane.conn is conn)
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    _retire(lane, lanes, on_result)
                    continue
                if msg == _READY:
                    lane.ready = True
                else:
                    i, value = msg
                    lane.task = None
                    on_result(i, value)
        done = True
    finally:
        for lane in lanes:
            lane.stop(graceful=done)


def _retire(lane: _Lane, lanes: list[_Lane], on_result: Callable[[int, Any], None]) -> None:
    """A lane whose pipe closed: its worker died. Report its task, or raise when it
    never became ready (the workers cannot start here)."""
    lane.proc.join(timeout=5)
    lanes.remove(lane)
    lane.stop(graceful=False)
    if not lane.ready:
        raise WorkerStartError(f"a worker process {describe_exit(lane.proc.exitcode)} while starting")
    if lane.task is not None:
        on_result(lane.task, WorkerDied(lane.proc.exitcode))


# ---------------------------------------------------------------- can spawn start here?
def spawn_blocker() -> str | None:
    """Why ``spawn`` workers cannot start from the current call, or None when they can.

    ``spawn`` prepares each worker by importing the parent's main module (by path, or by
    name for ``python -m``); ``python -c``, interactive sessions and notebooks import
    nothing. Two cases fail: a main "script" that is not a file (read from standard
    input), and a call made from the main module's top-level code outside an
    ``if __name__ == "__main__":`` block (each worker would run the script again; Python
    stops it with a RuntimeError and the worker dies).
    """
    from multiprocessing import spawn

    data = spawn.get_preparation_data("bundleopt-probe")
    path = data.get("init_main_from_path")
    if path is not None and not os.path.isfile(path):
        return f"the main script {os.path.basename(path)!r} is not a file the workers can import " \
               "(a script read from standard input?)"
    if path is None and data.get("init_main_from_name") is None:
        return None
    frame = _main_module_frame()
    if frame is not None and not _under_main_guard(frame):
        return ("the main script runs this call at its top level, outside "
                "`if __name__ == \"__main__\":`, so each worker would run the script again")
    return None


def starting_worker() -> bool:
    """Whether this process is a spawned worker still importing its parent's main script
    (code running then must not start work of its own)."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _main_module_frame() -> FrameType | None:
    """The frame running the main module's top-level code, if it is on the stack."""
    main = sys.modules.get("__main__")
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and main is not None and frame.f_globals is vars(main):
            return frame
        frame = frame.f_back
    return None


def _under_main_guard(frame: FrameType) -> bool:
    """Whether the frame's current line lies in a top-level ``if __name__ == "__main__":``
    block of its source file (True when the source cannot be read: no evidence)."""
    try:
        with open(frame.f_code.co_filename, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return True
    line = frame.f_lineno
    return any(isinstance(node, ast.If) and _is_main_test(node.test)
               and node.body[0].lineno <= line <= (node.body[-1].end_lineno or line)
               for node in tree.body)


def _is_main_test(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    consts = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and consts == {"__main__"}
