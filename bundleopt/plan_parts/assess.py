"""Everything a shop owner reads beside the plan, computed after the solve (one call).

:func:`assess_plan` runs, in order: the decomposed headline, the modelled-vs-observed
margin, the backtest (optional), the intervals and the robust plan (optional), and
the reasons per offer and per rule. It returns the :class:`~bundleopt.pipeline.Plan`
fields they fill, so :func:`bundleopt.pipeline.build_plan` stays a list of steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["assess_plan"]


def assess_plan(
    scenario: Any,
    solution: Any,
    comparison: pd.DataFrame,
    *,
    solve: Callable[[Any], Any],
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    models: Mapping[Any, Any],
    weights_of: Callable[[Mapping[Any, Any]], np.ndarray],
    backtest_args: dict[str, Any] | None,
    n_draws: int | None,
    robust_draws: int | None,
    random_state: int = 0,
    blas_threads: int | None = 1,
) -> dict[str, Any]:
    """The plan's checks and explanations (module docstring); ``backtest_args`` are the
    keyword arguments of :func:`~bundleopt.plan_parts.backtest.backtest` (None: no backtest).

    ``blas_threads`` limits the BLAS thread pool for the whole stage (threadpoolctl; None:
    as it is). Its dense algebra is a few operations on p x p matrices with p the number of
    offers (the covariance's eigen-decomposition per segment, the backtest's Newton
    systems), between JAX and solver calls. Measured on the 2-core machine shared with
    other jobs (load ~15), ``eigh`` and ``solve`` of a 1010 x 1010 matrix took 8.1-9.5 s
    with OpenBLAS's default two threads and 1.2-1.4 s with one.
    """
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads, user_api="blas") if blas_threads else nullcontext():
        return _assess(scenario, solution, comparison, solve=solve, transactions=transactions, catalog=catalog,
                       models=models, weights_of=weights_of, backtest_args=backtest_args, n_draws=n_draws,
                       robust_draws=robust_draws, random_state=random_state)


def _assess(scenario: Any, solution: Any, comparison: pd.DataFrame, *, solve: Callable[[Any], Any],
            transactions: pd.DataFrame, catalog: pd.DataFrame, models: Mapping[Any, Any],
            weights_of: Callable[[Mapping[Any, Any]], np.ndarray], backtest_args: dict[str, Any] | None,
            n_draws: int | None, robust_draws: int | None, random_state: int) -> dict[str, Any]:
    from bundleopt.plan_parts.backtest import backtest, margin_gap
    from bundleopt.plan_parts.headline import decompose_gain
    from bundleopt.plan_parts.intervals import parameter_intervals, robust_plan
    from bundleopt.plan_parts.reasons import offer_reasons, rule_costs

    decision = solution.decision
    sq_profit = float(comparison.set_index("plan").at["status_quo", "profit"])
    return {
        "headline": decompose_gain(scenario, decision, solve=solve),
        "margin_gap": margin_gap(transactions, catalog, sq_profit),
        "backtest": None if backtest_args is None else backtest(transactions, catalog, **backtest_args),
        "intervals": None if n_draws is None else parameter_intervals(
            scenario, decision, models, weights_of, n_draws=int(n_draws), random_state=random_state),
        "robust": None if robust_draws is None else robust_plan(
            scenario, decision, models, weights_of, n_draws=int(robust_draws),
            random_state=random_state + 1, solve=solve),
        "offer_reasons": offer_reasons(scenario, decision),
        "rule_costs": rule_costs(scenario, solution.profit, solve=solve),
    }
