"""Stage 1 of the planner: the user's tables validated (bad rows dropped and reported, or an
error), optionally cut to the best-selling products, and the run's memory checked up front."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from bundleopt.data.validation import CleaningReport, validate
from bundleopt.planning.config import PlanConfig

__all__ = ["CleanData", "check_segments_fit", "load_data"]


@dataclass(frozen=True)
class CleanData:
    """Validated tables (:func:`bundleopt.data.validate`), the cleaning report and the
    resource estimate of the heavy stages (:mod:`bundleopt.choice.resources`)."""

    transactions: pd.DataFrame
    catalog: pd.DataFrame
    sessions: pd.DataFrame | None
    report: CleaningReport
    resources: Any


def load_data(transactions: pd.DataFrame, catalog: pd.DataFrame, sessions: pd.DataFrame | None,
              config: PlanConfig) -> CleanData:
    """Validate the tables under ``config.errors``, keep the ``config.max_products`` best
    sellers (reported), and stop at once when the memory the run needs is not there."""
    if sessions is None and config.purchase_share is None:
        raise ValueError("no-purchase is not observed: give sessions (visits) or purchase_share "
                         "(the share of shop visits that end in a purchase, e.g. 0.3)")
    if sessions is not None and config.purchase_share is not None:
        raise ValueError("give sessions (visits: the no-purchase share observed) or purchase_share "
                         "(the share assumed), not both: one of them would be ignored")
    checked = validate(transactions, catalog, sessions=sessions, errors=config.errors)
    tx, report = checked.transactions, checked.report
    if checked.sessions is not None and checked.sessions["order_id"].notna().all():
        raise ValueError(f"sessions: every one of the {len(checked.sessions)} visits has an order, so no "
                         "visit ends without a purchase and the plan would raise every price: give the "
                         "visits without an order too (order_id empty), or purchase_share instead of sessions")
    if config.max_products is not None:
        tx = _top_products(tx, config.max_products, report)
    # before segmentation the count is known only when given: the fewest the run may fit
    # (stop now if even that cannot fit); re-checked with the chosen count by check_segments_fit
    resources = _check_resources(tx, config.n_segments or min(config.k_range), config.max_candidates)
    return CleanData(tx, checked.catalog, checked.sessions, report, resources)


def check_segments_fit(clean: CleanData, n_segments: int, config: PlanConfig) -> CleanData:
    """The resource check again with the number of segments segmentation chose (the heavy
    stages, choice data and fits, come after it), ``clean`` with that estimate."""
    from dataclasses import replace

    return replace(clean, resources=_check_resources(clean.transactions, n_segments, config.max_candidates))


def _top_products(tx: pd.DataFrame, n: int, report: CleaningReport) -> pd.DataFrame:
    """Keep the lines of the ``n`` products bought in the most orders (reported)."""
    counts = tx.groupby("product_id")["order_id"].nunique().sort_values(ascending=False, kind="stable")
    keep = set(counts.index[:n])
    out = ~tx["product_id"].isin(keep)
    report.add("transactions", "not_top_product", "product_id", tx[out])
    report.n_rows_out["transactions"] = int((~out).sum())
    return tx[~out].reset_index(drop=True)


def _check_resources(tx: pd.DataFrame, n_segments: int, max_candidates: int | None) -> Any:
    """Estimate memory and time of the heavy stages from the data's size and stop at once,
    naming the option that helps, when the memory is not there
    (:mod:`bundleopt.choice.resources`)."""
    from bundleopt.choice.resources import check_memory, estimate_plan_resources

    stamps = tx["timestamp"]
    n_periods = int((stamps.max().normalize() - stamps.min().normalize()).days) + 1 if len(tx) else 1
    estimate = estimate_plan_resources(
        n_lines=len(tx), n_customers=int(tx["customer_id"].nunique()),
        n_products=int(tx["product_id"].nunique()), n_candidates=int(max_candidates or 0),
        n_periods=n_periods, n_segments=int(n_segments))
    check_memory(estimate)
    return estimate
