"""The closed loop: observe sales, update the choice model, re-price.

:class:`Market` simulates customers under a known true latent-class MNL (optionally
drifting); :class:`ThompsonPolicy` offers a plan, learns a Bayesian MNL from the sales and
re-optimises with :func:`bundleopt.solve`; :func:`run_simulation` runs them against the
oracle that knows the truth and reports revenue, profit and regret per period. The maths
is in ``formulations/adaptive.md``.
"""

from bundleopt.adaptive.loop import SimulationResult, plot_simulation, run_simulation
from bundleopt.adaptive.market import NO_PURCHASE, Catalog, Market, benchmark_market
from bundleopt.adaptive.policy import ThompsonPolicy

__all__ = [
    "NO_PURCHASE",
    "Catalog",
    "Market",
    "SimulationResult",
    "ThompsonPolicy",
    "benchmark_market",
    "plot_simulation",
    "run_simulation",
]
