"""What the optimizer needs of a fitted choice model: :class:`ChoiceModel`.

The optimizer's market is S segments of weight ``w_s``, each a multinomial logit whose
utility is linear in the model's terms. For offer o (an alternative id of the model) at
price level k::

    u[s, o, k] = ASC_s(o) + sum_f beta_s,f x_f[o, k] + sum_f beta_s,f_o x_f[o, k]
    v[s, o, k] = exp(u[s, o, k]),      v0[s] = exp(ASC_s(no purchase))

(:func:`~bundleopt.choice.weights.preference_weights`). So ``Scenario.from_models`` needs,
of each fitted model: which terms the utility has (``spec_``), the alternatives its
constants belong to (``alternatives_``), the coefficients of every segment
(:meth:`ChoiceModel.segment_coefficients`) and the segments' weights
(:meth:`ChoiceModel.segment_weights`). :class:`~bundleopt.choice.MNL` is one segment,
:class:`~bundleopt.choice.LatentClassMNL` one per class, and
:class:`~bundleopt.choice.MixedLogit` one per coefficient draw of its ``as_segments()``
(a :class:`~bundleopt.choice.DrawSegments`, itself a ChoiceModel). A model from elsewhere
with these four members is taken as it is
(:func:`~bundleopt.choice.weights.preference_weights` and
:func:`~bundleopt.choice.weights.segment_weights` read nothing else).

The protocol is ``runtime_checkable``: ``isinstance(model, ChoiceModel)`` is true for a
fitted model of these classes (an unfitted one has no ``spec_``). The check looks at the
names only, not their types.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from bundleopt.choice.spec import Specification


@runtime_checkable
class ChoiceModel(Protocol):
    """A fitted choice model the optimizer can act on (see the module docstring).

    Attributes:
        spec_: the utility's terms: constants ``ASC_<alt>`` (with the reference
            alternative's fixed at 0), generic features and alternative-specific ones.
        alternatives_: the alternative ids the model was fitted on, in order.
    """

    spec_: Specification
    alternatives_: pd.Index

    def segment_coefficients(self) -> pd.DataFrame:
        """S x parameters: one row per segment, columns ``spec_.param_names(alternatives_)``."""
        ...

    def segment_weights(self) -> np.ndarray:
        """(S,) the segments' weights (shares of the market, summing to 1)."""
        ...
