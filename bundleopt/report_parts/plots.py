"""The report's PNG figures (Agg backend, TeX off; ids shown literally, never as math text)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_bundle_map", "plot_calibration", "plot_intervals", "plot_price_ladder",
           "plot_profit_by_segment"]


@contextmanager
def _figure(width: float, height: float) -> Iterator[tuple[Any, Any]]:
    """``(plt, figure)`` on the Agg backend with TeX off (ids must not reach LaTeX); closed after."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"text.usetex": False}):
        fig = plt.figure(figsize=(width, height))
        try:
            yield plt, fig
        finally:
            plt.close(fig)


def _label(value: Any) -> str:
    """``value`` as a plot label shown literally: ``$`` escaped, so matplotlib never parses math text."""
    return str(value).replace("$", r"\$")


def _top_offers(plan: Any, k: int) -> np.ndarray:
    """Indices of the ``k`` offers with the largest expected profit in the plan (all segments),
    then the others in their order (offers not offered anywhere last)."""
    sc = plan.scenario
    profit = plan.table.groupby("offer")["profit"].sum()
    score = np.array([profit.get(o, -np.inf) for o in sc.offer_ids], dtype=float)
    return np.argsort(-score, kind="stable")[:k]


def plot_price_ladder(plan: Any, path: str | Path, max_offers: int = 40) -> None:
    """One panel per segment: each offer's ladder (grey) and its chosen price (dot);
    the ``max_offers`` most profitable offers, so the figure stays readable at any size."""
    sc = plan.scenario
    n = min(sc.n_offers, max_offers)
    with _figure(max(6.0, 0.35 * n + 2), 2.2 * sc.n_segments + 1) as (_, fig):
        _draw_price_ladder(plan, fig, _top_offers(plan, max_offers))
        fig.savefig(path, dpi=110)


def _draw_price_ladder(plan: Any, fig: Any, shown: np.ndarray | None = None) -> None:
    sc = plan.scenario
    idx = np.arange(sc.n_offers) if shown is None else np.asarray(shown)
    x = np.arange(len(idx))
    list_p = sc.list_prices()[idx]
    axes = fig.subplots(sc.n_segments, 1, sharex=True, squeeze=False)[:, 0]
    for s, ax in enumerate(axes):
        for k in range(sc.n_levels):
            ax.scatter(x, sc.prices[idx, k] / list_p, marker="_", color="0.7", s=80)
        levels = plan.solution.decision.menu_of(s)[idx]
        on = levels != -1
        chosen = np.where(on, sc.prices[idx, np.maximum(levels, 0)] / list_p, np.nan)
        colors = np.where(sc.is_bundle[idx], "tab:orange", "tab:blue")
        ax.scatter(x[on], chosen[on], c=colors[on], s=30, zorder=3)
        ax.set_ylabel(_label(f"segment {sc.segment_ids[s]}\nprice / list price"))
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(x)
    axes[-1].set_xticklabels([_label(sc.offer_ids[o]) for o in idx], rotation=90, fontsize=7)
    what = (f"the {len(idx)} most profitable of {sc.n_offers} offers; " if len(idx) < sc.n_offers else "")
    fig.suptitle(f"Price ladder per segment ({what}grey: levels; blue: single, orange: bundle offered)",
                 fontsize=10)
    fig.tight_layout()


def plot_profit_by_segment(plan: Any, path: str | Path) -> None:
    """Grouped bars: expected profit per segment for each plan compared."""
    with _figure(8.0, 5.0) as (_, fig):
        _draw_profit_by_segment(plan.profit_by_segment, fig)
        fig.savefig(path, dpi=110)


def _draw_profit_by_segment(data: pd.DataFrame, fig: Any) -> None:
    ax = fig.add_subplot()
    n_plans, n_seg = data.shape
    width = 0.8 / max(n_plans, 1)
    x = np.arange(n_seg)
    for i, (name, row) in enumerate(data.iterrows()):
        ax.bar(x + (i - (n_plans - 1) / 2) * width, row.to_numpy(dtype=float), width, label=_label(name))
    ax.set_xticks(x)
    ax.set_xticklabels([_label(f"segment {s}") for s in data.columns])
    ax.set_ylabel("expected profit per data period")
    ax.set_title("Profit by segment: optimised vs shop prices vs baselines")
    ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.tight_layout()


def plot_calibration(plan: Any, path: str | Path) -> None:
    """Backtest: predicted vs observed purchase occasions (:func:`bundleopt.plan_parts.figures.draw_calibration`)."""
    from bundleopt.plan_parts.figures import draw_calibration

    with _figure(7.0, 5.5) as (_, fig):
        draw_calibration(getattr(plan, "backtest", None), fig)
        fig.savefig(path, dpi=110)


def plot_intervals(plan: Any, path: str | Path) -> None:
    """Profit under parameter draws (:func:`bundleopt.plan_parts.figures.draw_intervals`)."""
    from bundleopt.plan_parts.figures import draw_intervals

    with _figure(7.0, 4.5) as (_, fig):
        draw_intervals(getattr(plan, "intervals", None), fig)
        fig.savefig(path, dpi=110)


def plot_bundle_map(plan: Any, path: str | Path) -> None:
    """Products (rows) x candidate bundles (columns); offered bundles name their segments."""
    sc = plan.scenario
    bundles = [o for o in range(sc.n_offers) if sc.is_bundle[o]]
    comps = sorted({p for o in bundles for p in sc.components[o]})
    with _figure(max(4.0, 0.6 * len(bundles) + 2.5), max(3.0, 0.3 * len(comps) + 2)) as (_, fig):
        _draw_bundle_map(plan, bundles, comps, fig)
        fig.savefig(path, dpi=110)


def _draw_bundle_map(plan: Any, bundles: list[int], comps: list[Any], fig: Any) -> None:
    sc = plan.scenario
    ax = fig.add_subplot()
    if not bundles:
        ax.text(0.5, 0.5, "no bundle candidates", ha="center", va="center")
        ax.set_axis_off()
    else:
        mat = np.array([[p in sc.components[o] for o in bundles] for p in comps], dtype=float)
        ax.imshow(mat, cmap="Greys", vmin=0, vmax=1.5, aspect="auto")
        labels = []
        for o in bundles:
            segs = [str(sc.segment_ids[s]) for s in range(sc.n_segments)
                    if plan.solution.decision.menu_of(s)[o] != -1]
            labels.append(f"{sc.offer_ids[o]}\n(seg {','.join(segs)})" if segs else str(sc.offer_ids[o]))
        ax.set_xticks(np.arange(len(bundles)))
        ax.set_xticklabels([_label(t) for t in labels], rotation=60, ha="right", fontsize=7)
        ax.set_yticks(np.arange(len(comps)))
        ax.set_yticklabels([_label(c) for c in comps], fontsize=7)
        ax.set_xlabel("candidate bundle (segments it is offered to)")
        ax.set_ylabel("component product")
    ax.set_title("Bundle map")
    fig.tight_layout()
