"""The main job: transactions + catalog in, a priced bundle plan out (:func:`build_plan`).

The settings are one :class:`~bundleopt.planning.config.PlanConfig`, validated before
any work. Steps, each a call into the stage (:mod:`bundleopt.planning`) that owns it::

    validate (CleaningReport kept)                       planning.load -> bundleopt.data.validate
    -> customer features + segments (KMeans/silhouette)  planning.segments -> bundleopt.segment
    -> bundle candidates (FP-growth, lift)               planning.bundles -> bundleopt.candidates
    -> choice data grouped by menu, per segment          planning.bundles -> bundleopt.data.choice_data
    -> one MNL per observable segment (JAX, float64)     planning.fitting -> bundleopt.choice.MNL
    -> preference weights on the price ladder            planning.weights
    -> Scenario (personalised per segment when asked)    planning.scenario_stage
    -> solve, evaluate status quo and baselines          planning.assessing -> bundleopt.optimize
    -> Plan (plain data)                                 planning.tables

Model of each segment ``s`` (``formulations/bundle_utility.md``): a choice occasion
of a customer of segment s picks one alternative by MNL,

    P(o | menu) = v[s, o, k(o)] / (v0[s] + sum_{o' on menu} v[s, o', k(o')]),
    v[s, o, k] = exp(ASC_s(o) + beta_s * p[o, k]),    v0[s] = 1 (no purchase, reference),

with ``p[o, k] = ladder[k] * list_price(o)`` (a bundle's list price is the sum of
its components' list prices). How a bundle gets its constant is the
``bundle_utility`` assumption:

* ``"copurchase"`` (default): a basket holding all of a bundle's components is one
  choice of the bundle at the sum of the prices paid, so ``ASC_s(b)`` is estimated
  like any other constant;
* ``"additive"``: bundles are not in the choice data; their utility is the sum of
  the components' utilities plus a synergy ``log(lift_b)``:
  ``ASC_s(b) = sum_{j in b} ASC_s(j) + log(lift_b)``.

Weights ``w_s`` are the segments' shares of choice occasions and
``market_size`` the number of occasions in the data, so expected profits are
per period as long as the data's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from bundleopt.data.validation import CleaningReport
from bundleopt.planning.assessing import assess, shop_decision, solve_plan
from bundleopt.planning.bundles import build_choices, mine_candidates
from bundleopt.planning.config import BUNDLE_UTILITIES, DEFAULT_LADDER, BundleUtility, PlanConfig
from bundleopt.planning.fitting import (
    PriceResponseUnknown,
    fit_choice_models,
    fit_menu_models,
    fit_segment_models,
)
from bundleopt.planning.load import check_segments_fit, load_data
from bundleopt.planning.progress import ProgressCallback, StageClock
from bundleopt.planning.scenario_stage import make_scenario, stock_limits
from bundleopt.planning.segments import segment_customers
from bundleopt.planning.tables import data_summary, plan_table, segment_table
from bundleopt.planning.weights import _bundle_weights, _utility_design  # noqa: F401 (their old home)
from bundleopt.scenario import Scenario
from bundleopt.solution import Solution

__all__ = ["BUNDLE_UTILITIES", "DEFAULT_LADDER", "BundleUtility", "Plan", "PlanConfig", "ProgressCallback",
           "build_plan", "fit_menu_models", "fit_segment_models", "shop_decision", "stock_limits"]


@dataclass(frozen=True)
class Plan:
    """A priced bundle plan and everything that led to it (plain data).

    Attributes
    ----------
    solution : the optimiser's :class:`~bundleopt.Solution`.
    scenario : the :class:`~bundleopt.Scenario` it solved (fitted weights, ladder, rules).
    table : one row per (segment, offered offer): ``segment``, ``offer``,
        ``components`` (``"a+b"``), ``is_bundle``, ``price``, ``list_price``,
        ``discount`` (``1 - price / list_price``), ``cost``, ``units`` (offers sold:
        a bundle counts once), ``product_units`` (a bundle of two counts two, as
        ``Solution.units``), ``revenue``, ``profit`` (expected, that segment's
        occasions, ``market_size`` scale).
    comparison : one row per plan compared: ``optimised``, ``shop`` (the shop's
        list prices: singles at list price, co-purchase of each candidate bundle at
        the sum of its components' list prices), ``status_quo`` (singles at list
        price, no bundles: ``Scenario.status_quo()``; ``shop`` and ``status_quo`` are
        the shop as it is, so they may break the plan's caps: see ``feasible``) and
        each baseline of
        :mod:`bundleopt.optimize.baselines`; columns ``plan``, ``profit``,
        ``revenue``, ``units``, ``feasible``, ``n_violations``, ``gain`` (profit
        minus the shop's), ``uplift`` (``gain / shop profit``; NaN when the shop's
        profit is not a meaningful base: :func:`bundleopt.plan_parts.headline.percent_base`)
        and ``note`` (why a baseline's row is not what its name says: the local search
        stopped at its time limit).
    profit_by_segment : plans x segments expected profit (rows as in ``comparison``).
    cleaning : the :class:`~bundleopt.data.CleaningReport` of validation.
    segments : per segment: ``segment``, ``n_customers``, ``customer_share``,
        ``n_occasions``, ``weight`` (occasion share), ``purchase_rate``,
        ``price_coef``, ``price_se`` and the mean of each customer feature.
    assignments : customer id -> segment.
    candidates : the bundle candidates (:func:`bundleopt.candidates.mine_bundles`).
    params : fitted parameters: ``segment``, ``parameter``, ``estimate``, ``std_error``.
    importance : mutual information of each customer feature with the segments.
    data_summary : counts (rows, customers, orders, products, occasions, ...).
    timings : seconds per step.
    settings : every field of the plan's :class:`~bundleopt.planning.config.PlanConfig`
        (:meth:`~bundleopt.planning.config.PlanConfig.settings`, JSON-friendly) and
        ``sessions`` (whether visits were given).
    notes : warnings worth reading (e.g. a positive price coefficient).
    headline : the gain over the status quo split into its parts
        (:class:`bundleopt.plan_parts.headline.Headline`).
    margin_gap : the status quo's modelled margin beside the observed one, the gap in
        named steps (:func:`bundleopt.plan_parts.backtest.margin_gap`).
    backtest : the model fitted on an earlier window and scored on the later one
        (:class:`bundleopt.plan_parts.backtest.Backtest`), or None (``backtest_split=None``).
    intervals : profit and uplift under draws of the fitted parameters
        (:class:`bundleopt.plan_parts.intervals.Intervals`), or None (``n_draws=None``).
    robust : the plan maximising mean profit over draws and what it gives up
        (:class:`bundleopt.plan_parts.intervals.RobustPlan`), or None (``robust_draws=None``).
    offer_reasons : per (menu, offer): its contribution and the change in the plan's
        profit if removed or moved one price step (:func:`bundleopt.plan_parts.reasons.offer_reasons`).
    rule_costs : per rule family switched on: the plan's profit without it, re-solved
        (:func:`bundleopt.plan_parts.reasons.rule_costs`).
    config : the :class:`~bundleopt.planning.config.PlanConfig` the plan was built with.
    """

    solution: Solution
    scenario: Scenario
    table: pd.DataFrame
    comparison: pd.DataFrame
    profit_by_segment: pd.DataFrame
    cleaning: CleaningReport
    segments: pd.DataFrame
    assignments: pd.Series
    candidates: pd.DataFrame
    params: pd.DataFrame
    importance: pd.Series
    data_summary: dict[str, Any]
    timings: dict[str, float]
    settings: dict[str, Any]
    notes: tuple[str, ...] = field(default_factory=tuple)
    headline: Any = None
    margin_gap: pd.DataFrame | None = None
    backtest: Any = None
    intervals: Any = None
    robust: Any = None
    offer_reasons: pd.DataFrame | None = None
    rule_costs: pd.DataFrame | None = None
    config: PlanConfig | None = None

    @property
    def profit(self) -> float:
        """Expected profit of the optimised plan."""
        return float(self.solution.profit)

    @property
    def shop_profit(self) -> float:
        """Expected profit at the shop's list prices (``comparison`` row ``shop``)."""
        return float(self.comparison.set_index("plan").at["shop", "profit"])

    @property
    def uplift(self) -> float:
        """Gain over the status quo as a share of its profit (``headline.uplift``; NaN, with
        the reason in ``headline.uplift_note``, when that profit is negative or near zero)."""
        return float(self.headline.uplift) if self.headline is not None else float("nan")

    @property
    def price_coefficients(self) -> pd.Series:
        """Fitted price coefficient ``beta_s`` per segment."""
        return self.segments.set_index("segment")["price_coef"]

    def __repr__(self) -> str:
        return (f"Plan(segments={len(self.segments)}, offers={self.scenario.n_offers}, "
                f"profit={self.profit:.6g}, shop_profit={self.shop_profit:.6g})")


def build_plan(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    config: PlanConfig | None = None,
    *,
    sessions: pd.DataFrame | None = None,
    progress: ProgressCallback | None = None,
    **settings: Any,
) -> Plan:
    """Run the whole pipeline on validated-or-raw tables and return a :class:`Plan`.

    Parameters
    ----------
    transactions, catalog : tables in :mod:`bundleopt.data`'s schema (raw: they are validated here).
    config : the settings, a :class:`~bundleopt.planning.config.PlanConfig` (its docstring
        says what each does); default ``PlanConfig()``.
    sessions : visits (observed no-purchase); else ``config.purchase_share`` is required.
    progress : ``progress(step, fraction_done)`` called as each step starts.
    **settings : the fields of ``PlanConfig`` as keyword arguments instead of ``config``
        (``build_plan(tx, cat, n_segments=2)`` is ``build_plan(tx, cat, PlanConfig(n_segments=2))``);
        giving both is an error.

    Raises ``ValueError`` (``DataValidationError``, ``InfeasibleScenarioError`` are
    ``ValueError`` too) with a message saying what to fix; a setting that is not a field
    of ``PlanConfig`` is a ``TypeError`` naming it.
    """
    config = _config(config, settings)
    clock = StageClock(progress)
    clock.start("validating data")
    clean = load_data(transactions, catalog, sessions, config)
    tx, cat = clean.transactions, clean.catalog
    clock.start("segmenting customers")
    segments = segment_customers(tx, cat, config)
    if config.n_segments is None:  # the memory check again, with the number chosen
        clean = check_segments_fit(clean, len(segments.segment_ids), config)
    clock.start("mining bundle candidates")
    candidates = mine_candidates(tx, cat, config)
    clock.start("building choice data")
    choices = build_choices(tx, cat, clean.sessions, candidates, segments.assignments,
                            segments.segment_ids, config)
    clock.start("fitting choice models")
    while True:  # a segment whose demand rises with price is merged into its nearest, and all refitted
        try:
            fitted = fit_choice_models({s: choices.grouped.menus[s] for s in segments.segment_ids}, config,
                                       progress=clock.counter("fitting choice models", len(segments.segment_ids)))
            break
        except PriceResponseUnknown as exc:  # RisingDemand too
            if len(segments.segment_ids) < 2:
                raise
            segments = segments.merged(exc.segment, exc.why)
            choices = build_choices(tx, cat, clean.sessions, candidates, segments.assignments,
                                    segments.segment_ids, config)
    clock.start("building the scenario")
    offers = make_scenario(tx, cat, candidates, fitted.models, segments.segment_ids, choices.occasions, config)
    scenario = offers.scenario
    clock.start("solving")
    solution, solve_notes = solve_plan(scenario, config)
    clock.start("evaluating baselines")
    comparison, by_segment, extras = assess(scenario, solution, clean=clean, choices=choices, fitted=fitted,
                                            segments=segments, offers=offers, config=config)
    timings = clock.finish()
    notes = (*segments.notes, *choices.notes, *fitted.notes, *offers.notes, *solve_notes)
    return Plan(
        solution=solution, scenario=scenario, table=plan_table(scenario, solution, cat),
        comparison=comparison, profit_by_segment=by_segment, cleaning=clean.report,
        segments=segment_table(segments, choices, fitted),
        assignments=segments.assignments, candidates=candidates, params=fitted.params,
        importance=segments.importance,
        data_summary=data_summary(clean, candidates, choices, offers, segments, solution),
        timings=timings, settings={**config.settings(), "sessions": sessions is not None},
        notes=notes, config=config, **extras,
    )


def _config(config: PlanConfig | None, settings: dict[str, Any]) -> PlanConfig:
    """``config``, or one built from keyword settings; both, or an unknown name, is an error."""
    if config is not None and not isinstance(config, PlanConfig):
        raise TypeError(f"config must be a PlanConfig, got {type(config).__name__}")
    if config is not None and settings:
        raise ValueError(f"give the settings either as config=PlanConfig(...) or as keyword arguments, "
                         f"not both (got config and {sorted(settings)})")
    if config is not None:
        return config
    known = {f.name for f in fields(PlanConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"build_plan() got unknown setting(s) {unknown}; the settings are the fields "
                        f"of PlanConfig: {sorted(known)}")
    return PlanConfig(**settings)
