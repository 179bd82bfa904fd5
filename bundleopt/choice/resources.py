"""Know before running: memory and time of a plan's heavy stages, from the data's size.

:func:`estimate_plan_resources` predicts the peak memory and the time of segmentation,
choice data and the per-segment MNL fits from counts known right after validation
(lines, customers, products, bundle candidates, periods, segments), with the costs of the
menu-grouped representation (``formulations/choice_data.md``):

* choice data: one record per purchase occasion at most (<= lines) and one menu per
  period: ``O(lines + periods x J)``;
* one segment's fit: the closed-form Hessian's ``J x J`` products and the ``p x p``
  Hessian, its eigen-decomposition and solves (``p = J + 1`` parameters, ``J`` the
  alternatives): ``O(J^2)`` memory, ``O(periods J^2 + p^3)`` time per Newton step;
* pandas frames of the lines (validation, occasions, features): ``O(lines)``.

The coefficients are rough upper figures measured on Ta-Feng (50 to 1,000 products) on a
shared 2-core machine; they serve to stop a run that cannot fit *before* minutes of work,
not to predict to the second. :func:`check_memory` raises :class:`ResourceError` (a
``ValueError``) naming the option that helps when the estimate exceeds the memory
available (``MemAvailable``, or a cgroup limit when lower).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

GB = 1e9


class ResourceError(ValueError):
    """The run would need more memory than the machine has."""


@dataclass(frozen=True)
class ResourceEstimate:
    """Predicted peak memory (bytes) and seconds, with the sizes they come from."""

    memory: float
    seconds: float
    n_alternatives: int
    n_parameters: int
    detail: dict

    def describe(self) -> str:
        return (f"about {self.memory / GB:.1f} GB and {self.seconds:.0f} s "
                f"({self.n_alternatives} alternatives, {self.n_parameters} parameters per segment)")


def estimate_plan_resources(
    *, n_lines: int, n_customers: int, n_products: int, n_candidates: int, n_periods: int,
    n_segments: int, base_memory: float = 0.45 * GB, bytes_per_line: float = 2500.0,
    newton_steps: int = 8, flops_per_second: float = 5e8,
) -> ResourceEstimate:
    """Peak memory and time of ``build_plan``'s heavy stages (see the module docstring).

    ``n_segments`` is the largest number of segments that may be fitted (the top of
    ``k_range`` when the number is chosen).
    """
    J = int(n_products) + int(n_candidates) + 1
    p = J + 1
    frames = bytes_per_line * n_lines
    segmentation = 200.0 * n_customers * 20 + 8.0 * min(n_customers, 5000) ** 2
    menus = 8.0 * n_periods * J * 12
    fit = 8.0 * (12 * J * J + 12 * p * p) + menus
    memory = base_memory + frames + max(segmentation, fit)
    per_step = 4.0 * n_periods * J * J + 2.0 * p**3 / 3 + 60.0 * n_lines / max(n_segments, 1)
    fit_s = n_segments * (newton_steps + 2) * per_step / flops_per_second + 2.0 * n_segments
    seg_s = 2e-4 * n_customers * 5 + 5.0
    lines_s = 1e-4 * n_lines
    seconds = fit_s + seg_s + lines_s + 10.0
    detail = {"frames_gb": frames / GB, "segmentation_gb": segmentation / GB, "fit_gb": fit / GB,
              "fit_s": fit_s, "segmentation_s": seg_s, "lines_s": lines_s}
    return ResourceEstimate(memory, seconds, J, p, detail)


def available_memory() -> float | None:
    """Bytes this process may still use: ``MemAvailable`` of ``/proc/meminfo``, lowered
    to the cgroup v2 limit minus current use when there is one (``None``: unknown)."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = float(line.split()[1]) * 1024
    except OSError:
        return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = float(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            room = float(limit) - used
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail


def check_memory(estimate: ResourceEstimate, available: float | None = None) -> None:
    """Raise :class:`ResourceError` when ``estimate`` exceeds the memory ``available``
    (default: :func:`available_memory`), naming what to change."""
    room = available_memory() if available is None else available
    if room is None or estimate.memory <= room:
        return
    raise ResourceError(
        f"this plan needs {estimate.describe()} but only {room / GB:.1f} GB of memory is available: "
        f"keep fewer products (--max-products, e.g. {max(50, int(estimate.n_alternatives * room / estimate.memory) // 2)}) "
        "or fewer bundle candidates (--max-candidates), or run on a machine with more memory")
