"""Know before running: memory and time of a plan's heavy stages, from the data's size.

:func:`estimate_plan_resources` predicts the peak memory and the time of segmentation,
choice data and the per-segment MNL fits from counts known right after validation
(lines, customers, products, bundle candidates, periods, segments), with the costs of the
menu-grouped representation and its factored Hessian (``formulations/choice_data.md``):

* choice data: one record per purchase occasion at most (<= lines) and one menu per
  period (``M`` menus): ``O(lines + M J)``;
* one segment's fit (``p`` parameters, ``J`` alternatives): the Hessian as a diagonal plus
  ``q = 2M + 2`` rank factors, assembled into one dense ``p x p`` matrix (``2 p^2 q`` flops)
  and factorised by Cholesky (``p^3 / 3``) per Newton step; the covariance by Cholesky and
  its inverse (``p^3``). A few ``p x p`` arrays are alive while a segment is fitted and one
  (the covariance) per fitted model after, for the plan's models and the backtest's;
* pandas frames of the lines (validation, occasions, features): ``O(lines)``.

The coefficients are rough upper figures measured on Ta-Feng (200 to 7,319 products) on a
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
    working_matrices: float = 4.0, newton_steps: int = 14, blas_flops: float = 1e10,
    flops_per_second: float = 5e8,
) -> ResourceEstimate:
    """Peak memory and time of ``build_plan``'s heavy stages (see the module docstring).

    ``n_segments``: the number of segments fitted (before segmentation chooses it, the
    planner checks the fewest it may choose, then again with the number chosen). ``working_matrices``: ``p x p`` arrays alive
    while one segment is fitted (the Hessian, a trial step's, a factor, the identity basis);
    ``blas_flops``: dense linear algebra speed (one BLAS thread); ``flops_per_second``:
    the rest (JAX passes over the records and menus, per-line pandas work).
    """
    J = int(n_products) + int(n_candidates) + 1
    p = J + 1
    M = int(n_periods) + 1  # the periods' menus and the smoothing menu
    q = 2 * M + 2
    frames = bytes_per_line * n_lines
    segmentation = 200.0 * n_customers * 20 + 8.0 * min(n_customers, 5000) ** 2
    menus = 8.0 * 30 * M * J
    # the plan's models and the backtest's (earlier window) each keep one covariance
    fit = 8.0 * p * p * (working_matrices + 2 * n_segments) + menus
    memory = base_memory + frames + max(segmentation, fit)
    per_step = (2.0 * p * p * q + p**3 / 3) / blas_flops + (40.0 * M * J + 60.0 * n_lines / max(n_segments, 1)) / flops_per_second
    per_fit = newton_steps * per_step + p**3 / blas_flops + 2.0
    fit_s = 2 * n_segments * per_fit  # the plan's fits and the backtest's
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
        "or fewer bundle candidates (--max-candidates) or segments (--segments), "
        "or run on a machine with more memory")
