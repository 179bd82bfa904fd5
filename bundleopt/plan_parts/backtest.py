"""The model checked against what happened: fit on an earlier window, score a later one.

:func:`backtest` splits the (validated) transactions in time at ``split`` (a day, or
the share of the **orders** in the fitting window: a share of the calendar would let a
few stray old lines fill it), fits one MNL per segment on
the earlier window exactly as the plan does (:func:`bundleopt.choice.segment_fits.fit_menu_models`
on :func:`bundleopt.data.choice_data.build_menu_choices`), and scores the later
window's own menus (its listed prices and availability, day by day): for each segment
``s`` and alternative ``j``,

    predicted[s, j] = sum over later menus m of n[m] * P_s(j | m),
    observed[s, j]  = purchase occasions of segment s choosing j in the later window,

with ``n[m]`` the later window's occasions on menu ``m`` (purchases and no-purchases:
the same purchase-share assumption or visits). Margins are ``(price - unit cost)``
times those counts (the listed price for predictions, the price paid for
observations). A unit here is a **purchase occasion** (an order line, a bundle counts
once): quantities are not modelled.

Segments are the plan's (fitted on all the data): only the choice models are refitted.

:func:`margin_gap` lays the status quo's modelled margin beside the data's observed
margin and splits the difference into named, computed steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.data.schemas import NO_PURCHASE

__all__ = ["Backtest", "backtest", "calibration_table", "margin_gap", "predicted_choices"]


@dataclass(frozen=True)
class Backtest:
    """Predicted vs observed in the later window (plain data; module docstring).

    Attributes
    ----------
    by_offer : per (segment, offer): ``predicted``, ``observed`` (purchase occasions),
        ``predicted_margin``, ``observed_margin``.
    by_segment : per segment: the same summed over offers, plus ``occasions``.
    calibration : :func:`calibration_table` of ``by_offer``.
    summary : split day, windows, totals, the correlation of predicted and observed
        counts and the weighted absolute percentage error.
    """

    by_offer: pd.DataFrame
    by_segment: pd.DataFrame
    calibration: pd.DataFrame
    summary: dict[str, Any]


def _probabilities(model: Any, mc: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(P, n, known)``: (M, J) choice probabilities on each menu of ``mc``, (M,) occasions per
    menu and (J,) whether the model knows each alternative (unknown ones get probability 0)."""
    params = model.params_
    asc = np.array([float(params.get(f"ASC_{a}", 0.0)) for a in mc.alt_ids])
    known = np.isin(np.asarray(mc.alt_ids, dtype=str), np.asarray(model.alternatives_, dtype=str))
    coef = np.array([float(params[f]) for f in mc.features])
    on = mc.avail & known[None, :]
    u = np.where(on, asc[None, :] + mc.X @ coef, -np.inf)
    top = np.max(np.where(on, u, -np.inf), axis=1, keepdims=True)
    e = np.where(on, np.exp(u - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = e.sum(axis=1, keepdims=True)
    P = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    n = np.bincount(mc.menu, weights=mc.count, minlength=mc.avail.shape[0])
    return P, n, known


def predicted_choices(model: Any, mc: Any) -> np.ndarray:
    """(J,) expected choices of each alternative of ``mc`` (MenuChoices) under ``model``.

    ``P(j | m) = exp(u_mj) / sum_{j' on m} exp(u_mj')`` with ``u_mj = ASC_j + x_mj . coef``
    (0 for the reference), times the occasions of menu ``m``. An alternative on sale in
    ``mc`` that the model does not know (not in the fitting window) gets NaN.
    """
    P, n, known = _probabilities(model, mc)
    sold_unknown = ~known & (mc.avail.T.astype(float) @ n > 0)
    return np.where(sold_unknown, np.nan, n @ P)


def _margins(mc: Any, model: Any, costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, observed) margin per alternative: listed price for predictions, paid for observations."""
    P, n, _ = _probabilities(model, mc)
    pred = (n[:, None] * P * (mc.X[:, :, 0] - costs[None, :])).sum(axis=0)
    obs = np.bincount(mc.choice, weights=mc.count * (mc.x_chosen[:, 0] - costs[mc.choice]),
                      minlength=len(mc.alt_ids))
    return pred, obs


def calibration_table(by_offer: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed counts in bins of predicted count (deciles by default).

    Columns ``bin``, ``n_offers``, ``predicted``, ``observed`` (means per row in the
    bin): a calibrated model has ``observed ~ predicted`` in every bin.
    """
    data = by_offer.dropna(subset=["predicted"])
    if data.empty:
        return pd.DataFrame(columns=["bin", "n_offers", "predicted", "observed"])
    ranks = data["predicted"].rank(method="first")
    bins = pd.qcut(ranks, q=min(n_bins, len(data)), labels=False)
    g = data.groupby(bins)
    return pd.DataFrame({"bin": g.size().index.astype(int), "n_offers": g.size().to_numpy(),
                         "predicted": g["predicted"].mean().to_numpy(),
                         "observed": g["observed"].mean().to_numpy()})


def _order_times(transactions: pd.DataFrame) -> pd.Series:
    """Each order's time (its first line's timestamp)."""
    return transactions.groupby("order_id", sort=False)["timestamp"].min()


def _split_day(orders: pd.Series, split: str | float | pd.Timestamp) -> pd.Timestamp:
    """The first day of the later window.

    A share ``split`` in (0, 1) is a share of the **orders**, not of the calendar: the day
    boundary next to the ``split`` quantile of the order times whose earlier window holds
    the share closest to ``split`` (a few stray old lines, such as 1995 among 2024 data,
    would otherwise fill the earlier window by themselves). A date is used as given.
    """
    days = orders.dt.normalize()
    first, last = days.min(), days.max()
    if isinstance(split, float | int) and not isinstance(split, bool):
        if not (math.isfinite(split) and 0 < split < 1):
            raise ValueError(f"backtest split must be a share of the orders in (0, 1) or a date, got {split!r}")
        q = days.quantile(split, interpolation="lower")
        fits = [d for d in (q, q + pd.Timedelta(days=1)) if first < d <= last]
        if not fits:
            raise ValueError(f"backtest split {split:g} leaves an empty window: all orders fall on "
                             f"{first.date()}" + ("" if first == last else f" to {last.date()}"))
        day = min(fits, key=lambda d: abs(float((days < d).mean()) - split))
    else:
        try:
            day = pd.Timestamp(split).normalize()
        except (TypeError, ValueError):
            raise ValueError(f"backtest split must be a date (YYYY-MM-DD) or a share, got {split!r}") from None
    if not (first < day <= last):
        raise ValueError(f"backtest split {day.date()} leaves an empty window: the data runs "
                         f"{first.date()} to {last.date()}")
    return day


def _check_windows(n_fit: int, n_test: int, split: object, min_orders: int) -> None:
    """Refuse a split that leaves fewer than ``min_orders`` orders on a side: too few to fit
    the choice models on, or to score them on."""
    for side, n in (("earlier (fitting)", n_fit), ("later (scored)", n_test)):
        if n < min_orders:
            raise ValueError(f"backtest_split {split!r} leaves {n} order(s) in the {side} window and "
                             f"{n_fit + n_test - n} in the other: fewer than {min_orders} cannot fit or "
                             "score the choice models; set backtest_split to another value or to None "
                             "(no backtest)")


def backtest(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    segments: pd.Series,
    split: str | float = 0.75,
    sessions: pd.DataFrame | None = None,
    purchase_share: float | None = None,
    bundles: pd.DataFrame | None = None,
    offers: list[str] | None = None,
    smoothing: float = 0.5,
    random_state: int = 0,
    min_orders: int = 20,
) -> Backtest:
    """Fit on the days before ``split``, score the days from it (module docstring).

    ``transactions``/``catalog``/``sessions`` are validated tables (as the plan used:
    ``Plan``'s inputs after cleaning); ``segments`` maps customer id -> segment;
    ``bundles`` are the candidate bundles when bundles are estimated from co-purchases;
    ``offers`` the products (default: those in the transactions). A ``split`` that leaves
    fewer than ``min_orders`` orders on a side is a ``ValueError``; ``summary`` says the split
    day and the orders on each side (``fit_orders``, ``test_orders``).
    """
    from bundleopt.choice.segment_fits import fit_menu_models
    from bundleopt.data.choice_data import build_menu_choices

    orders = _order_times(transactions)
    day = _split_day(orders, split)
    n_fit = int((orders < day).sum())
    n_test = len(orders) - n_fit
    _check_windows(n_fit, n_test, split, min_orders)
    early = transactions["order_id"].map(orders < day).astype(bool)
    offers = offers or sorted(transactions["product_id"].astype(str).unique())

    def grouped(mask: pd.Series, ses: pd.DataFrame | None) -> Any:
        return build_menu_choices(transactions[mask], catalog, sessions=ses, purchase_share=purchase_share,
                                  bundles=bundles, offers=offers, segments=segments,
                                  random_state=random_state)

    ses_early = ses_late = None
    if sessions is not None:
        ses_early, ses_late = sessions[sessions["timestamp"] < day], sessions[sessions["timestamp"] >= day]
    fit_data, test_data = grouped(early, ses_early), grouped(~early, ses_late)
    segs = [s for s in test_data.menus if s in fit_data.menus and fit_data.menus[s].n_occasions > 0]
    models = fit_menu_models({s: fit_data.menus[s] for s in segs}, smoothing=smoothing)
    cost = catalog.set_index(catalog["product_id"].astype(str))["unit_cost"].astype(float)
    cost_of = {k: v for k, v in cost.items() if np.isfinite(v)}  # a missing cost adds 0 (pandas sum)
    comp = {} if bundles is None else dict(zip(bundles["bundle_id"], bundles["components"], strict=True))
    rows = []
    for s in segs:
        mc, model = test_data.menus[s], models[s]
        costs = np.array([0.0 if a == NO_PURCHASE else float(sum(cost_of.get(str(c), 0.0) for c in comp.get(a, (a,))))
                          for a in map(str, mc.alt_ids)])
        pred = predicted_choices(model, mc)
        obs = np.bincount(mc.choice, weights=mc.count, minlength=len(mc.alt_ids))
        pm, om = _margins(mc, model, costs)
        for j, a in enumerate(map(str, mc.alt_ids)):
            if a == NO_PURCHASE:
                continue
            rows.append({"segment": s, "offer": a, "predicted": pred[j], "observed": obs[j],
                         "predicted_margin": pm[j] if np.isfinite(pred[j]) else np.nan,
                         "observed_margin": om[j]})
    by_offer = pd.DataFrame(rows, columns=["segment", "offer", "predicted", "observed", "predicted_margin",
                                           "observed_margin"])
    occ = test_data.occasions.reindex(segs, fill_value=0)
    by_segment = by_offer.groupby("segment")[["predicted", "observed", "predicted_margin",
                                              "observed_margin"]].sum(min_count=1).reset_index()
    by_segment.insert(1, "occasions", occ.reindex(by_segment["segment"]).to_numpy())
    ok = by_offer.dropna(subset=["predicted"])
    total_obs = float(ok["observed"].sum())
    summary = {
        "split_day": str(day.date()),
        "split_rule": (f"{split:.0%} of the orders" if isinstance(split, float) else "the date given"),
        "fit_orders": n_fit, "test_orders": n_test,
        "fit_window": f"{orders.min().date()} to {(day - pd.Timedelta(days=1)).date()} ({n_fit:,} orders)",
        "test_window": f"{day.date()} to {orders.max().date()} ({n_test:,} orders)",
        "predicted_purchases": float(ok["predicted"].sum()), "observed_purchases": total_obs,
        "predicted_margin": float(ok["predicted_margin"].sum()),
        "observed_margin": float(ok["observed_margin"].sum()),
        "correlation": float(np.corrcoef(ok["predicted"], ok["observed"])[0, 1]) if len(ok) > 2 else float("nan"),
        "wape": float(np.abs(ok["predicted"] - ok["observed"]).sum() / total_obs) if total_obs else float("nan"),
        "offers_unknown_in_fit_window": sorted(set(by_offer.loc[by_offer["predicted"].isna(), "offer"])),
    }
    return Backtest(by_offer=by_offer, by_segment=by_segment, calibration=calibration_table(ok), summary=summary)


def margin_gap(transactions: pd.DataFrame, catalog: pd.DataFrame, status_quo_profit: float) -> pd.DataFrame:
    """The status quo's modelled margin beside the observed margin, the gap in named steps.

    Each row is a margin computed from the data, changing one assumption at a time
    from what happened towards what the model assumes; ``change`` is the difference to
    the row before, so the changes add up to ``modelled - observed``:

    1. ``observed``: sum over lines of quantity x (price paid - unit cost);
    2. ``one unit per purchase``: each line counts once (the model counts purchases,
       not quantities);
    3. ``at list prices``: each line at the catalog's list price instead of the price
       paid (the status quo charges list prices);
    4. ``modelled status quo``: the model's expected margin with every product on sale
       on every occasion at list price (the rest: who buys what, and how often, as the
       model predicts; the purchase-share assumption; bundles as co-purchases).
    """
    cat = catalog.set_index(catalog["product_id"].astype(str))
    pid = transactions["product_id"].astype(str)
    cost = pid.map(cat["unit_cost"]).astype(float)
    listp = pid.map(cat["list_price"]).astype(float)
    paid = transactions["unit_price"].astype(float)
    q = transactions["quantity"].astype(float)
    lines = pd.DataFrame({"o": transactions["order_id"], "p": pid, "m1": paid - cost, "m2": listp - cost})
    per_line = lines.groupby(["o", "p"], sort=False)[["m1", "m2"]].mean()
    steps = [
        ("observed", float(((paid - cost) * q).sum()),
         "what the data shows: quantity x (price paid - unit cost)"),
        ("one unit per purchase", float(per_line["m1"].sum()),
         "quantities ignored: the model counts a purchase (an order line) as one unit"),
        ("at list prices", float(per_line["m2"].sum()),
         "the status quo charges the catalog's list price, not the price paid "
         "(products whose cost exceeds their list price lose money here)"),
        ("modelled status quo", float(status_quo_profit),
         "the model: every product on sale on every occasion, purchase-share assumption, "
         "choices as predicted"),
    ]
    out = pd.DataFrame(steps, columns=["step", "margin", "reason"])
    out.insert(2, "change", out["margin"].diff().fillna(0.0))
    return out
