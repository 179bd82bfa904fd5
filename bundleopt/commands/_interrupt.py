"""Ctrl-C and SIGTERM for a command that writes a folder: stop, write nothing, exit 128 + signal.

The first SIGINT or SIGTERM is only *recorded* (and announced on stderr): raising
KeyboardInterrupt at an arbitrary instruction inside JAX, XLA or HiGHS may be swallowed
(JAX's garbage-collection callback prints "Exception ignored" and carries on) or leave
a library in a broken state. The run stops at the next safe point instead:
:meth:`InterruptGuard.check` is called at every progress report and before writing,
and :meth:`InterruptGuard.commit` is handed to :func:`bundleopt.report.write_report`
as ``before_commit``, so a recorded signal always prevents the write. A second signal
raises :class:`Interrupted` at once (for a step with no safe point in reach, such as a
long solve); if a library swallows that one, it is not printed (it is recorded) and
the next safe point stops the run.
"""

from __future__ import annotations

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

    def __init__(self) -> None:
        self.signum: int | None = None
        self.committed = False

    def handle(self, signum: int, frame: Any) -> None:
        """The signal handler: record the first signal; raise :class:`Interrupted` on the second."""
        if self.signum is None:
            self.signum = signum
            os.write(2, f"\n{signal.Signals(signum).name}: stopping at the next safe point, nothing will "
                        "be written (Ctrl-C again to stop at once)\n".encode())
            return
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
