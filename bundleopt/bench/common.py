"""Shared plumbing of the benchmark suites: results folder, metadata, writing, timing.

Every suite is a function ``run(quick, out, seed, progress, size=None) -> DataFrame``;
it returns one row per measurement and writes, into ``out``:

* ``<suite>.csv``  -- the rows;
* ``<suite>.json`` -- ``{"suite", "size", "seed", "machine", "versions", "notes",
  "created", "rows"}`` so a figure can be traced to the machine and library
  versions that produced it;
* ``<suite>.png``  -- a plot (matplotlib, Agg backend: no display needed).

Timings are wall-clock (``time.perf_counter``). On a shared machine they are noisy:
:func:`repeat_timing` runs a callable several times and reports the best and median.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

SUITES = ("estimation", "optimization", "pricing", "end-to-end")
SIZES = ("tiny", "quick", "full")

# packages whose versions go into every result file
_PACKAGES = ("bundleopt", "numpy", "scipy", "pandas", "jax", "jaxlib", "pyomo", "highspy",
             "biogeme", "scikit-learn", "matplotlib")

T = TypeVar("T")


class Progress(Protocol):
    """What a suite reports while it works: ``progress(done, total, label)``."""

    def __call__(self, done: int, total: int, label: str) -> None: ...


def no_progress(done: int, total: int, label: str) -> None:
    """A :class:`Progress` that reports nothing."""


def resolve_size(quick: bool, size: str | None) -> str:
    """``size`` if given (``"tiny"``, ``"quick"`` or ``"full"``), else from ``quick``."""
    if size is None:
        return "quick" if quick else "full"
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}; got {size!r}")
    return size


def output_dir(out: Path | str | None, suite: str) -> Path:
    """``out``, or by default ``results/<suite>/`` under the current directory (git-ignored)."""
    return Path(out) if out is not None else Path("results") / suite


def versions() -> dict[str, str]:
    """Installed versions of the libraries the figures depend on ("absent" if missing)."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = "absent"
    return out


def machine() -> dict[str, Any]:
    """Where the figures were measured: OS, CPU, core count, memory, Python, git commit."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        info["memory_gb"] = None
    try:
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    except OSError:
        info["load_average_1min"] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5, cwd=Path(__file__).resolve().parent)
        info["git_commit"] = commit.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


def metadata(suite: str, size: str, seed: int, notes: Sequence[str] = ()) -> dict[str, Any]:
    """The header of a suite's JSON file."""
    return {
        "suite": suite,
        "size": size,
        "seed": int(seed),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "notes": list(notes),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def write_results(
    df: pd.DataFrame, out: Path, suite: str, size: str, seed: int, notes: Sequence[str] = ()
) -> dict[str, Path]:
    """Write ``<suite>.csv`` and ``<suite>.json`` (metadata + rows) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    name = suite.replace("-", "_")
    csv_path = out / f"{name}.csv"
    json_path = out / f"{name}.json"
    df.to_csv(csv_path, index=False)
    doc = metadata(suite, size, seed, notes)
    doc["rows"] = [_jsonable(r) for r in df.to_dict(orient="records")]
    json_path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return {"csv": csv_path, "json": json_path}


def new_figure(n_panels: int = 1, width: float = 5.0, height: float = 4.0):
    """A matplotlib figure with ``n_panels`` side-by-side axes (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n_panels, figsize=(width * n_panels, height), squeeze=False)
    return fig, list(axes[0])


def save_plot(fig: Any, out: Path, suite: str) -> Path:
    """Save ``fig`` as ``<suite>.png`` in ``out`` and close it."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{suite.replace('-', '_')}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``(fn(), seconds)``."""
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def wall_times(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Wall seconds of each of ``repeats`` calls of ``fn``, each waiting for its JAX
    results (``jax.block_until_ready``: JAX dispatches asynchronously)."""
    import jax

    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        out.append(time.perf_counter() - t0)
    return out


def repeat_timing(fn: Callable[[], T], repeat: int) -> tuple[T, float, float]:
    """Run ``fn`` ``repeat`` times: ``(last value, best seconds, median seconds)``."""
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    times = []
    value: Any = None
    for _ in range(repeat):
        value, seconds = timed(fn)
        times.append(seconds)
    return value, float(min(times)), float(np.median(times))


def relative_gap(value: float, reference: float) -> float:
    """``(reference - value) / |reference|`` (0 when both are 0)."""
    if reference == 0:
        return 0.0 if value == 0 else float("inf")
    return float((reference - value) / abs(reference))
