"""A plan as a JSON-friendly dict (``plan.json``): every field that is data, ids kept exactly."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plan_to_json"]


def _plain(value: Any) -> Any:
    """JSON-friendly copy: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return _plain(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))


def plan_to_json(plan: Any) -> dict[str, Any]:
    """Everything in a plan that is data, as a JSON-friendly dict."""
    sol = plan.solution
    head = getattr(plan, "headline", None)
    return _plain({
        "headline": head.to_dict() if head is not None else None,
        "profit": plan.profit,
        "shop_profit": plan.shop_profit,
        "gain_vs_shop": plan.profit - plan.shop_profit,
        "uplift_vs_status_quo": plan.uplift,
        "solver": {"method": sol.method, "status": sol.status, "gap": sol.gap,
                   "best_bound": sol.best_bound, "timings": sol.timings, "notes": list(sol.notes)},
        "settings": plan.settings,
        "seed": plan.settings.get("random_state"),
        "data_summary": {k: v for k, v in plan.data_summary.items() if k not in ("machine", "versions")},
        "machine": plan.data_summary.get("machine"),
        "versions": plan.data_summary.get("versions"),
        "timings": plan.timings,
        "notes": list(plan.notes),
        "plan": _records(plan.table),
        "comparison": _records(plan.comparison),
        "segments": _records(plan.segments),
        "params": _records(plan.params),
        "candidate_mining": dict(getattr(plan.candidates, "attrs", {}).get("mining") or {}) or None,
        "candidates": _records(plan.candidates.assign(
            components=plan.candidates["components"].map(lambda c: "+".join(c)))),
        "importance": _plain(plan.importance.to_dict()),
        "cleaning": _records(plan.cleaning.to_frame().assign(
            sample=lambda d: d["sample"].map(lambda s: [str(x) for x in s]))),
        "cleaning_summary": plan.cleaning.summary(),
        "margin_gap": _records(plan.margin_gap) if getattr(plan, "margin_gap", None) is not None else None,
        "backtest": _backtest_json(getattr(plan, "backtest", None)),
        "intervals": _intervals_json(getattr(plan, "intervals", None)),
        "robust_plan": _robust_json(getattr(plan, "robust", None)),
        "offer_reasons": _maybe_records(getattr(plan, "offer_reasons", None)),
        "rule_costs": _maybe_records(getattr(plan, "rule_costs", None)),
    })


def _maybe_records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    return None if frame is None else _records(frame)


def _intervals_json(iv: Any) -> dict[str, Any] | None:
    if iv is None:
        return None
    return {"level": iv.level, "note": iv.note, "table": _records(iv.table), "n_draws": len(iv.draws),
            "checks": dict(getattr(iv, "checks", {}) or {})}  # NaN -> None by _plain


def _robust_json(rb: Any) -> dict[str, Any] | None:
    if rb is None:
        return None
    return {"gives_up": rb.gives_up, "exact": rb.exact, "note": rb.note, "table": _records(rb.table),
            "levels": rb.decision.levels.tolist()}


def _backtest_json(bt: Any) -> dict[str, Any] | None:
    if bt is None:
        return None
    return {"summary": bt.summary, "by_segment": _records(bt.by_segment),
            "calibration": _records(bt.calibration)}
