"""The planner's stages, one module per job; :func:`bundleopt.pipeline.build_plan` calls them in order.

==================  ========================================================================
``config``          :class:`PlanConfig`: every setting, validated once, written out whole
``progress``        the stage clock: seconds per stage and the progress callback
``load``            stage 1: validate the tables, keep the best sellers, check memory
``segments``        stage 2: customer features and segments (privacy merge when personalised)
``bundles``         stages 3-4: bundle candidates and the menu-grouped choice data
``fitting``         stage 5: one MNL per segment, the parameter table and its notes
``weights``         preference weights of products and bundles from the fitted models
``scenario_stage``  stage 6: offers, price ladder, rules and the Scenario
``assessing``       stages 7-8: solve, compare with the shop and baselines, run the checks
``tables``          the plan's tables: per offer, per segment, the data summary
==================  ========================================================================
"""

from __future__ import annotations

from bundleopt.planning.config import PlanConfig

__all__ = ["PlanConfig"]
