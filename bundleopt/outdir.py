"""Output folders that never lose a user's files.

Every folder bundleopt writes (a plan report, a simulation) carries a manifest,
:data:`MANIFEST`, naming the files bundleopt put there. Replacing a folder
(``overwrite``) is allowed only when that loses nothing of the user's:

* the folder does not exist, or is empty: written without ``overwrite``;
* the folder carries a valid manifest and holds nothing but the files it names:
  replaced with ``overwrite``;
* anything else is refused, ``overwrite`` or not: a file, a symbolic link, a folder
  with files bundleopt did not write, the current folder or one above it, the home
  folder, ``/``.

:func:`check_output_folder` says so before any work is done (callers run it before
their first heavy stage) and :func:`staged_folder` writes the new folder next to the
target and swaps it into place at the end, with SIGINT/SIGTERM deferred during the
swap, so that an interrupted or failed run leaves the previous folder as it was and
no temporary folder behind. A run killed outright (SIGKILL, power loss) during the
swap cannot clean up; the next write to the same folder repairs it first
(:func:`recover_interrupted_swap`): a previous folder left hidden is put back, and
left-over copies that hold only bundleopt's files are removed (anything else is
reported, never deleted).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST", "check_output_folder", "read_manifest", "recover_interrupted_swap", "staged_folder"]

#: name of the manifest file in every folder bundleopt writes
MANIFEST = ".bundleopt-manifest.json"
_TOOL = "bundleopt"


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of ``folder`` as a dict, or ``None`` when it has none (or an invalid one).

    A valid manifest is a JSON object with ``"tool": "bundleopt"`` and ``"files"``, a
    list of plain file names (no folder parts).
    """
    path = Path(folder) / MANIFEST
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("tool") != _TOOL:
        return None
    files = doc.get("files")
    if not isinstance(files, list) or not all(
            isinstance(f, str) and f and os.path.basename(f) == f and f not in (".", "..") for f in files):
        return None
    return doc


def _foreign_entries(folder: Path) -> list[str] | None:
    """Entries of ``folder`` that its manifest does not name (``None``: no valid manifest).

    A named entry that is not a regular file (a sub-folder, a link) counts as foreign.
    """
    doc = read_manifest(folder)
    if doc is None:
        return None
    ours = set(doc["files"]) | {MANIFEST}
    foreign = []
    for name in sorted(os.listdir(folder)):
        if name not in ours or not stat.S_ISREG(os.lstat(folder / name).st_mode):
            foreign.append(name)
    return foreign


def _protected(target: Path) -> str | None:
    """Why ``target`` must never be replaced (``None``: it may be, if it holds only our files)."""
    resolved = target.resolve()
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor):
        return "it is the root folder"
    if resolved == cwd:
        return "it is the current folder"
    if resolved in cwd.parents:
        return "it holds the current folder"
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):  # no home folder known
        home = None
    if home is not None and resolved in (home, *home.parents):
        return "it is the home folder or holds it"
    return None


def _probe_writable(parent: Path) -> None:
    """Raise ``PermissionError`` unless a folder can be created in ``parent`` (tried, then removed)."""
    try:
        probe = tempfile.mkdtemp(prefix=".bundleopt-probe-", dir=parent)
    except OSError as exc:
        raise PermissionError(
            f"cannot write into folder {parent} ({exc.strerror or exc}); choose another output folder"
        ) from exc
    os.rmdir(probe)


def _only_ours(folder: Path) -> bool:
    """``folder`` is a real folder holding nothing but what its valid manifest names."""
    return (not os.path.islink(folder) and folder.is_dir()
            and _foreign_entries(folder) == [])


def recover_interrupted_swap(out: str | Path, *, stale_s: float = 3600.0) -> list[str]:
    """Repair what a run killed during :func:`staged_folder`'s swap left next to ``out``.

    A swap renames ``out`` to ``.<name>.old-*/previous`` and then the new folder (written
    as ``.<name>.tmp-*``) to ``out``; a run killed between the two leaves ``out`` missing
    and the previous folder hidden, and any killed run leaves its temporary folder.
    Here: when ``out`` is missing, the newest hidden previous folder that bundleopt
    wrote is put back as ``out``; then left-over backups and temporary folders that
    hold only files their manifest names are removed, and so are empty temporary
    folders older than ``stale_s`` seconds (a younger one may belong to a run still
    going on). Anything else
    found is left alone and named in a warning. Returns what was done, one line each.
    """
    out = Path(out)
    parent = out.parent
    if not parent.is_dir():
        return []
    done: list[str] = []
    backups = sorted((p for p in parent.glob(f".{out.name}.old-*") if p.is_dir() and not p.is_symlink()),
                     key=lambda p: p.stat().st_mtime)
    if not os.path.lexists(out):
        for b in reversed(backups):
            if _only_ours(b / "previous"):
                os.replace(b / "previous", out)
                done.append(f"restored {out} from an interrupted run ({b.name})")
                break
    leftovers = backups + [p for p in parent.glob(f".{out.name}.tmp-*") if p.is_dir() and not p.is_symlink()]
    kept = []
    for left in leftovers:
        inner = [left / n for n in os.listdir(left)]
        if left.name.startswith(f".{out.name}.old-"):
            removable = all(_only_ours(p) for p in inner)
        else:  # a complete folder never swapped in, or one a killed run had just begun
            removable = _only_ours(left) or (not inner and time.time() - left.stat().st_mtime > stale_s)
        if removable:
            shutil.rmtree(left, ignore_errors=True)
            done.append(f"removed {left.name}, left by an interrupted run")
        else:
            kept.append(left.name)
    if kept:
        warnings.warn(f"left alone next to {out}: {', '.join(kept)} (left by an interrupted bundleopt "
                      "run, but holding files bundleopt did not write); remove them yourself", stacklevel=2)
    return done


def check_output_folder(out: str | Path, *, overwrite: bool = False,
                        overwrite_hint: str = "overwrite=True", recover: bool = True) -> Path:
    """Raise unless a bundleopt folder can be written to ``out``; return ``out`` as a Path.

    Checks (see the module docstring): the parent folder exists and is writable,
    ``out`` is not protected, and an existing ``out`` is either empty or (with
    ``overwrite``) a folder bundleopt wrote that holds nothing else. ``overwrite_hint``
    names the switch in the messages (``--overwrite`` on the command line). Errors:
    ``NotADirectoryError`` (no parent folder), ``FileExistsError`` (``out`` exists and
    may not be replaced), ``PermissionError`` (nothing can be written there). With
    ``recover`` (the default), what a killed run left next to ``out`` is repaired first
    (:func:`recover_interrupted_swap`; each action is reported as a warning).
    """
    out = Path(out)
    if str(out).strip() == "":
        raise ValueError("the output folder name is empty; give a folder such as plan/")
    parent = out.parent
    why = _protected(out)
    if why is not None:
        raise FileExistsError(f"cannot write into {out}: {why}; give a new folder such as {out / 'plan'}")
    for line in recover_interrupted_swap(out) if recover else ():
        warnings.warn(line, stacklevel=2)
    if not parent.is_dir():
        raise NotADirectoryError(f"cannot write to {out}: folder {parent} does not exist; create it first "
                                 "or choose another output folder")
    if os.path.islink(out):
        raise FileExistsError(f"{out} is a symbolic link; give the folder it points to, or a new folder")
    if os.path.lexists(out):
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is a file, not a folder; choose another output folder")
        entries = os.listdir(out)
        if entries:
            foreign = _foreign_entries(out)
            if foreign is None:
                raise FileExistsError(
                    f"{out} already exists and was not written by bundleopt (no {MANIFEST}); "
                    "choose another output folder, or empty it yourself")
            if foreign:
                shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
                raise FileExistsError(
                    f"{out} holds files bundleopt did not write ({shown}); move them away or choose "
                    "another output folder")
            if not overwrite:
                raise FileExistsError(f"{out} already exists; choose another output folder or add "
                                      f"{overwrite_hint} to replace it")
    _probe_writable(parent)
    return out


@contextmanager
def _signals_deferred(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[list[int]]:
    """Hold back ``signums`` inside the block; deliver the ones that came right after it.

    Yields the list of signals held back so far (the block may look at it). Python
    runs signal handlers in the main thread only, so outside it this holds nothing
    back (no handler there can interrupt the block). A handler not set from Python
    (``signal.getsignal`` gives ``None``) is left alone.
    """
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    saved: dict[int, Any] = {}

    def record(signum: int, frame: Any) -> None:
        if signum not in pending:
            pending.append(signum)

    for signum in signums:
        old = signal.getsignal(signum)
        if old is not None:
            saved[signum] = old
            signal.signal(signum, record)
    try:
        yield pending
    finally:
        for signum, old in saved.items():
            signal.signal(signum, old)
        for signum in pending:
            signal.raise_signal(signum)


def _swap_into_place(new: Path, out: Path, before_commit: Callable[[], None] | None) -> None:
    """Move the complete folder ``new`` to ``out``, replacing an existing ``out``.

    With SIGINT/SIGTERM held back: ``before_commit()`` (may raise to abort), then
    ``out -> backup`` and ``new -> out``. If the second rename fails, or a signal
    came meanwhile, both renames are undone (``new`` is back where it was, ``out``
    as before; a signal then raises ``KeyboardInterrupt``), so ``out`` is never left
    missing with the previous folder hidden, and an interrupted run writes nothing.
    The backup is removed at the end; held-back signals are delivered after.
    """
    backup_dir = None
    try:
        with _signals_deferred() as pending:
            if before_commit is not None:
                before_commit()
            backup = None
            if os.path.lexists(out):
                backup_dir = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                backup = backup_dir / "previous"
                os.replace(out, backup)
            try:
                os.replace(new, out)
            except BaseException:
                if backup is not None:
                    os.replace(backup, out)
                raise
            if pending:  # interrupted during the swap: undo it
                os.replace(out, new)
                if backup is not None:
                    os.replace(backup, out)
                raise KeyboardInterrupt(f"interrupted while {out} was put in place; nothing was written")
    finally:
        if backup_dir is not None:
            shutil.rmtree(backup_dir, ignore_errors=True)


def _write_manifest(folder: Path, kind: str, extra: dict[str, Any] | None) -> None:
    from bundleopt import __version__

    files = sorted(name for name in os.listdir(folder) if name != MANIFEST)
    doc = {"tool": _TOOL, "kind": kind, "version": __version__, "files": files, **(extra or {})}
    (folder / MANIFEST).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


@contextmanager
def staged_folder(out: str | Path, *, kind: str, overwrite: bool = False,
                  before_commit: Callable[[], None] | None = None,
                  overwrite_hint: str = "overwrite=True",
                  manifest: dict[str, Any] | None = None) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``out``; on success it becomes ``out``.

    The caller writes its files into the yielded folder. When the block ends without
    an exception, a manifest naming those files (with ``kind`` and ``manifest``'s
    entries) is added, ``out`` is checked again (:func:`check_output_folder`: the
    disk may have changed meanwhile) and the folder is swapped into place
    (``before_commit`` is called first, with SIGINT/SIGTERM deferred; raising from it
    aborts). On any exception, KeyboardInterrupt included, the temporary folder is
    removed and ``out`` is left as it was. An ``OSError`` while writing becomes an
    ``OSError`` that names ``out``.
    """
    out = check_output_folder(out, overwrite=overwrite, overwrite_hint=overwrite_hint)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise PermissionError(f"cannot write into folder {out.parent} ({exc.strerror or exc}); "
                              "choose another output folder") from exc
    try:
        try:
            yield tmp
            _write_manifest(tmp, kind, manifest)
            os.chmod(tmp, 0o755)
        except OSError as exc:
            raise OSError(f"cannot write {out}: {exc.strerror or exc}") from exc
        check_output_folder(out, overwrite=overwrite, overwrite_hint=overwrite_hint, recover=False)
        _swap_into_place(tmp, out, before_commit)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
