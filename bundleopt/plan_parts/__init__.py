"""Parts of a plan a shop owner reads beside the optimiser's answer (one job per module).

* :mod:`~bundleopt.plan_parts.headline`: the gain against the shop as it is, split
  into its parts by exact re-evaluation of intermediate decisions;
* :mod:`~bundleopt.plan_parts.controls`: shop-owner controls on the price ladder
  (maximum price change, price points, products kept on sale);
* :mod:`~bundleopt.plan_parts.backtest`: the model fitted on an earlier window and
  scored on a later one;
* :mod:`~bundleopt.plan_parts.intervals`: profit and uplift under parameter draws;
* :mod:`~bundleopt.plan_parts.reasons`: why each offer and each rule is in the plan.

Nothing here is imported by ``import bundleopt``.
"""
