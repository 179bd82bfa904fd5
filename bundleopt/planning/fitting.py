"""Stage 5 of the planner: one MNL per segment (an ``ASC`` per alternative, one price
coefficient, the no-purchase alternative the reference) fitted on the choice data, and the
fitted parameters as a table with the notes a reader needs (unidentified parameters, a fit
that did not converge, a price coefficient >= 0).

:func:`bundleopt.choice.segment_fits.fit_menu_models` fits menu-grouped data (what the
planner uses); :func:`~bundleopt.choice.segment_fits.fit_segment_models` the same model on
long-format data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.choice.segment_fits import fit_menu_models, fit_segment_models  # one MNL per segment
from bundleopt.planning.config import PlanConfig

__all__ = ["FittedModels", "PriceResponseUnknown", "RisingDemand", "fit_choice_models", "fit_menu_models",
           "fit_segment_models"]


class PriceResponseUnknown(ValueError):
    """A segment's fit says nothing usable about how its demand responds to price: the
    price coefficient is not identified, diverges (separation) or is >= 0. ``why``: the
    reason in words, for the note when the planner merges the segment into its nearest."""

    def __init__(self, message: str, segment: Any, why: str) -> None:
        super().__init__(message)
        self.segment = segment
        self.why = why


class RisingDemand(PriceResponseUnknown):
    """A segment's fitted price coefficient is >= 0 (demand rising with price)."""

    def __init__(self, message: str, segment: Any, coefficient: float) -> None:
        super().__init__(message, segment, f"its fitted price coefficient was {coefficient:.3g} >= 0 "
                         "(demand rising with price: too few choices to estimate it)")
        self.coefficient = coefficient


def _check_price_response(s: Any, model: Any, menus: Any) -> None:
    """:class:`PriceResponseUnknown` when segment ``s``'s price coefficient is not identified
    or diverges: a plan would then price on a coefficient the data never pinned down
    (kept at 0, every price at the top of the ladder)."""
    scale = float(np.max(np.abs(menus.X), initial=0.0)) if menus is not None else 0.0
    unit = (f"; prices reach {scale:.3g}: give them in a currency unit (e.g. euros, not 1e-6 cents)"
            if scale > 1e12 or 0 < scale < 1e-9 else "")
    if "price" in model.unidentified_:
        why = "the data do not identify its price coefficient (no price variation apart from each offer's constant)"
        raise PriceResponseUnknown(
            f"segment {s}: the data do not identify the price coefficient: no offer's price varies "
            "in a way its constant does not explain (every line at one price per product, or one "
            "day of data?), so how demand responds to price cannot be learned; give data where "
            f"prices changed (promotions, price changes, more days){unit}", s, why)
    if "price" in model.separated_:
        why = "its choices are predicted perfectly with a price coefficient growing without bound (separation)"
        raise PriceResponseUnknown(
            f"segment {s}: the choices are predicted perfectly with the price coefficient growing "
            "without bound (separation: no finite estimate), so how demand responds to price cannot "
            f"be learned; give more data (more days, customers, price changes){unit}", s, why)


@dataclass(frozen=True)
class FittedModels:
    """``models``: segment -> fitted MNL; ``params``: ``segment``, ``parameter``, ``estimate``,
    ``std_error``; ``notes``: what the fits could not settle."""

    models: dict[Any, Any]
    params: pd.DataFrame
    notes: tuple[str, ...]


def fit_choice_models(menus: Mapping[Any, Any], config: PlanConfig,
                      progress: Callable[[Any], None] | None = None) -> FittedModels:
    """One MNL per segment on ``menus`` (segment -> MenuChoices, :func:`fit_menu_models`).

    A segment whose price coefficient the data do not identify, or whose fit separates
    (the coefficient diverges), is a :class:`PriceResponseUnknown` error naming it. A
    segment whose fitted price coefficient is >= 0 (demand rising with price) is a
    :class:`RisingDemand` error naming it unless ``config.allow_positive_price_coef``
    (then a note: its prices go to the top of the ladder); the planner answers it by
    merging that segment into its nearest and fitting again (:func:`bundleopt.pipeline.build_plan`).
    """
    from bundleopt.choice.fitting import single_blas_thread

    with single_blas_thread():  # many small dense solves: one BLAS thread is 4x faster under load
        models = fit_menu_models(menus, smoothing=config.smoothing, progress=progress)
    for s, m in models.items():
        _check_price_response(s, m, menus.get(s))
    rows, notes = [], []
    for s, m in models.items():
        for name, est in m.params_.items():
            rows.append({"segment": s, "parameter": name, "estimate": float(est),
                         "std_error": float(m.std_errors_[name])})
        if m.separated_ or m.unidentified_:
            notes.append(f"segment {s}: parameters not identified by the data: "
                         f"{', '.join(m.separated_ + m.unidentified_)}")
        if not m.converged_:
            notes.append(f"segment {s}: the MNL fit did not converge ({m.fit_result_.message})")
    rising = {s: float(m.params_["price"]) for s, m in models.items() if m.params_["price"] >= 0}
    for s, b in rising.items():
        if not config.allow_positive_price_coef:
            raise RisingDemand(
                f"segment {s}: fitted price coefficient {b:.3g} >= 0 (demand rising with price; "
                f"{len(rising)} of {len(models)} segment(s)): check its prices for outliers or use "
                "fewer segments, or allow it with allow_positive_price_coef=True", s, b)
        notes.append(f"segment {s}: price coefficient {b:.3g} >= 0 (allowed); "
                     "its prices go to the top of the ladder")
    params = pd.DataFrame(rows, columns=["segment", "parameter", "estimate", "std_error"])
    return FittedModels(models, params, tuple(notes))
