"""The planner's settings: :class:`PlanConfig`, validated once and written out whole in the plan.

Every setting of :func:`bundleopt.pipeline.build_plan` is a field here (the data
tables and the progress callback are not settings). A bad value stops at
construction with a one-line ``ValueError`` naming the field and what it must be,
before any work is done; the stages then read the config and check nothing again.
Values are normalised on the way in (the ladder sorted with the list price 1.0
added, ``keep_on_sale`` a tuple of ids, price points in their canonical form,
whole numbers as ``int``), so two configs that plan the same thing compare equal.
:meth:`PlanConfig.settings` is the JSON-friendly copy written to ``plan.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from bundleopt.checks import flag, number
from bundleopt.plan_parts.controls import DEFAULT_LADDER
from bundleopt.scenario import Constraints

__all__ = ["BUNDLE_UTILITIES", "DEFAULT_LADDER", "BundleUtility", "PlanConfig"]

BUNDLE_UTILITIES = ("copurchase", "additive")
BundleUtility = Literal["copurchase", "additive"]
#: the highest ladder level accepted: beyond 10 x the list price a level is a typo, and
#: prices such as 1e308 overflow the preference weights ``exp(beta p)``
MAX_LADDER = 10.0


@dataclass(frozen=True)
class PlanConfig:
    """Settings of :func:`bundleopt.pipeline.build_plan` (validated at construction).

    Attributes
    ----------
    purchase_share : without ``sessions``: the share of choice occasions that end in a
        purchase (``formulations/choice_data.md``), in (0, 1].
    n_segments : number of customer segments; ``None`` chooses it by silhouette in ``k_range``.
    k_range : inclusive ``(low, high)`` numbers of segments tried when ``n_segments`` is None.
    max_bundles, max_offers : at most this many bundles / offers per menu (None = no cap).
    min_margin : per-offer margin floor ``(p - c) / p >= min_margin``, in [0, 1).
    personalised : one menu (offers and prices) per segment, else one menu for all.
    ladder : price levels as multiples of each offer's list price in (0, 10]; 1.0 is
        always added, the levels are kept sorted.
    bundle_utility : ``"copurchase"`` or ``"additive"`` (``formulations/bundle_utility.md``).
    no_arbitrage : a bundle costs at most the sum of its components' prices on its menu.
    constraints : further :class:`~bundleopt.constraints.Constraints` fields, e.g.
        ``{"max_price_spread": 0.1}``; they override the fields above. Without a
        ``"stock"`` entry, the catalog's ``stock`` column (units) sets the stock rule
        (:func:`bundleopt.planning.scenario_stage.stock_limits`); ``{"stock": None}``
        ignores the catalog's stock.
    min_support, min_lift, max_bundle_size, max_candidates : bundle mining
        (:func:`bundleopt.candidates.mine_bundles`). ``min_support=None`` (the default)
        chooses it from the data (:func:`bundleopt.candidates.choose_min_support`): the
        basket count of the ``top_pairs``-th most frequent pair, at least ``min_pair_count``
        baskets; the report says which threshold was used and how many pairs reached it.
    max_products : keep only the lines of the N products bought in most orders (reported).
    errors : validation policy (``"drop"``: bad rows are dropped and reported; ``"raise"``).
    allow_positive_price_coef : a segment whose fitted price coefficient is >= 0 (demand
        rising with price: usually bad prices in the data) stops the plan with a
        ``ValueError`` naming it, unless this is True (then it is a note).
    smoothing : weight of the pseudo-occasions of the choice fits
        (:func:`bundleopt.planning.fitting.fit_segment_models`).
    min_occasions : a segment with fewer purchase occasions is an error (use fewer segments).
    random_state : seed of segmentation and of the no-purchase draws.
    time_limit, threads : HiGHS options; ``threads`` also limits the threads of the
        segmentation's clustering. The re-solves of the checks (headline steps, rule
        costs, robust plan) get at most ``min(time_limit, 20)`` seconds each.
    keep_on_sale : products that must stay on sale: on every menu, at some allowed price
        (the ``must_offer`` rule, :mod:`bundleopt.plan_parts.controls`).
    max_price_change : a product's price stays within this share of its list price
        (``0.1``: +-10 %), or ``{product: share}``; ladder levels further away are removed.
    price_points : ``".99"`` (prices end in .99) or a step (``0.1``: multiples of 0.10)
        every price but the list price is rounded to; ``None`` no rounding.
    backtest_split : fit the choice models again on the days before this day
        (``"2001-01-15"``) or share of the orders (``0.75``) and score the later days
        (:func:`bundleopt.plan_parts.backtest.backtest`); ``None`` skips it.
    n_draws : draws of the fitted parameters for the intervals on profit and uplift
        (:func:`bundleopt.plan_parts.intervals.parameter_intervals`); ``None`` skips them.
    robust_draws : also solve for the plan with the best mean profit over this many
        draws (:func:`bundleopt.plan_parts.intervals.robust_plan`); ``None`` skips it.
    min_segment_size : with personalised menus, a segment of fewer customers is merged
        into the nearest one first (:func:`bundleopt.plan_parts.privacy.merge_small_segments`).
    """

    purchase_share: float | None = None
    n_segments: int | None = None
    k_range: tuple[int, int] = (2, 6)
    max_bundles: int | None = 3
    max_offers: int | None = None
    min_margin: float | None = None
    personalised: bool = True
    ladder: tuple[float, ...] = DEFAULT_LADDER
    bundle_utility: BundleUtility = "copurchase"
    no_arbitrage: bool = True
    constraints: Mapping[str, Any] = field(default_factory=dict)
    min_support: float | None = None
    top_pairs: int = 100
    min_pair_count: int = 20
    min_lift: float = 1.5
    max_bundle_size: int = 2
    max_candidates: int | None = 10
    max_products: int | None = None
    errors: Literal["raise", "drop"] = "drop"
    allow_positive_price_coef: bool = False
    smoothing: float = 0.5
    min_occasions: int = 30
    random_state: int = 0
    time_limit: float | None = 60.0
    threads: int | None = 1
    keep_on_sale: tuple[str, ...] = ()
    max_price_change: float | Mapping[str, float] | None = None
    price_points: str | float | None = None
    backtest_split: str | float | None = None
    n_draws: int | None = 200
    robust_draws: int | None = None
    min_segment_size: int = 50

    def __post_init__(self) -> None:
        for name, value in _validated(self).items():
            object.__setattr__(self, name, value)

    @property
    def rules(self) -> Constraints:
        """The business rules before the data adds its own (stock, kept products)."""
        return _constraints(self)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle and deep-copy through the constructor (read-only mappings are not picklable)."""
        return (_rebuild, ({f.name: _thaw(getattr(self, f.name)) for f in fields(self)},))

    def settings(self) -> dict[str, Any]:
        """Every field, JSON-friendly (tuples as lists, mappings as dicts), in field order."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


# --------------------------------------------------------------------------- validation
def is_whole(value: object) -> bool:
    """A whole number (``3`` or ``3.0``, numpy's too), not a bool, a string or NaN."""
    try:
        number("value", value, integer=True)
    except ValueError:
        return False
    return True


def _validated(cfg: PlanConfig) -> dict[str, Any]:
    """Check every field with a one-line message; return the normalised values that differ."""
    out: dict[str, Any] = {}
    if cfg.n_segments is not None and (not is_whole(cfg.n_segments) or cfg.n_segments < 1):
        raise ValueError(f"n_segments must be a positive integer or None (choose), got {cfg.n_segments!r}")
    for name in ("max_bundles", "max_offers", "max_candidates"):
        value = getattr(cfg, name)
        if value is not None and (not is_whole(value) or value < 0):
            raise ValueError(f"{name} must be a non-negative integer or None, got {value!r}")
    if cfg.max_products is not None and (not is_whole(cfg.max_products) or cfg.max_products < 1):
        raise ValueError(f"max_products must be an integer >= 1 (keep the N best sellers) or None "
                         f"(all products), got {cfg.max_products!r}")
    if cfg.max_offers == 0:
        raise ValueError("max_offers must be at least 1 (a plan offers something)")
    if cfg.min_margin is not None and not (_finite(cfg.min_margin) and 0 <= cfg.min_margin < 1):
        raise ValueError(f"min_margin must be in [0, 1), got {cfg.min_margin!r}")
    out["ladder"] = _ladder(cfg.ladder)
    if cfg.bundle_utility not in BUNDLE_UTILITIES:
        raise ValueError(f"bundle_utility must be one of {BUNDLE_UTILITIES}, got {cfg.bundle_utility!r}")
    share = cfg.purchase_share
    if share is not None and not (_finite(share) and 0 < share <= 1):
        raise ValueError(f"purchase_share must be in (0, 1], got {share!r}")
    if not (_finite(cfg.smoothing) and cfg.smoothing >= 0):
        raise ValueError(f"smoothing must be >= 0, got {cfg.smoothing!r}")
    if not is_whole(cfg.max_bundle_size) or cfg.max_bundle_size < 2:
        raise ValueError(f"max_bundle_size must be an integer >= 2, got {cfg.max_bundle_size!r}")
    if cfg.min_support is not None and not (_finite(cfg.min_support) and 0 < cfg.min_support <= 1):
        raise ValueError(f"min_support must be in (0, 1] or None (chosen from the data), got {cfg.min_support!r}")
    for name in ("top_pairs", "min_pair_count"):
        if not is_whole(getattr(cfg, name)) or getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {getattr(cfg, name)!r}")
    if not (_finite(cfg.min_lift) and cfg.min_lift > 0):
        raise ValueError(f"min_lift must be > 0, got {cfg.min_lift!r}")
    from bundleopt.optimize.dispatch import check_options

    check_options(cfg.time_limit, 1e-4, cfg.threads)
    from bundleopt.plan_parts import controls

    out["price_points"] = controls.check_price_points(cfg.price_points)
    if not is_whole(cfg.min_segment_size) or cfg.min_segment_size < 1:
        raise ValueError(f"min_segment_size must be an integer >= 1 (customers), got {cfg.min_segment_size!r}")
    for name in ("n_draws", "robust_draws"):
        value = getattr(cfg, name)
        if value is not None and (not is_whole(value) or value < 2):
            raise ValueError(f"{name} must be an integer >= 2 or None (skip), got {value!r}")
    split = cfg.backtest_split
    if isinstance(split, float | int) and not (0 < split < 1):
        raise ValueError(f"backtest_split must be a share of the orders in (0, 1) or a date, got {split!r}")
    if split is not None and not isinstance(split, str | float | int):
        raise ValueError(f"backtest_split must be a share of the orders in (0, 1), a date such as "
                         f"'2001-01-15' or None, got {split!r}")
    out["keep_on_sale"] = _keep_on_sale(cfg.keep_on_sale)
    out["max_price_change"] = _max_price_change(cfg.max_price_change)
    if not is_whole(cfg.min_occasions) or cfg.min_occasions < 0:
        raise ValueError(f"min_occasions must be an integer >= 0 (purchase occasions per segment), "
                         f"got {cfg.min_occasions!r}")
    out["k_range"] = _k_range(cfg.k_range)
    from bundleopt.data.row_checks import _check_errors_arg

    _check_errors_arg(cfg.errors)
    for name in ("personalised", "no_arbitrage", "allow_positive_price_coef"):
        flag(name, getattr(cfg, name))
    if not is_whole(cfg.random_state) or cfg.random_state < 0:
        raise ValueError(f"random_state must be a whole number >= 0 (a seed), got {cfg.random_state!r}")
    for name in ("n_segments", "max_bundles", "max_offers", "max_candidates", "max_products",
                 "max_bundle_size", "min_segment_size", "n_draws", "robust_draws", "min_occasions",
                 "random_state", "threads", "top_pairs", "min_pair_count"):
        value = getattr(cfg, name)
        if value is not None:
            out[name] = int(value)
    if cfg.constraints is None:
        out["constraints"] = MappingProxyType({})
    elif not isinstance(cfg.constraints, Mapping):
        raise ValueError(f"constraints must be a mapping of Constraints fields, e.g. "
                         f"{{'max_price_spread': 0.1}}; got {cfg.constraints!r}")
    else:
        out["constraints"] = MappingProxyType(dict(cfg.constraints))
    _constraints(cfg, out["constraints"])  # unknown or bad rules fail here, once
    return {k: v for k, v in out.items() if v is not getattr(cfg, k)}


def _finite(value: object) -> bool:
    """A real number that is finite (bools and strings are not numbers here)."""
    try:
        number("value", value)
    except ValueError:
        return False
    return True


def _ladder(ladder: Sequence[float]) -> tuple[float, ...]:
    """The ladder as sorted floats with the list price 1.0 (the shop's status quo needs it)."""
    try:
        lad = [float(x) for x in ladder]
    except (TypeError, ValueError):
        raise ValueError(f"ladder must be numbers (multiples of the list price), got {ladder!r}") from None
    if not lad or not all(math.isfinite(x) and 0 < x <= MAX_LADDER for x in lad):
        raise ValueError(f"ladder must be multiples of the list price in (0, {MAX_LADDER:g}], "
                         f"e.g. 0.8,0.9,1.0,1.1; got {list(ladder)!r}")
    if len(set(lad)) != len(lad):
        raise ValueError(f"ladder has repeated levels: {lad}")
    if 1.0 not in lad:
        lad.append(1.0)
    return tuple(sorted(lad))


def _keep_on_sale(keep: Any) -> tuple[str, ...]:
    if keep is None:
        return ()
    if isinstance(keep, str):
        return (keep,)
    try:
        return tuple(str(p) for p in keep)
    except TypeError:
        raise ValueError(f"keep_on_sale must be product ids (a list of strings), got {keep!r}") from None


def _max_price_change(limit: Any) -> Any:
    """One share >= 0 for every product or ``{product: share}`` (read-only), checked now."""
    from bundleopt.plan_parts.controls import limit_price_change

    if limit is None:
        return None
    if isinstance(limit, Mapping):
        keys = list(limit)
        limit_price_change(np.ones((len(keys), 1)), [0] * len(keys), [(p,) for p in keys], limit)
        return MappingProxyType(dict(limit))
    limit_price_change(np.ones((1, 1)), [0], [("x",)], limit)  # checks the number
    return limit


def _k_range(k_range: Any) -> tuple[int, int]:
    try:
        lo, hi = k_range
    except (TypeError, ValueError):
        lo = hi = None
    if not (is_whole(lo) and is_whole(hi) and 1 <= lo <= hi):
        raise ValueError(f"k_range must be two whole numbers (low, high) with 1 <= low <= high, "
                         f"got {k_range!r}")
    return int(lo), int(hi)


def _constraints(cfg: PlanConfig, extra: Mapping[str, Any] | None = None) -> Constraints:
    """The business rules; ``constraints`` (Constraints fields) override the other fields."""
    rules: dict[str, Any] = {"max_offers": cfg.max_offers, "max_bundles": cfg.max_bundles,
                             "min_margin": cfg.min_margin,
                             "min_bundle_discount": 0.0 if cfg.no_arbitrage else None}
    rules.update(cfg.constraints if extra is None else extra)
    unknown = sorted(set(rules) - set(Constraints.__dataclass_fields__))
    if unknown:
        raise ValueError(f"unknown constraint(s) {unknown}; known: {sorted(Constraints.__dataclass_fields__)}")
    return Constraints(**rules)


def _rebuild(kwargs: dict[str, Any]) -> PlanConfig:
    return PlanConfig(**kwargs)


def _thaw(value: Any) -> Any:
    return dict(value) if isinstance(value, MappingProxyType) else value


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a setting: tuples as lists, mappings as dicts."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
