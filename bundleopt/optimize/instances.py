"""Random latent-class MNL pricing instances for tests and benchmarks.

The generative model follows the assortment-optimisation literature (Bront,
Méndez-Díaz & Vulcano 2009; Méndez-Díaz, Miranda-Bront, Vulcano & Zabala 2014):
each segment considers a random subset of the offers and chooses among them by an
MNL, extended here with a price ladder and with bundles.

Generative model (``rng = numpy.random.default_rng(seed)``; J singles, B bundles,
``J + B = n_offers``; S segments; K levels):

* list prices ``P_j ~ U(price_range)`` for singles;
* ladder discounts ``d_k = linspace(min_discount, 1, K)`` (``d = (1,)`` when K = 1),
  prices ``p[o, k] = P_o * d_k``; the list level is the top one (``k = K - 1``);
* single costs ``c_j = P_j * min_discount * U(cost_ratio)``, so every level of every
  offer sells above cost;
* bundles: distinct random component sets of 2 to ``max_bundle_size`` singles,
  ``c_b = sum_j c_j``, ``P_b = (1 - delta_b) * sum_j P_j`` with
  ``delta_b ~ U(bundle_discount)``; since ``delta_b <= 0.25`` and the cost ratio is at
  most 0.7, every bundle level also sells above cost;
* segments: weights ``w ~ Dirichlet(1, ..., 1)``; price sensitivities
  ``beta_s = b_s / mean_j P_j`` with ``b_s ~ U(sensitivity)`` (``beta_s > 0``);
* consideration sets: segment s considers offer o with probability ``consideration``
  (at least one single per segment); a bundle is considered when at least one of its
  components is;
* utilities ``u[s, o] = beta_s * R_o + eta[s, o]`` with taste shocks
  ``eta[s, j] ~ N(0, taste_sd)`` for singles, reference price ``R_j = P_j``; for a
  bundle ``R_b = sum_j P_j`` (customers value it as its components) and
  ``eta[s, b] = log sum_{j in b, considered} exp(eta[s, j]) + N(synergy, synergy_sd)``,
  so a bundle's utility can exceed its components';
* preference weights ``v[s, o, k] = exp(u[s, o] - beta_s p[o, k])`` for considered
  offers, 0 otherwise;
* no-purchase weights ``v0[s] = r / (1 - r) * sum_{singles j} v[s, j, list]`` with
  ``r = no_purchase_share``: with all singles at list price, a share r of segment s
  buys nothing.

The second half of the module builds instances meant to break the exact solver rather
than to look like a shop (:func:`stress_instance`, :func:`stress_case`: preference
weights over many orders of magnitude, tiny or huge no-purchase weights, extreme
segment weights, costs above ladder prices, tied ladders, prices in currency units,
each rule family alone and mixed), and the oracle that compares :func:`bundleopt.solve`
with brute force on them (:func:`check_exactness`); see
formulations/evaluation_and_baselines.md.

The code is in four modules, one per job, re-exported here (the import path of the
tests, benchmarks and notebooks): :mod:`~bundleopt.optimize.instance_generators`
(:func:`random_instance`, :func:`ladder_instance`), :mod:`~bundleopt.optimize.stress_cases`
(regimes, :func:`stress_instance`, :func:`stress_case`),
:mod:`~bundleopt.optimize.stress_rule_settings` (rule families and their settings) and
:mod:`~bundleopt.optimize.exactness` (:func:`check_exactness`).
"""

from __future__ import annotations

from bundleopt.optimize.exactness import OUTCOMES, ExactnessCheck, check_exactness, profit_scale
from bundleopt.optimize.instance_generators import ladder_instance, random_instance
from bundleopt.optimize.stress_cases import (
    EXTRA_REGIMES,
    EXTRA_SEEDS,
    ODDS_CAP,
    STRESS_REGIMES,
    StressCase,
    stress_case,
    stress_instance,
)
from bundleopt.optimize.stress_rule_settings import (
    RULE_FAMILIES,
    active_settings,
    rules_at_equality,
    stress_rules,
)

__all__ = ["EXTRA_REGIMES", "EXTRA_SEEDS", "ODDS_CAP", "OUTCOMES", "RULE_FAMILIES", "STRESS_REGIMES",
           "ExactnessCheck", "StressCase", "active_settings", "check_exactness", "ladder_instance",
           "profit_scale", "random_instance", "rules_at_equality", "stress_case", "stress_instance", "stress_rules"]
