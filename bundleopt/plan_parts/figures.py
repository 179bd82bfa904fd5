"""Figures of the plan's checks (backtest calibration, intervals), drawn with matplotlib (Agg).

Each ``draw_*`` draws on a given figure (the report saves it); every axis names its unit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["draw_calibration", "draw_intervals"]


def draw_calibration(backtest: Any, fig: Any) -> None:
    """Predicted vs observed purchase occasions per (segment, offer) in the later window.

    Dots: one (segment, offer); squares: means per decile of the prediction; the
    diagonal is a perfect prediction. Log axes (counts span orders of magnitude).
    """
    ax = fig.add_subplot()
    if backtest is None or backtest.by_offer.dropna(subset=["predicted"]).empty:
        ax.text(0.5, 0.5, "no backtest (build_plan(backtest_split=...) / --backtest)",
                ha="center", va="center")
        ax.set_axis_off()
        return
    data = backtest.by_offer.dropna(subset=["predicted"])
    pred, obs = data["predicted"].to_numpy(float), data["observed"].to_numpy(float)
    floor = 0.5  # zero counts shown on the log scale at 0.5
    ax.scatter(np.maximum(pred, floor), np.maximum(obs, floor), s=10, alpha=0.5, label="segment x offer")
    cal = backtest.calibration
    ax.scatter(np.maximum(cal["predicted"], floor), np.maximum(cal["observed"], floor), marker="s",
               color="tab:red", s=30, label="mean per decile of prediction")
    hi = max(float(np.max(pred, initial=1.0)), float(np.max(obs, initial=1.0)), 1.0) * 1.5
    ax.plot([floor, hi], [floor, hi], color="0.4", lw=1, label="perfect prediction")
    ax.set_xscale("log")
    ax.set_yscale("log")
    s = backtest.summary
    ax.set_xlabel(f"predicted purchase occasions, {s['test_window']}")
    ax.set_ylabel("observed purchase occasions")
    ax.set_title(f"Backtest: model fitted up to {s['split_day']} (excl.), scored after "
                 f"(weighted abs. error {s['wape']:.0%})", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()


def draw_intervals(intervals: Any, fig: Any) -> None:
    """Profit of the plan and of the status quo under each parameter draw (histograms)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax = fig.add_subplot()
    if intervals is None or intervals.draws.empty:
        ax.text(0.5, 0.5, "no intervals (build_plan(n_draws=...) / --draws)", ha="center", va="center")
        ax.set_axis_off()
        return
    d = intervals.draws
    bins = min(30, max(5, len(d) // 5))
    ax.hist(d["status_quo_profit"], bins=bins, alpha=0.6, label="status quo")
    ax.hist(d["plan_profit"], bins=bins, alpha=0.6, label="plan")
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))  # no "1e6" offset to decode
    ax.set_xlabel("expected profit per data period (currency of the catalog)")
    ax.set_ylabel("parameter draws")
    ax.set_title(f"Profit under {len(d)} draws of the fitted parameters", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
