"""The main job: transactions + catalog in, a priced bundle plan out (:func:`build_plan`).

Steps, each a call into the stage that owns it::

    validate (CleaningReport kept)                       bundleopt.data.validate
    -> customer features + segments (KMeans/silhouette)  bundleopt.segment
    -> bundle candidates (FP-growth, lift)               bundleopt.candidates
    -> choice data grouped by menu, per segment          bundleopt.data.choice_data.build_menu_choices
    -> one MNL per observable segment (JAX, float64)     bundleopt.choice.MNL
    -> preference weights on the price ladder            bundleopt.choice.preference_weights
    -> Scenario (personalised per segment when asked)    bundleopt.scenario
    -> solve, evaluate status quo and baselines          bundleopt.optimize
    -> Plan (plain data)

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

import math
import platform
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from bundleopt.data.schemas import NO_PURCHASE
from bundleopt.data.validate import CleaningReport, validate
from bundleopt.scenario import NOT_OFFERED, Constraints, Decision, Scenario
from bundleopt.solution import Solution

__all__ = ["BUNDLE_UTILITIES", "Plan", "ProgressCallback", "build_plan", "fit_menu_models",
           "fit_segment_models", "stock_limits"]

#: ``progress(step, fraction)``: called when a step starts (``fraction`` of the job done, 0..1).
ProgressCallback = Callable[[str, float], None]

BUNDLE_UTILITIES = ("copurchase", "additive")
BundleUtility = Literal["copurchase", "additive"]
#: price levels as multiples of the list price: up to 20 % below and 20 % above list
DEFAULT_LADDER = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2)

# share of the whole job each step accounts for (for progress bars)
_STEPS = (
    ("validating data", 0.02),
    ("segmenting customers", 0.18),
    ("mining bundle candidates", 0.05),
    ("building choice data", 0.05),
    ("fitting choice models", 0.45),
    ("building the scenario", 0.02),
    ("solving", 0.15),
    ("evaluating baselines", 0.08),
)


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
        minus the shop's) and ``uplift`` (``gain / shop profit``; NaN when the shop's
        profit is not a meaningful base: :func:`bundleopt.plan_parts.headline.percent_base`).
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
    settings : the arguments of :func:`build_plan` (JSON-friendly).
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


# --------------------------------------------------------------------------- checks
def _check_args(
    n_segments: int | None, max_bundles: int | None, max_offers: int | None,
    min_margin: float | None, ladder: Sequence[float], bundle_utility: str,
    purchase_share: float | None, sessions: pd.DataFrame | None, smoothing: float,
    max_bundle_size: int, min_support: float, min_lift: float, max_products: int | None,
    max_candidates: int | None = None, max_ladder: float = 10.0,
) -> tuple[float, ...]:
    """Reject bad arguments with one clear message; return the ladder, sorted, with 1.0.

    Ladder levels are multiples of the list price: finite, > 0 and at most
    ``max_ladder`` (10 x the list price: beyond that a level is a typo, and prices
    such as 1e308 overflow the preference weights ``exp(beta p)``).
    """
    if n_segments is not None and (not _is_int(n_segments) or n_segments < 1):
        raise ValueError(f"n_segments must be a positive integer or None (choose), got {n_segments!r}")
    for name, value in (("max_bundles", max_bundles), ("max_offers", max_offers),
                        ("max_candidates", max_candidates)):
        if value is not None and (not _is_int(value) or value < 0):
            raise ValueError(f"{name} must be a non-negative integer or None, got {value!r}")
    if max_products is not None and (not _is_int(max_products) or max_products < 1):
        raise ValueError(f"max_products must be an integer >= 1 (keep the N best sellers) or None "
                         f"(all products), got {max_products!r}")
    if max_offers == 0:
        raise ValueError("max_offers must be at least 1 (a plan offers something)")
    if min_margin is not None and not (math.isfinite(min_margin) and 0 <= min_margin < 1):
        raise ValueError(f"min_margin must be in [0, 1), got {min_margin!r}")
    try:
        lad = [float(x) for x in ladder]
    except (TypeError, ValueError):
        raise ValueError(f"ladder must be numbers (multiples of the list price), got {ladder!r}") from None
    if not lad or not all(math.isfinite(x) and 0 < x <= max_ladder for x in lad):
        raise ValueError(f"ladder must be multiples of the list price in (0, {max_ladder:g}], "
                         f"e.g. 0.8,0.9,1.0,1.1; got {list(ladder)!r}")
    if len(set(lad)) != len(lad):
        raise ValueError(f"ladder has repeated levels: {lad}")
    if bundle_utility not in BUNDLE_UTILITIES:
        raise ValueError(f"bundle_utility must be one of {BUNDLE_UTILITIES}, got {bundle_utility!r}")
    if sessions is None and purchase_share is None:
        raise ValueError("no-purchase is not observed: give sessions (visits) or purchase_share "
                         "(the share of shop visits that end in a purchase, e.g. 0.3)")
    if purchase_share is not None and not (math.isfinite(purchase_share) and 0 < purchase_share <= 1):
        raise ValueError(f"purchase_share must be in (0, 1], got {purchase_share!r}")
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise ValueError(f"smoothing must be >= 0, got {smoothing!r}")
    if int(max_bundle_size) != max_bundle_size or max_bundle_size < 2:
        raise ValueError(f"max_bundle_size must be an integer >= 2, got {max_bundle_size!r}")
    if not (0 < min_support <= 1):
        raise ValueError(f"min_support must be in (0, 1], got {min_support!r}")
    if not (math.isfinite(min_lift) and min_lift > 0):
        raise ValueError(f"min_lift must be > 0, got {min_lift!r}")
    if 1.0 not in lad:
        lad.append(1.0)  # the list price: the shop's status quo needs it
    return tuple(sorted(lad))


def _is_int(value: object) -> bool:
    """An integer (``3`` or ``3.0``), not a bool, a string or NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return False
    return math.isfinite(value) and int(value) == value


def _constraints(max_offers: int | None, max_bundles: int | None, min_margin: float | None,
                 no_arbitrage: bool, extra: Mapping[str, Any] | None) -> Constraints:
    """The business rules; ``extra`` (Constraints fields) overrides the arguments."""
    rules: dict[str, Any] = {"max_offers": max_offers, "max_bundles": max_bundles,
                             "min_margin": min_margin, "min_bundle_discount": 0.0 if no_arbitrage else None}
    rules.update(extra or {})
    unknown = sorted(set(rules) - set(Constraints.__dataclass_fields__))
    if unknown:
        raise ValueError(f"unknown constraint(s) {unknown}; known: {sorted(Constraints.__dataclass_fields__)}")
    return Constraints(**rules)


# --------------------------------------------------------------------------- steps
def stock_limits(catalog: pd.DataFrame, transactions: pd.DataFrame,
                 products: Sequence[str]) -> dict[str, float]:
    """The catalog's ``stock`` as the stock rule's limit on each product's expected purchases.

    Units: ``stock`` counts product units available over a period as long as the
    data's (the plan's horizon). The model counts purchases: ``market_size`` is the
    number of choice occasions in the data, and an occasion choosing offer ``o``
    takes one of each of its components, so the stock rule
    (``formulations/rules.md``) bounds
    ``market_size * sum_s w_s * sum_o n[o, j] P_s(o)``, the expected purchases of
    ``j`` per data period. A purchase of ``j`` took on average
    ``q_j = sum of quantities / number of (order, product) lines`` units, so the
    limit handed to the rule is ``stock_j / q_j`` purchases. A missing stock is no
    limit; stock 0 means ``j`` is sold neither alone nor in a bundle.
    """
    if "stock" not in catalog.columns:
        return {}
    stock = catalog.set_index("product_id")["stock"].reindex(list(products)).dropna()
    if stock.empty:
        return {}
    per_line = transactions.groupby(["order_id", "product_id"], sort=False)["quantity"].sum()
    q = per_line.groupby(level="product_id").mean().reindex(stock.index).fillna(1.0)
    return {str(p): float(n / q[p]) for p, n in stock.items()}


def _top_products(tx: pd.DataFrame, n: int, report: CleaningReport) -> pd.DataFrame:
    """Keep the lines of the ``n`` products bought in the most orders (reported)."""
    counts = tx.groupby("product_id")["order_id"].nunique().sort_values(ascending=False, kind="stable")
    keep = set(counts.index[:n])
    out = ~tx["product_id"].isin(keep)
    report.add("transactions", "not_top_product", "product_id", tx[out])
    report.n_rows_out["transactions"] = int((~out).sum())
    return tx[~out].reset_index(drop=True)


def _codes(column: pd.Series) -> np.ndarray:
    """Integer codes of an id column (categorical codes when it is one: no string copies)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy()
    return pd.factorize(column.astype(str), sort=False)[0]


def _rectangle(choice: pd.DataFrame, alts: pd.Index) -> tuple[np.ndarray, ...]:
    """(n_obs, J) arrays ``price``, ``available``, ``chosen`` of a long-format frame."""
    obs_codes, obs_ids = pd.factorize(_codes(choice["obs"]), sort=False)
    col = choice["alt"]
    if isinstance(col.dtype, pd.CategoricalDtype):  # map the few categories, not every row
        alt_codes = alts.get_indexer(col.cat.categories.astype(str))[col.cat.codes.to_numpy()]
    else:
        alt_codes = alts.get_indexer(col.astype(str))
    n, j = len(obs_ids), len(alts)
    price = np.zeros((n, j))
    avail = np.zeros((n, j), dtype=np.int8)
    chosen = np.zeros((n, j), dtype=np.int8)
    price[obs_codes, alt_codes] = choice["price"].to_numpy(dtype=float)
    avail[obs_codes, alt_codes] = choice["available"].to_numpy()
    chosen[obs_codes, alt_codes] = choice["chosen"].to_numpy()
    return price, avail, chosen


def fit_segment_models(
    choice: pd.DataFrame,
    segments: Sequence[Any],
    *,
    smoothing: float = 0.5,
    max_lbfgs: int = 0,
    progress: Callable[[Any], None] | None = None,
    tol: float = 1e-12,
) -> dict[Any, Any]:
    """One MNL (``ASC`` per alternative, one price coefficient) per segment.

    ``choice`` is :func:`bundleopt.data.build_choice_data` output with a ``segment``
    column; the no-purchase alternative is the reference (``v0 = 1``). Two devices
    keep the fits fast and finite:

    * **smoothing**: every alternative gets one pseudo-occasion choosing it (all
      alternatives available, at the segment's median listed prices) with weight
      ``smoothing``, so an alternative a segment never chose gets a small finite
      constant instead of ``-inf`` (additive smoothing of choice counts);
    * **padding**: every segment's data is padded with zero-weight copies to a
      common number of occasions, so JAX compiles the likelihood once for all
      segments; when that would more than double the work (very unequal
      segments), each is padded to the next power of two instead (few compiles).

    The log-likelihood is concave and has few parameters (one constant per
    alternative and the price coefficient), so the fit is damped Newton with the
    exact Hessian from zero (``max_lbfgs = 0`` L-BFGS steps first): 6-10 steps
    here, where L-BFGS took 170-250 iterations on make_market.

    Returns ``{segment: fitted MNL}``.
    """
    from bundleopt.choice import MNL

    alt_col = choice["alt"]
    if isinstance(alt_col.dtype, pd.CategoricalDtype):
        present = alt_col.cat.categories[np.unique(alt_col.cat.codes.to_numpy())]
        alts = pd.Index(present.astype(str)).sort_values()
    else:
        alts = pd.Index(pd.unique(alt_col.astype(str))).sort_values()
    if NO_PURCHASE not in alts:
        raise ValueError("choice data has no no-purchase alternative")
    j = len(alts)
    seg_col = choice["segment"].to_numpy()
    slim = choice[["obs", "alt", "chosen", "available", "price"]]
    blocks = {s: _rectangle(slim[seg_col == s], alts) for s in segments}
    targets = _padded_sizes({s: b[0].shape[0] + j for s, b in blocks.items()})
    models: dict[Any, Any] = {}
    for s, (price, avail, chosen) in blocks.items():
        n = price.shape[0]
        n_max = targets[s]
        listed = np.where(avail > 0, price, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an alternative never on sale
            med = np.nan_to_num(np.nanmedian(listed, axis=0), nan=0.0) if n else np.zeros(j)
        pad = n_max - n - j
        price_all = np.vstack([price, np.tile(med, (j + pad, 1))])
        avail_all = np.vstack([avail, np.ones((j + pad, j), dtype=np.int8)])
        pseudo = np.eye(j, dtype=np.int8)
        filler = np.zeros((pad, j), dtype=np.int8)
        filler[:, alts.get_loc(NO_PURCHASE)] = 1
        chosen_all = np.vstack([chosen, pseudo, filler])
        weights = np.concatenate([np.ones(n), np.full(j, smoothing), np.zeros(pad)])
        frame = pd.DataFrame({
            "obs": np.repeat(np.arange(n_max), j),
            "alt": pd.Categorical.from_codes(np.tile(np.arange(j), n_max), categories=alts),
            "chosen": chosen_all.ravel(),
            "available": avail_all.ravel(),
            "price": price_all.ravel(),
        })
        model = MNL(features=["price"], reference=NO_PURCHASE, max_iter=max_lbfgs, tol=tol)
        models[s] = model.fit(frame, obs="obs", alt="alt", choice="chosen", avail="available",
                              weights=weights)
        if progress is not None:
            progress(s)
    return models


def _check_resources(tx: pd.DataFrame, n_segments: int | None, k_range: tuple[int, int],
                     max_candidates: int) -> Any:
    """Estimate memory and time of the heavy stages from the data's size and stop at once,
    naming the option that helps, when the memory is not there
    (:mod:`bundleopt.choice.resources`)."""
    from bundleopt.choice.resources import check_memory, estimate_plan_resources

    stamps = tx["timestamp"]
    n_periods = int((stamps.max().normalize() - stamps.min().normalize()).days) + 1 if len(tx) else 1
    estimate = estimate_plan_resources(
        n_lines=len(tx), n_customers=int(tx["customer_id"].nunique()),
        n_products=int(tx["product_id"].nunique()), n_candidates=int(max_candidates or 0),
        n_periods=n_periods, n_segments=int(n_segments or max(k_range)))
    check_memory(estimate)
    return estimate


def _weighted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """``np.median`` of ``values`` each repeated ``counts`` times (integer counts; NaN if none)."""
    keep = counts > 0
    values, counts = values[keep], counts[keep]
    n = int(round(counts.sum()))
    if n == 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    v, c = values[order], np.cumsum(counts[order])
    lo = v[np.searchsorted(c, (n - 1) // 2, side="right")]
    hi = v[np.searchsorted(c, n // 2, side="right")]
    return float((lo + hi) / 2)


def _median_menu(mc: Any) -> np.ndarray:
    """Per alternative, the median price over a segment's occasions where it is available
    (the price paid where chosen, else the listed one): the price rows of the long format
    the smoothing pseudo-occasions of :func:`fit_segment_models` use, from grouped data."""
    M, J = mc.avail.shape
    total = np.bincount(mc.menu, weights=mc.count, minlength=M)
    chose = np.zeros((M, J))
    np.add.at(chose, (mc.menu, mc.choice), mc.count)
    med = np.zeros(J)
    price = mc.X[:, :, 0]
    for j in range(J):
        listed_w = np.where(mc.avail[:, j], total - chose[:, j], 0.0)
        mine = mc.choice == j
        vals = np.concatenate([price[:, j], mc.x_chosen[mine, 0]])
        w = np.concatenate([listed_w, mc.count[mine]])
        m = _weighted_median(vals, w)
        med[j] = 0.0 if np.isnan(m) else m
    return med


def fit_menu_models(
    menus: Mapping[Any, Any],
    *,
    smoothing: float = 0.5,
    progress: Callable[[Any], None] | None = None,
    tol: float = 1e-12,
) -> dict[Any, Any]:
    """:func:`fit_segment_models` on menu-grouped data (``segment -> MenuChoices`` from
    :func:`bundleopt.data.choice_data.build_menu_choices`): the same model, smoothing
    pseudo-occasions (one extra menu at the segment's median prices, one record per
    alternative with count ``smoothing``) and estimates, without occasions x alternatives.
    Segments are padded to common sizes (zero-count records, unavailable menus) so JAX
    compiles the likelihood for few shapes.
    """
    from bundleopt.choice import MNL
    from bundleopt.choice.grouped import MenuChoices

    if not menus:
        return {}
    sizes = {s: (mc.avail.shape[0] + 1, len(mc.menu) + mc.avail.shape[1]) for s, mc in menus.items()}
    n_menus = max(m for m, _ in sizes.values())
    rec_targets = _padded_sizes({s: r for s, (_, r) in sizes.items()})
    models: dict[Any, Any] = {}
    for s, mc in menus.items():
        M, J = mc.avail.shape
        if NO_PURCHASE not in mc.alt_ids:
            raise ValueError("choice data has no no-purchase alternative")
        med = _median_menu(mc)
        smoothed = MenuChoices(
            X=np.concatenate([mc.X, med[None, :, None]]),
            avail=np.concatenate([mc.avail, np.ones((1, J), bool)]),
            menu=np.concatenate([mc.menu, np.full(J, M)]),
            choice=np.concatenate([mc.choice, np.arange(J)]),
            x_chosen=np.concatenate([mc.x_chosen, med[:, None]]),
            count=np.concatenate([mc.count, np.full(J, float(smoothing))]),
            alt_ids=mc.alt_ids, features=mc.features,
        ).padded(n_menus, rec_targets[s])
        models[s] = MNL(features=list(mc.features), reference=NO_PURCHASE, tol=tol).fit_menus(smoothed)
        if progress is not None:
            progress(s)
    return models


def _padded_sizes(sizes: Mapping[Any, int]) -> dict[Any, int]:
    """Number of occasions each segment's fit is padded to (see :func:`fit_segment_models`)."""
    largest, total = max(sizes.values()), sum(sizes.values())
    if len(sizes) * largest <= 2 * total:
        return {s: largest for s in sizes}
    return {s: max(1024, 1 << (n - 1).bit_length()) for s, n in sizes.items()}


def _bundle_weights(
    model: Any, offer_ids: Sequence[str], components: Sequence[tuple[str, ...]],
    prices: np.ndarray, lift: Mapping[str, float], bundle_utility: str,
) -> np.ndarray:
    """(O, K) preference weights of one segment; bundles by the ``bundle_utility`` rule."""
    from bundleopt.choice import preference_weights

    known = set(map(str, model.alternatives_))
    direct = [o for o, oid in enumerate(offer_ids) if oid in known]
    v = np.zeros(prices.shape)
    vd, v0 = preference_weights(model, [offer_ids[o] for o in direct], prices[direct])
    if not np.allclose(v0, 1.0):
        raise RuntimeError("the no-purchase alternative must be the model's reference")
    v[direct] = vd[0]
    params = model.params_
    beta = float(params["price"])
    for o, oid in enumerate(offer_ids):
        if oid in known:
            continue
        if bundle_utility != "additive" or len(components[o]) < 2:
            raise ValueError(f"offer {oid!r} has no fitted constant")
        asc = sum(float(params.get(f"ASC_{p}", 0.0)) for p in components[o]) + math.log(lift[oid])
        with np.errstate(invalid="ignore"):
            v[o] = np.where(np.isfinite(prices[o]), np.exp(asc + beta * np.nan_to_num(prices[o])), 0.0)
    return v


def _utility_design(model: Any, offer_ids: Sequence[str], components: Sequence[tuple[str, ...]]) -> np.ndarray:
    """(O, P) 0/1 matrix: which of the model's parameters make up each offer's constant in
    :func:`_bundle_weights` (its own ``ASC``, or its components' for an additive bundle)."""
    names = list(model.params_.index)
    known = set(map(str, model.alternatives_))
    design = np.zeros((len(offer_ids), len(names)))
    for o, oid in enumerate(offer_ids):
        for alt in ([oid] if oid in known else components[o]):
            if f"ASC_{alt}" in names:
                design[o, names.index(f"ASC_{alt}")] = 1.0
    return design


def shop_decision(scenario: Scenario) -> Decision:
    """The shop's list prices: every offer (singles and bundles) at its list level.

    A bundle at its list level costs the sum of its components' list prices, which is
    what a customer pays buying them together at the shop today (co-purchase).
    """
    return Decision(np.tile(scenario.list_level, (scenario.n_menus, 1)))


def _plan_table(scenario: Scenario, solution: Solution) -> pd.DataFrame:
    sc = scenario
    probs = solution.probabilities.to_numpy()
    list_p = sc.list_prices()
    rows = []
    for s, seg in enumerate(sc.segment_ids):
        levels = solution.decision.menu_of(s)
        for o in np.flatnonzero(levels != NOT_OFFERED):
            price = float(sc.prices[o, levels[o]])
            units = float(sc.market_size * sc.weights[s] * probs[s, o])
            rows.append({
                "segment": seg, "offer": sc.offer_ids[o], "components": "+".join(sc.components[o]),
                "is_bundle": len(sc.components[o]) > 1, "price": price,
                "list_price": float(list_p[o]), "discount": 1.0 - price / float(list_p[o]),
                "cost": float(sc.costs[o]), "units": units,
                "product_units": units * len(sc.components[o]), "revenue": units * price,
                "profit": units * (price - float(sc.costs[o])),
            })
    cols = ["segment", "offer", "components", "is_bundle", "price", "list_price", "discount",
            "cost", "units", "product_units", "revenue", "profit"]
    return pd.DataFrame(rows, columns=cols)


def _named(table: pd.DataFrame, catalog: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """``table`` with a ``name`` column after ``offer`` (catalog names; the id where none)."""
    from bundleopt.plan_parts.controls import offer_names

    names = dict(zip(scenario.offer_ids, offer_names(catalog, scenario.components), strict=True))
    table.insert(2, "name", table["offer"].map(names))
    return table


def _compare(scenario: Scenario, solution: Solution) -> tuple[pd.DataFrame, pd.DataFrame]:
    from bundleopt.optimize import evaluate
    from bundleopt.optimize.baselines import BASELINES

    decisions: dict[str, Decision] = {
        "optimised": solution.decision,
        "shop": shop_decision(scenario),
        "status_quo": scenario.status_quo(),
    }
    for name, make in BASELINES.items():
        decisions[name] = make(scenario)
    rows, by_seg = [], {}
    for name, decision in decisions.items():
        ev = evaluate(scenario, decision)
        rows.append({"plan": name, "profit": ev.profit, "revenue": ev.revenue, "units": ev.units,
                     "feasible": ev.feasible, "n_violations": len(ev.violations)})
        by_seg[name] = ev.by_segment.set_index("segment")["profit"]
    comp = pd.DataFrame(rows)
    shop = float(comp.loc[comp["plan"] == "shop", "profit"].iloc[0])
    comp["gain"] = comp["profit"] - shop
    from bundleopt.plan_parts.headline import percent_base

    shop_rev = float(comp.loc[comp["plan"] == "shop", "revenue"].iloc[0])
    comp["uplift"] = np.nan if percent_base(shop, shop_rev, what="the shop's") else comp["gain"] / shop
    by_segment = pd.DataFrame(by_seg).T
    by_segment.index.name = "plan"
    by_segment.columns.name = "segment"
    return comp, by_segment


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("bundleopt", "numpy", "pandas", "jax", "pyomo", "highspy", "scikit-learn", "mlxtend"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


# --------------------------------------------------------------------------- main job
def build_plan(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    sessions: pd.DataFrame | None = None,
    purchase_share: float | None = None,
    n_segments: int | None = None,
    k_range: tuple[int, int] = (2, 6),
    max_bundles: int | None = 3,
    max_offers: int | None = None,
    min_margin: float | None = None,
    personalised: bool = True,
    ladder: Sequence[float] = DEFAULT_LADDER,
    bundle_utility: BundleUtility = "copurchase",
    no_arbitrage: bool = True,
    constraints: Mapping[str, Any] | None = None,
    min_support: float = 0.01,
    min_lift: float = 1.5,
    max_bundle_size: int = 2,
    max_candidates: int = 10,
    max_products: int | None = None,
    errors: Literal["raise", "drop"] = "drop",
    allow_positive_price_coef: bool = False,
    smoothing: float = 0.5,
    min_occasions: int = 30,
    random_state: int = 0,
    time_limit: float | None = 60.0,
    threads: int | None = 1,
    progress: ProgressCallback | None = None,
    keep_on_sale: Sequence[str] | None = None,
    max_price_change: float | Mapping[str, float] | None = None,
    price_points: str | float | None = None,
    backtest_split: str | float | None = None,
    n_draws: int | None = 200,
    robust_draws: int | None = None,
    min_segment_size: int = 50,
) -> Plan:
    """Run the whole pipeline on validated-or-raw tables and return a :class:`Plan`.

    Parameters
    ----------
    transactions, catalog : tables in :mod:`bundleopt.data`'s schema (raw: they are validated here).
    sessions : visits (observed no-purchase); else ``purchase_share`` is required: the
        share of choice occasions that end in a purchase (``formulations/choice_data.md``).
    n_segments : number of customer segments; ``None`` chooses it by silhouette in ``k_range``.
    max_bundles, max_offers : at most this many bundles / offers per menu (None = no cap).
    min_margin : per-offer margin floor ``(p - c) / p >= min_margin``.
    personalised : one menu (offers and prices) per segment, else one menu for all.
    ladder : price levels as multiples of each offer's list price (1.0 is always added).
    bundle_utility : ``"copurchase"`` or ``"additive"`` (module docstring,
        ``formulations/bundle_utility.md``).
    no_arbitrage : a bundle costs at most the sum of its components' prices on its menu.
    constraints : further :class:`~bundleopt.scenario.Constraints` fields, e.g.
        ``{"max_price_spread": 0.1}``; they override the arguments above. Without a
        ``"stock"`` entry, the catalog's ``stock`` column (units) sets the stock rule
        (:func:`stock_limits` says how units are converted); ``{"stock": None}``
        ignores the catalog's stock.
    min_support, min_lift, max_bundle_size, max_candidates : bundle mining
        (:func:`bundleopt.candidates.mine_bundles`).
    max_products : keep only the lines of the N products bought in most orders (reported).
    errors : validation policy (``"drop"``: bad rows are dropped and reported; ``"raise"``).
    allow_positive_price_coef : a segment whose fitted price coefficient is >= 0
        (demand rising with price: usually bad prices in the data) stops the plan
        with a ``ValueError`` naming it, unless this is True (then it is a note).
    smoothing : weight of the pseudo-occasions of :func:`fit_segment_models`.
    min_occasions : a segment with fewer purchase occasions is an error (use fewer segments).
    random_state : seed of segmentation and of the no-purchase draws.
    time_limit, threads : HiGHS options; ``threads`` also limits the threads of the
        segmentation's clustering (:class:`~bundleopt.segment.CustomerSegmenter`).
        The re-solves of the checks (headline steps, rule costs, robust plan) get at most
        ``min(time_limit, 20)`` seconds each; their status is in their notes.
    progress : ``progress(step, fraction_done)`` called as each step starts.
    keep_on_sale : products that must stay on sale: on every menu, at some allowed price
        (the ``must_offer`` rule, :mod:`bundleopt.plan_parts.controls`).
    max_price_change : a product's price stays within this share of its list price
        (``0.1``: +-10 %), or ``{product: share}``; ladder levels further away are removed.
    price_points : ``".99"`` (prices end in .99) or a step (``0.1``: multiples of 0.10)
        every price but the list price is rounded to; ``None`` no rounding.
    backtest_split : fit the choice models again on the days before this day
        (``"2001-01-15"``) or share of the days (``0.75``) and score the later days
        (:func:`bundleopt.plan_parts.backtest.backtest`); ``None`` skips it.
    min_segment_size : with personalised menus, a segment of fewer customers is merged
        into the nearest one first (:func:`bundleopt.plan_parts.privacy.merge_small_segments`).
    n_draws : draws of the fitted parameters for the intervals on profit and uplift
        (:func:`bundleopt.plan_parts.intervals.parameter_intervals`); ``None`` skips them.
    robust_draws : also solve for the plan with the best mean profit over this many
        draws (:func:`bundleopt.plan_parts.intervals.robust_plan`; a larger MILP); ``None`` skips it.

    Raises ``ValueError`` (``DataValidationError``, ``InfeasibleScenarioError`` are
    ``ValueError`` too) with a message saying what to fix.
    """
    from bundleopt.candidates import mine_bundles
    from bundleopt.data.choice_data import build_menu_choices
    from bundleopt.optimize import solve
    from bundleopt.segment import CustomerSegmenter, customer_features

    lad = _check_args(n_segments, max_bundles, max_offers, min_margin, ladder, bundle_utility,
                      purchase_share, sessions, smoothing, max_bundle_size, min_support, min_lift,
                      max_products, max_candidates)
    from bundleopt.optimize.dispatch import check_options

    check_options(time_limit, 1e-4, threads)  # solver options, before any work
    from bundleopt.plan_parts import controls

    price_points = controls.check_price_points(price_points)
    if not _is_int(min_segment_size) or min_segment_size < 1:
        raise ValueError(f"min_segment_size must be an integer >= 1 (customers), got {min_segment_size!r}")
    for name, value in (("n_draws", n_draws), ("robust_draws", robust_draws)):
        if value is not None and (not _is_int(value) or value < 2):
            raise ValueError(f"{name} must be an integer >= 2 or None (skip), got {value!r}")
    if isinstance(backtest_split, float | int) and not (0 < backtest_split < 1):
        raise ValueError(f"backtest_split must be a share of the days in (0, 1) or a date, got {backtest_split!r}")
    keep_on_sale = [keep_on_sale] if isinstance(keep_on_sale, str) else [str(p) for p in keep_on_sale or []]
    if max_price_change is not None and not isinstance(max_price_change, Mapping):
        controls.limit_price_change(np.ones((1, 1)), [0], [("x",)], max_price_change)  # checks the number
    settings = {
        "n_segments": n_segments, "k_range": list(k_range), "max_bundles": max_bundles,
        "max_offers": max_offers, "min_margin": min_margin, "personalised": personalised,
        "ladder": list(lad), "bundle_utility": bundle_utility, "no_arbitrage": no_arbitrage,
        "constraints": dict(constraints or {}), "min_support": min_support, "min_lift": min_lift,
        "max_bundle_size": max_bundle_size, "max_candidates": max_candidates,
        "max_products": max_products, "errors": errors, "smoothing": smoothing,
        "allow_positive_price_coef": allow_positive_price_coef,
        "purchase_share": purchase_share, "sessions": sessions is not None,
        "random_state": random_state, "time_limit": time_limit, "threads": threads,
        "keep_on_sale": keep_on_sale, "max_price_change": max_price_change,
        "price_points": price_points, "backtest_split": backtest_split, "n_draws": n_draws,
        "robust_draws": robust_draws, "min_segment_size": min_segment_size,
    }
    rules = _constraints(max_offers, max_bundles, min_margin, no_arbitrage, constraints)
    timings: dict[str, float] = {}
    notes: list[str] = []
    done = 0.0
    clock = [time.perf_counter()]

    def step(i: int) -> None:
        nonlocal done
        name, share = _STEPS[i]
        now = time.perf_counter()
        if i > 0:
            timings[_STEPS[i - 1][0]] = now - clock[0]
        clock[0] = now
        if progress is not None:
            progress(name, done)
        done += share

    # 1. validation
    step(0)
    checked = validate(transactions, catalog, sessions=sessions, errors=errors)
    tx, cat, report = checked.transactions, checked.catalog, checked.report
    if max_products is not None:
        tx = _top_products(tx, max_products, report)
    resources = _check_resources(tx, n_segments, k_range, max_candidates)

    # 2. segments
    step(1)
    feats = customer_features(tx, cat)
    if n_segments is not None and n_segments > len(feats):
        raise ValueError(f"n_segments={n_segments} but the data has only {len(feats)} customers")
    seg_model = CustomerSegmenter(n_segments=n_segments, k_range=k_range, random_state=random_state,
                                  n_init=4, threads=threads)
    if n_segments is None and len(feats) < 3:
        seg_model.set_params(n_segments=1)
    seg_model.fit(feats)
    assignments = seg_model.segments_.astype(int)
    profiles = seg_model.profiles_
    if personalised:  # privacy: no personalised price for a group under min_segment_size customers
        from bundleopt.plan_parts.privacy import merge_small_segments

        assignments, merged = merge_small_segments(assignments, feats, min_segment_size)
        if merged:
            notes += merged
            profiles = feats.reindex(assignments.index).groupby(assignments.to_numpy()).mean()
    seg_ids = sorted(int(s) for s in assignments.unique())

    # 3. candidates
    step(2)
    cands = mine_bundles(tx, cat, min_support=min_support, min_lift=min_lift,
                         max_size=max_bundle_size, max_candidates=max_candidates)
    cands = cands.drop_duplicates("bundle_id").reset_index(drop=True)

    # 4. choice data
    step(3)
    bundles_in_data = cands if bundle_utility == "copurchase" and len(cands) else None
    grouped = build_menu_choices(tx, cat, sessions=checked.sessions, purchase_share=purchase_share,
                                 bundles=bundles_in_data, segments=assignments,
                                 random_state=random_state)
    n_unsegmented = grouped.n_unsegmented
    if n_unsegmented:
        notes.append(f"{n_unsegmented} occasion(s) of customers without a purchase (no segment) left out")
    occ = grouped.occasions.reindex(seg_ids, fill_value=0).astype(int)
    purchases = grouped.purchases.reindex(seg_ids, fill_value=0).astype(int)
    small = [s for s in seg_ids if purchases[s] < min_occasions]
    if small:
        raise ValueError(
            f"segment(s) {small} have fewer than {min_occasions} purchase occasions "
            f"({purchases[small].tolist()}); use fewer segments (e.g. --segments "
            f"{max(1, len(seg_ids) - len(small))}) or more data")

    # 5. one MNL per segment
    step(4)
    n_fit = [0]

    def fitted(_s: Any) -> None:
        n_fit[0] += 1
        if progress is not None:
            progress(f"fitting choice models ({n_fit[0]}/{len(seg_ids)})",
                     done - _STEPS[4][1] * (1 - n_fit[0] / len(seg_ids)))

    models = fit_menu_models({s: grouped.menus[s] for s in seg_ids}, smoothing=smoothing, progress=fitted)
    param_rows = []
    for s, m in models.items():
        for name, est in m.params_.items():
            param_rows.append({"segment": s, "parameter": name, "estimate": float(est),
                               "std_error": float(m.std_errors_[name])})
        if m.separated_ or m.unidentified_:
            notes.append(f"segment {s}: parameters not identified by the data: "
                         f"{', '.join(m.separated_ + m.unidentified_)}")
        if not m.converged_:
            notes.append(f"segment {s}: the MNL fit did not converge ({m.fit_result_.message})")
    rising = {s: float(m.params_["price"]) for s, m in models.items() if m.params_["price"] >= 0}
    for s, b in rising.items():
        if not allow_positive_price_coef:
            raise ValueError(
                f"segment {s}: fitted price coefficient {b:.3g} >= 0 (demand rising with price; "
                f"{len(rising)} of {len(models)} segment(s)): check its prices for outliers or use "
                "fewer segments, or allow it with allow_positive_price_coef=True")
        notes.append(f"segment {s}: price coefficient {b:.3g} >= 0 (allowed); "
                     "its prices go to the top of the ladder")
    params = pd.DataFrame(param_rows, columns=["segment", "parameter", "estimate", "std_error"])

    # 6. scenario
    step(5)
    products = sorted(set(tx["product_id"].astype(str)))
    cat_i = cat.set_index("product_id")
    offer_ids = list(products) + list(cands["bundle_id"])
    components = [(p,) for p in products] + [tuple(c) for c in cands["components"]]
    list_price = np.array([float(cat_i.loc[list(c), "list_price"].sum()) for c in components])
    costs = np.array([float(cat_i.loc[list(c), "unit_cost"].sum()) for c in components])
    prices = np.outer(list_price, np.asarray(lad))
    list_idx = np.full(len(offer_ids), lad.index(1.0))
    prices = controls.round_to_price_points(prices, list_idx, price_points)  # then the limit holds
    prices = controls.limit_price_change(prices, list_idx, components, max_price_change)
    losing = [oid for oid, c, p in zip(offer_ids, costs, np.nanmax(prices, axis=1), strict=True) if c >= p]
    if losing:
        notes.append(f"{len(losing)} offer(s) cost more than every price on their ladder "
                     f"(e.g. {losing[:3]}): offering them loses money, so the plan drops them")
    lift = dict(zip(cands["bundle_id"], cands["lift"].astype(float), strict=True))
    v = np.stack([_bundle_weights(models[s], offer_ids, components, prices, lift, bundle_utility)
                  for s in seg_ids])
    weights = (occ / occ.sum()).to_numpy(dtype=float)
    if "stock" not in (constraints or {}):  # constraints={"stock": None} ignores the catalog's
        limits = stock_limits(cat, tx, products)
        if limits:
            rules = replace(rules, stock=limits)
            notes.append(f"stock: {len(limits)} product(s) limited by the catalog's stock (units over "
                         "a period as long as the data's, divided by the mean units per purchase)")
    rules = replace(rules, **controls.keep_on_sale_rules(keep_on_sale, products,
                                                         {"must_offer": rules.must_offer}))
    if not len(cands) and rules.min_bundle_discount == 0.0 and "min_bundle_discount" not in (constraints or {}):
        rules = replace(rules, min_bundle_discount=None)  # no bundle, no arbitrage rule
    scenario = Scenario.from_arrays(
        v, np.ones(len(seg_ids)), prices, costs, weights, personalised=personalised,
        offer_ids=offer_ids, components=components, segment_ids=seg_ids, constraints=rules,
        market_size=float(occ.sum()), list_level=list_idx,
    )

    # 7. solve
    step(6)
    solution = solve(scenario, time_limit=time_limit, threads=threads)
    if solution.status != "optimal":
        notes.append(f"solver status {solution.status!r}, gap {solution.gap:.2%}")
    notes += controls.ladder_edge_note(scenario, solution.decision.levels)

    # 8. compare with the shop and the baselines
    step(7)
    comparison, by_segment = _compare(scenario, solution)
    from bundleopt.plan_parts.assess import assess_plan
    from bundleopt.plan_parts.intervals import linear_weights

    weights_of = linear_weights(  # the scenario's weights at other parameter values (draws)
        scenario.v, scenario.prices, {s: _utility_design(models[s], offer_ids, components) for s in seg_ids},
        {s: models[s].params_ for s in seg_ids})
    check_limit = min(time_limit, 20.0) if time_limit is not None else 20.0  # each re-solve of the checks
    extras = assess_plan(
        scenario, solution, comparison, solve=lambda sub: solve(sub, time_limit=check_limit, threads=threads),
        transactions=tx, catalog=cat, models=models, weights_of=weights_of, n_draws=n_draws,
        robust_draws=robust_draws, random_state=random_state,
        backtest_args=None if backtest_split is None else {
            "segments": assignments, "split": backtest_split, "sessions": checked.sessions,
            "purchase_share": purchase_share, "bundles": bundles_in_data, "offers": products,
            "smoothing": smoothing, "random_state": random_state})
    timings[_STEPS[7][0]] = time.perf_counter() - clock[0]
    timings["total"] = sum(timings.values())
    if progress is not None:
        progress("done", 1.0)

    beta = params[params["parameter"] == "price"].set_index("segment")
    n_cust = assignments.value_counts().reindex(seg_ids, fill_value=0)
    seg_table = pd.DataFrame({
        "segment": seg_ids, "n_customers": n_cust.to_numpy(),
        "customer_share": (n_cust / n_cust.sum()).to_numpy(),
        "n_occasions": occ.to_numpy(), "weight": weights,
        "purchase_rate": (purchases / occ.replace(0, np.nan)).to_numpy(),
        "price_coef": beta["estimate"].reindex(seg_ids).to_numpy(),
        "price_se": beta["std_error"].reindex(seg_ids).to_numpy(),
    })
    seg_table = seg_table.join(profiles.reset_index(drop=True))
    observed = float(((tx["unit_price"] - tx["product_id"].map(cat_i["unit_cost"])) * tx["quantity"]).sum())
    summary = {
        "transaction_rows": int(len(tx)), "customers": int(tx["customer_id"].nunique()),
        "orders": int(tx["order_id"].nunique()), "products": len(products),
        "candidates": int(len(cands)), "offers": len(offer_ids), "segments": len(seg_ids),
        "occasions": int(occ.sum()), "purchase_occasions": int(purchases.sum()),
        "occasions_left_out": n_unsegmented + grouped.n_dropped_occasions,
        "first_day": str(tx["timestamp"].min().date()), "last_day": str(tx["timestamp"].max().date()),
        "observed_gross_margin": observed, "market_size": float(occ.sum()),
        "solver_method": solution.method, "solver_status": solution.status,
        "estimated_memory_gb": resources.memory / 1e9, "estimated_seconds": resources.seconds,
        "machine": platform.platform(), "versions": _versions(),
    }
    return Plan(
        solution=solution, scenario=scenario, table=_named(_plan_table(scenario, solution), cat, scenario),
        comparison=comparison, profit_by_segment=by_segment, cleaning=report, segments=seg_table,
        assignments=assignments, candidates=cands, params=params, importance=seg_model.importance_,
        data_summary=summary, timings=timings, settings=settings, notes=tuple(notes), **extras,
    )
