"""Ctrl-C and SIGTERM for a command that writes a folder: stop, write nothing, exit 128 + signal.

The first SIGINT or SIGTERM is only *recorded* (and announced on stderr): raising
KeyboardInterrupt at an arbitrary instruction inside JAX, XLA or HiGHS may be swallowed
(JAX's garbage-collection callback prints "Exception ignored" and carries on) or leave
a library in a broken state. The run stops at the next safe point instead:
:meth:`InterruptGuard.check` is called at every progress report and before writing,
and is handed to :func:`bundleopt.report.write_report` as ``before_commit`` (called
just before the swap; a signal during the swap undoes it), so a recorded signal
always prevents the write. A second signal
raises :class:`Interrupted` at once (for a step with no safe point in reach, such as a
long solve). A signal that lands while the garbage collector runs (in its callbacks,
weakref callbacks or finalizers an exception is swallowed) is sent again 50 ms later
instead of raised there, and so is one that was swallowed anyway (seen by
``sys.unraisablehook``, which then prints nothing); whatever happens, the recorded
signal stops the run at the next safe point.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """Raised when SIGINT or SIGTERM arrived; ``exit_code`` is ``128 + signum`` (130, 143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class InterruptGuard:
    """Records SIGINT/SIGTERM; raises :class:`Interrupted` at safe points (see the module docstring)."""

    def __init__(self, raise_first: bool = False, retry_s: float = 0.05) -> None:
        self.signum: int | None = None
        self.committed = False
        self.raise_first = raise_first
        self.retry_s = retry_s
        self.active = False
        self.collecting = False  # the garbage collector is running (set by track_gc)

    def handle(self, signum: int, frame: Any) -> None:
        """The signal handler: record the first signal; raise :class:`Interrupted` on the second
        (on the first too with ``raise_first``, for work without safe points)."""
        if self.signum is None:
            self.signum = signum
            if not self.raise_first:
                os.write(2, f"\n{signal.Signals(signum).name}: stopping at the next safe point, nothing "
                            "will be written (Ctrl-C again to stop at once)\n".encode())
                return
        if self.collecting:
            self.send_again_later(signum)
            return
        raise Interrupted(self.signum)

    def track_gc(self, phase: str, info: Any) -> None:
        """A ``gc.callbacks`` entry: note when the collector runs."""
        self.collecting = phase == "start"

    def send_again_later(self, signum: int) -> None:
        """Send ``signum`` to the main thread again in ``retry_s`` seconds (while the guard is on)."""
        main = threading.main_thread().ident
        kill = getattr(signal, "pthread_kill", None)  # POSIX; elsewhere the next safe point stops the run

        def send() -> None:  # to the main thread, so that a blocking call there is cut short
            if self.active and main is not None and kill is not None:
                kill(main, signum)

        timer = threading.Timer(self.retry_s, send)
        timer.daemon = True
        timer.start()

    def check(self) -> None:
        """Raise :class:`Interrupted` if a signal arrived (even one whose exception was swallowed)."""
        if self.signum is not None:
            raise Interrupted(self.signum)

    def written(self) -> None:
        """Note that the output is in place (a signal from now on came too late to stop the write)."""
        self.committed = True

    def progress(self, callback: Any) -> Any:
        """``callback`` wrapped so that every progress report is a safe point (:meth:`check`)."""

        def report(*args: Any) -> None:
            self.check()
            callback(*args)
            self.check()

        return report


@contextmanager
def interrupt_guard(raise_first: bool = False) -> Iterator[InterruptGuard]:
    """Install an :class:`InterruptGuard` for SIGINT and SIGTERM inside the block (main thread only).

    ``raise_first``: raise :class:`Interrupted` on the first signal already, for work
    that reports no progress (no safe point to stop at); a swallowed one is still
    recorded and stops the write.
    """
    guard = InterruptGuard(raise_first=raise_first)
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    saved = {signum: signal.getsignal(signum) for signum in SIGNALS}
    unraisable = sys.unraisablehook

    def quiet_unraisable(info: Any) -> None:
        if isinstance(info.exc_value, Interrupted):  # swallowed: recorded, raise it again later
            guard.send_again_later(info.exc_value.signum)
        else:
            unraisable(info)

    sys.unraisablehook = quiet_unraisable
    gc.callbacks.insert(0, guard.track_gc)
    for signum in SIGNALS:
        signal.signal(signum, guard.handle)
    guard.active = True
    try:
        yield guard
    finally:
        guard.active = False
        if guard.track_gc in gc.callbacks:
            gc.callbacks.remove(guard.track_gc)
        for signum, old in saved.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)
        sys.unraisablehook = unraisable
