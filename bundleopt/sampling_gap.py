"""The sample-average gap of plans optimised on draws of a choice model.

A mixed logit's coefficient draws, or a neural model's sampled customers, become
equally weighted segments (:mod:`bundleopt.choice.draw_segments`); the plan optimised on
R of them is exact for those R draws and optimistic for the model itself. This module
measures that optimism by scoring the plan on fresh draws. It sits above both the
choice models and the optimizer (it uses both), so that neither imports the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.choice.draw_segments import segments_of
from bundleopt.scenario import Scenario

__all__ = ["sample_average_gap"]


def sample_average_gap(
    model: Any,
    alts: Sequence[Hashable],
    prices: np.ndarray,
    costs: np.ndarray,
    n_draws: Sequence[int] = (16, 64, 256),
    seeds: Sequence[int] = (0, 1, 2),
    n_eval_draws: int = 8192,
    eval_seed: int = 12345,
    weight_kwargs: dict[str, Any] | None = None,
    solve_kwargs: dict[str, Any] | None = None,
    optimizer: Callable[[Any], Any] | None = None,
    **scenario_kwargs: Any,
) -> pd.DataFrame:
    """Plans optimised on R draws, scored in sample and on ``n_eval_draws`` fresh draws.

    ``model``: a fitted MixedLogit, TasteNet or BundleNet (anything with ``as_segments``:
    coefficient draws or sampled customers). For each R in ``n_draws`` and each seed: the scenario of :class:`DrawSegments` (R,
    seed) is solved exactly (:func:`bundleopt.solve`); its plan's expected profit is
    evaluated on those R draws (``in_sample``, the optimizer's objective) and on an
    independent set of ``n_eval_draws`` draws (``out_of_sample``, an estimate of the
    profit under the fitted mixed logit itself). ``gap = in_sample - out_of_sample`` is the
    optimism of the sample-average plan; it shrinks as R grows. ``weight_kwargs`` go to
    :func:`~bundleopt.choice.preference_weights` (price_feature, features, no_purchase),
    ``scenario_kwargs`` to :meth:`~bundleopt.scenario.Scenario.from_models` (max_offers,
    constraints, ...; a personalised scenario cannot be scored on other draws and is refused).
    ``optimizer(scenario) -> (decision, status)`` replaces :func:`bundleopt.solve` (with
    ``solve_kwargs``), e.g. exhaustive enumeration on a market small enough for it.

    Returns one row per (R, seed): ``n_draws, seed, in_sample, out_of_sample, gap,
    seconds`` (solve time), ``status``.
    """
    from bundleopt.optimize import evaluate, solve

    if scenario_kwargs.get("personalised"):
        raise ValueError("personalised menus are per draw: they cannot be scored on fresh draws")
    wk = dict(weight_kwargs or {})
    evaluation = Scenario.from_models(
        segments_of(model, n_eval_draws, eval_seed, alts), alts, prices, costs, **wk, **scenario_kwargs)
    rows = []
    for R in n_draws:
        for seed in seeds:
            sc = Scenario.from_models(segments_of(model, R, seed, alts), alts, prices, costs,
                                      **wk, **scenario_kwargs)
            t0 = time.perf_counter()
            if optimizer is None:
                sol = solve(sc, **(solve_kwargs or {}))
                decision, status = sol.decision, sol.status
            else:
                decision, status = optimizer(sc)
            seconds = time.perf_counter() - t0
            inside = evaluate(sc, decision).profit
            outside = evaluate(evaluation, decision).profit
            rows.append({"n_draws": int(R), "seed": seed, "in_sample": inside, "out_of_sample": outside,
                         "gap": inside - outside, "seconds": seconds, "status": status})
    return pd.DataFrame(rows)
