"""Instances for tests and benchmarks, and the exactness oracle: one import path.

The code is in four modules, one per job, re-exported here (the import path of the
tests, benchmarks and notebooks): :mod:`~bundleopt.optimize.instance_generators`
(:func:`random_instance`, :func:`ladder_instance`: shop-like latent-class MNL instances,
their generative model in that module's docstring), :mod:`~bundleopt.optimize.stress_cases`
(regimes meant to break the exact solver, :func:`stress_instance`, :func:`stress_case`),
:mod:`~bundleopt.optimize.stress_rule_settings` (rule families and their settings) and
:mod:`~bundleopt.optimize.exactness` (:func:`check_exactness`, :func:`bundleopt.solve`
against brute force); see formulations/evaluation_and_baselines.md.
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
