"""A mixed logit's population as equally weighted MNL segments, for the exact optimizer.

A mixed logit's choice probability is an expectation over the coefficients,
``P(o | S) = E_beta[ v_beta(o) / (v0_beta + sum_{o' in S} v_beta(o')) ]``. With R draws
``beta_1..beta_R`` the sample average

    P_R(o | S) = (1/R) sum_r v_r(o) / (v0_r + sum_{o' in S} v_r(o'))

is exactly a latent-class MNL with R classes of weight 1/R. So the latent-class MILP solved
on the R draws is exact for the sampled model ``P_R`` (a sample-average approximation of
the mixed logit): its optimum is optimistic for the true model on average (the plan is
fitted to these draws), and the optimism shrinks as R grows. :func:`sample_average_gap`
measures it: each plan optimised on R draws is scored on a large set of fresh draws.

:class:`DrawSegments` is a :class:`~bundleopt.choice.ChoiceModel` like a fitted
:class:`~bundleopt.choice.LatentClassMNL` (one coefficient row and weight per draw), so
:func:`~bundleopt.choice.preference_weights` and ``Scenario.from_models`` take it as is.
Sobol draws by default (scrambled, a power-of-two count balances them best).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.choice.spec import Specification

DEFAULT_SEGMENT_DRAWS = 16  # the MILP grows steeply with segments: see formulations/choice_models.md


@dataclass(frozen=True)
class DrawSegments:
    """R draws of a fitted mixed logit's coefficients, each an MNL segment of weight 1/R.

    ``table``: one row per draw (``ASC_<alt>`` and the coefficients), as
    :meth:`~bundleopt.choice.mixed_logit.MixedLogit.coefficient_draws` gives it.
    """

    spec_: Specification
    alternatives_: pd.Index
    table: pd.DataFrame

    @classmethod
    def from_model(cls, model: Any, n_draws: int = DEFAULT_SEGMENT_DRAWS, seed: int | None = None,
                   method: str = "sobol") -> DrawSegments:
        """Draw ``n_draws`` coefficient vectors of a fitted MixedLogit (``seed``: the draws'
        scrambling; default: one other than the fit's, so the segments are fresh draws)."""
        if int(n_draws) < 1:
            raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}")
        table = model.coefficient_draws(n_draws=int(n_draws), seed=seed, method=method)
        return cls(model.spec_, model.alternatives_, table)

    @property
    def shares_(self) -> np.ndarray:
        return np.full(len(self.table), 1.0 / len(self.table))

    @property
    def n_segments(self) -> int:
        return len(self.table)

    def segment_coefficients(self) -> pd.DataFrame:  # ChoiceModel
        return self.table

    def segment_weights(self) -> np.ndarray:  # ChoiceModel
        return self.shares_


def segments_of(model: Any, n_draws: int | None = None, seed: int | None = None,
                offers: Sequence[Hashable] | None = None) -> Any:
    """A population model's draws as segments: ``model.as_segments(...)`` (a MixedLogit's
    coefficient draws, a neural model's sampled customers), or ``model`` itself when it
    is already segmented (MNL, LatentClassMNL, DrawSegments). ``offers`` go to models that
    score offers from their components (:class:`~bundleopt.choice.bundle_net.BundleNet`)."""
    import inspect

    if not hasattr(model, "as_segments"):
        return model
    kwargs: dict[str, Any] = {"n_draws": n_draws, "seed": seed}
    if offers is not None and "offers" in inspect.signature(model.as_segments).parameters:
        kwargs["offers"] = list(offers)
    return model.as_segments(**kwargs)


def mixed_logit_weights(
    model: Any,
    alts: Sequence[Hashable],
    prices: np.ndarray,
    n_draws: int = DEFAULT_SEGMENT_DRAWS,
    seed: int | None = None,
    method: str = "sobol",
    **kwargs: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(v (R, O, K), v0 (R,), weights (R,) = 1/R)`` of a fitted MixedLogit for the
    optimizer: :func:`~bundleopt.choice.preference_weights` of :class:`DrawSegments`
    (``kwargs``: ``price_feature``, ``features``, ``no_purchase``)."""
    from bundleopt.choice.weights import preference_weights

    segments = DrawSegments.from_model(model, n_draws=n_draws, seed=seed, method=method)
    v, v0 = preference_weights(segments, alts, prices, **kwargs)
    return v, v0, segments.shares_


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
    from bundleopt.scenario import Scenario

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
