"""Choice models in JAX: multinomial logit, latent-class MNL, mixed logit and TasteNet.

Data come in long format (one row per observation x alternative, see
:mod:`bundleopt.choice.long_format`). :class:`MNL` and :class:`LatentClassMNL` estimate by
exact maximum likelihood, :class:`MixedLogit` by simulated maximum likelihood (its
coefficient draws become equally weighted segments: :class:`DrawSegments`);
:func:`preference_weights` turns a fitted model into the
``v[s, o, k]`` weights of the assortment/pricing optimizer. The maths is in
``formulations/choice_models.md``. The models are scikit-learn estimators; fitted, they
satisfy :class:`ChoiceModel`, what ``Scenario.from_models`` needs. They compute in float64
inside their own methods only (:mod:`bundleopt.choice.precision`): importing this package
does not switch the process to float64.
"""

from bundleopt.choice.bundle_net import BundleNet
from bundleopt.choice.draw_segments import DrawSegments, mixed_logit_weights
from bundleopt.choice.latent_class import LatentClassMNL
from bundleopt.choice.mixed_logit import MixedLogit
from bundleopt.choice.mnl import MNL
from bundleopt.choice.neural import TasteNet
from bundleopt.choice.protocol import ChoiceModel
from bundleopt.choice.simulate import simulate_latent_class, simulate_mnl
from bundleopt.choice.weights import preference_weights, segment_weights

__all__ = [
    "MNL",
    "LatentClassMNL",
    "MixedLogit",
    "TasteNet",
    "BundleNet",
    "ChoiceModel",
    "DrawSegments",
    "mixed_logit_weights",
    "preference_weights",
    "segment_weights",
    "simulate_mnl",
    "simulate_latent_class",
]
