"""Ctrl-C and SIGTERM for a command that writes a folder: stop, write nothing, exit 128 + signal.

A KeyboardInterrupt raised inside a library may be swallowed (JAX's garbage-collection
callback prints "Exception ignored" and carries on), so a signal is *recorded* as
well as raised: :meth:`InterruptGuard.check` raises again at safe points (progress
callbacks, before writing) and :meth:`InterruptGuard.commit` is handed to
:func:`bundleopt.report.write_report` as ``before_commit``, so a recorded signal
prevents the write even if every exception in between was swallowed. While the
guard is on, such a swallowed :class:`Interrupted` is not printed (it is recorded).
"""

from __future__ import annotations

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
    """Records SIGINT/SIGTERM and raises :class:`Interrupted` (installed by :func:`interrupt_guard`)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.committed = False

    def handle(self, signum: int, frame: Any) -> None:
        """The signal handler: record the first signal, raise :class:`Interrupted`."""
        if self.signum is None:
            self.signum = signum
        raise Interrupted(self.signum)

    def check(self) -> None:
        """Raise :class:`Interrupted` if a signal arrived (even one whose exception was swallowed)."""
        if self.signum is not None:
            raise Interrupted(self.signum)

    def commit(self) -> None:
        """``before_commit`` hook: last :meth:`check`; past it the new folder goes into place."""
        self.check()
        self.committed = True

    def progress(self, callback: Any) -> Any:
        """``callback`` wrapped so that every progress report is a safe point (:meth:`check`)."""

        def report(*args: Any) -> None:
            self.check()
            callback(*args)
            self.check()

        return report


@contextmanager
def interrupt_guard() -> Iterator[InterruptGuard]:
    """Install an :class:`InterruptGuard` for SIGINT and SIGTERM inside the block (main thread only)."""
    guard = InterruptGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    saved = {signum: signal.getsignal(signum) for signum in SIGNALS}
    unraisable = sys.unraisablehook

    def quiet_unraisable(info: Any) -> None:
        if not isinstance(info.exc_value, Interrupted):  # ours is recorded, raised again later
            unraisable(info)

    sys.unraisablehook = quiet_unraisable
    for signum in SIGNALS:
        signal.signal(signum, guard.handle)
    try:
        yield guard
    finally:
        for signum, old in saved.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)
        sys.unraisablehook = unraisable
