"""Choice models in JAX (float64): multinomial logit, latent-class MNL and mixed logit.

Data come in long format (one row per observation x alternative, see
:mod:`bundleopt.choice.long_format`). :class:`MNL` and :class:`LatentClassMNL` estimate by
exact maximum likelihood, :class:`MixedLogit` by simulated maximum likelihood (its
coefficient draws become equally weighted segments: :class:`DrawSegments`);
:func:`preference_weights` turns a fitted model into the
``v[s, o, k]`` weights of the assortment/pricing optimizer. The maths is in
``formulations/choice_models.md``.
"""

import jax

jax.config.update("jax_enable_x64", True)

from bundleopt.choice.bundle_net import BundleNet  # noqa: E402
from bundleopt.choice.draw_segments import DrawSegments, mixed_logit_weights, sample_average_gap  # noqa: E402
from bundleopt.choice.latent_class import LatentClassMNL  # noqa: E402
from bundleopt.choice.mixed_logit import MixedLogit  # noqa: E402
from bundleopt.choice.mnl import MNL  # noqa: E402
from bundleopt.choice.neural import TasteNet  # noqa: E402
from bundleopt.choice.simulate import simulate_latent_class, simulate_mnl  # noqa: E402
from bundleopt.choice.weights import preference_weights, segment_weights  # noqa: E402

__all__ = [
    "MNL",
    "LatentClassMNL",
    "MixedLogit",
    "TasteNet",
    "BundleNet",
    "DrawSegments",
    "mixed_logit_weights",
    "sample_average_gap",
    "preference_weights",
    "segment_weights",
    "simulate_mnl",
    "simulate_latent_class",
]
