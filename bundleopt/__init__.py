"""bundleopt: which bundles to offer, at which price, to each customer segment.

The public API is re-exported here. Names are resolved lazily (PEP 562) so that
``import bundleopt`` stays fast and does not start JAX or Pyomo until they are used.
No public name is also the name of a submodule of this package: importing a submodule
binds it as an attribute of the package, which would replace the public function of
the same name (``bundleopt.sweep`` lives in :mod:`bundleopt.sweeping` for that reason;
``tests/test_public_api.py`` checks every name after importing every submodule).

Pipeline::

    data -> segment -> candidates -> choice -> scenario -> optimize -> solution -> adaptive
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # choice models (JAX)
    "MNL": "bundleopt.choice",
    "LatentClassMNL": "bundleopt.choice",
    "MixedLogit": "bundleopt.choice",
    "TasteNet": "bundleopt.choice",
    "BundleNet": "bundleopt.choice",
    "ChoiceModel": "bundleopt.choice",
    "preference_weights": "bundleopt.choice",
    "sample_average_gap": "bundleopt.sampling_gap",
    # optimisation
    "Scenario": "bundleopt.scenario",
    "Constraints": "bundleopt.scenario",
    "Solution": "bundleopt.solution",
    "solve": "bundleopt.optimize",
    "TighteningOptions": "bundleopt.optimize",
    "StageRecord": "bundleopt.solution",
    "evaluate": "bundleopt.optimize",
    "Decision": "bundleopt.scenario",
    "brute_force": "bundleopt.optimize.brute_force",
    # data, segments, candidates
    "validate": "bundleopt.data",
    "build_choice_data": "bundleopt.data",
    "CustomerSegmenter": "bundleopt.segment",
    "customer_features": "bundleopt.segment",
    "mine_bundles": "bundleopt.candidates",
    # end to end
    "build_plan": "bundleopt.pipeline",
    "Plan": "bundleopt.pipeline",
    "PlanConfig": "bundleopt.pipeline",
    "write_report": "bundleopt.report",
    # many scenarios, closed loop
    "sweep": "bundleopt.sweeping",
    "sweep_table": "bundleopt.sweeping",
    "SweepResult": "bundleopt.sweeping",
    "run_simulation": "bundleopt.adaptive",
    "ThompsonPolicy": "bundleopt.adaptive",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bundleopt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
