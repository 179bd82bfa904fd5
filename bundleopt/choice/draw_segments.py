"""A mixed logit's population as equally weighted MNL segments, for the exact optimizer.

A mixed logit's choice probability is an expectation over the coefficients,
``P(o | S) = E_beta[ v_beta(o) / (v0_beta + sum_{o' in S} v_beta(o')) ]``. With R draws
``beta_1..beta_R`` the sample average

    P_R(o | S) = (1/R) sum_r v_r(o) / (v0_r + sum_{o' in S} v_r(o'))

is exactly a latent-class MNL with R classes of weight 1/R. So the latent-class MILP solved
on the R draws is exact for the sampled model ``P_R`` (a sample-average approximation of
the mixed logit): its optimum is optimistic for the true model on average (the plan is
fitted to these draws), and the optimism shrinks as R grows. :func:`bundleopt.sampling_gap.sample_average_gap`
measures it: each plan optimised on R draws is scored on a large set of fresh draws.

:class:`DrawSegments` is a :class:`~bundleopt.choice.ChoiceModel` like a fitted
:class:`~bundleopt.choice.LatentClassMNL` (one coefficient row and weight per draw), so
:func:`~bundleopt.choice.preference_weights` and ``Scenario.from_models`` take it as is.
Sobol draws by default (scrambled, a power-of-two count balances them best).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
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
