"""The summary a shop owner reads first: what to change, and the assumptions behind it.

* :func:`assumptions`: ``(item, value)`` pairs: the data window, the purchase share
  (or visits), what a unit is, where costs come from, the price ladder and the
  owner's controls, segments and the privacy floor.
* :func:`top_changes`: the plan's changes against the status quo, one row per
  (menu, offer), largest first: products taken off sale, prices moved, bundles added.
* :func:`what_to_change`: the same in a few sentences, each with its part of the gain.
* :func:`headline_sentence`, :func:`headline_table`, :func:`interval_sentence`: the
  gain, its parts and its interval as the report shows them (units in the headers).
* :func:`backtest_check` and :func:`trust_sentence`: whether the model passed its
  backtest, and one plain sentence on how far to trust the plan.

The backtest's check compares the weighted absolute error of the predicted counts
(WAPE, ``sum |pred - obs| / sum obs`` over segments x offers) with the error a
perfect model would still show by chance: if the observed count of a cell is Poisson
with mean ``mu`` (the prediction), ``E|X - mu| = 2 e^{-mu} mu^{m+1} / m!`` with
``m = floor(mu)``, so the chance-alone WAPE is ``sum_i E|X_i - mu_i| / sum_i mu_i``.
With hundreds of products most cells hold a few purchases and this floor is large;
the check asks for the WAPE to be within ``tolerance`` times it, and the total
predicted purchases within ``max_total_error`` of the observed ones.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.scenario import NOT_OFFERED

__all__ = ["assumptions", "backtest_check", "headline_sentence", "headline_table", "interval_sentence",
           "top_changes", "trust_sentence", "what_to_change"]

#: what the report calls a profit figure's unit
PROFIT_UNIT = "expected profit per data period, in the catalog's currency"


def assumptions(plan: Any) -> list[tuple[str, str]]:
    """What the figures assume, in words (module docstring)."""
    st, summ = plan.settings, plan.data_summary
    lad = st.get("ladder") or []
    share = st.get("purchase_share")
    rows = [
        ("data window", f"{summ['first_day']} to {summ['last_day']}: {summ['transaction_rows']:,} lines, "
                        f"{summ['customers']:,} customers, {summ['products']:,} products"),
        ("no-purchase", "observed visits (sessions)" if st.get("sessions") else
         f"assumed: {share:.0%} of shop visits end in a purchase (purchase_share); profits scale with it"
         if share is not None else "unknown"),
        ("what a unit is", "one purchase occasion: an order line of a product (its quantity is not "
                           "modelled), a bundle counts once; profits are per period as long as the data's"),
        ("cost", "the catalog's unit_cost per unit; a product whose list price does not cover it loses "
                 "money on every sale"),
        ("prices", _ladder_text(lad, _is_default_ladder(lad))),
    ]
    if st.get("max_price_change") is not None:
        mpc = st["max_price_change"]
        rows.append(("maximum price change",
                     f"{mpc:.0%} of the list price for every product" if isinstance(mpc, int | float)
                     else "per product: " + ", ".join(f"{k} {v:.0%}" for k, v in list(mpc.items())[:10])
                     + (" ..." if len(mpc) > 10 else "")))
    if st.get("price_points") is not None:
        rows.append(("price points", "prices end in .99" if st["price_points"] == ".99"
                     else f"multiples of {st['price_points']:g}"))
    keep = st.get("keep_on_sale")
    rows.append(("kept on sale", "none asked: any product may be taken off sale" if not keep else
                 f"{len(keep)} product(s) must stay on sale: " + ", ".join(map(str, keep[:10]))
                 + (" ..." if len(keep) > 10 else "")))
    mining = getattr(getattr(plan, "candidates", None), "attrs", {}).get("mining")
    if mining:
        rows.append(("bundle candidates", mining["text"].removeprefix("Bundle candidates: ")))
    rows.append(("segments", f"{summ['segments']}, one choice model each; menus "
                             f"{'personalised per segment' if st.get('personalised') else 'the same for all'}"))
    if st.get("personalised"):
        rows.append(("privacy", f"no personalised menu for a group of fewer than "
                                f"{st.get('min_segment_size', 50)} customers (smaller segments merged); "
                                "customer ids are written only as keyed pseudonyms"))
    rows.append(("status quo", "every product at its list price, no bundle deal, one menu for all"))
    return rows


def top_changes(plan: Any, k: int = 15) -> pd.DataFrame:
    """Changes against the status quo, largest expected effect first (at most ``k`` rows).

    Columns ``menu``, ``offer``, ``name``, ``change`` (``"stop selling"``, ``"price +10%"``,
    ``"new bundle"``), ``list_price``, ``new_price`` (NaN when taken off sale),
    ``contribution``: the offer's expected profit on that menu in the plan, or, for an
    offer taken off sale, in the status quo (negative: it was losing money). Sorted
    by its size.
    """
    from bundleopt.optimize import evaluate

    sc = plan.scenario
    levels = plan.solution.decision.levels
    sq = sc.status_quo().levels[0]
    list_p = sc.list_prices()
    names = dict(zip(plan.table["offer"], plan.table["name"], strict=False)) if "name" in plan.table else {}
    why = plan.offer_reasons
    sq_ev = evaluate(sc, sc.status_quo())
    menu_of_seg = np.arange(sc.n_segments) if sc.personalised else np.zeros(sc.n_segments, int)
    rows = []
    for g in range(levels.shape[0]):
        menu = sc.segment_ids[g] if sc.personalised else "all"
        for o in range(sc.n_offers):
            now, before = int(levels[g, o]), int(sq[o])
            if now == before:
                continue
            oid = sc.offer_ids[o]
            effect = np.nan
            if why is not None:
                hit = why[(why["menu"] == menu) & (why["offer"] == oid)]
                if len(hit):
                    effect = float(hit["contribution"].iloc[0])
            if now == NOT_OFFERED:
                change, price = "stop selling", np.nan
                segs = menu_of_seg == g
                effect = sc.market_size * float(sc.weights[segs] @ sq_ev.probabilities[segs, o]) * (
                    float(list_p[o]) - float(sc.costs[o]))
            elif before == NOT_OFFERED:
                change, price = "new bundle" if sc.is_bundle[o] else "start selling", float(sc.prices[o, now])
            else:
                price = float(sc.prices[o, now])
                change = f"price {price / list_p[o] - 1:+.0%}"
            rows.append({"menu": menu, "offer": oid, "name": names.get(oid, str(oid)), "change": change,
                         "list_price": float(list_p[o]), "new_price": price, "contribution": effect})
    out = pd.DataFrame(rows, columns=["menu", "offer", "name", "change", "list_price", "new_price",
                                      "contribution"])
    order = out["contribution"].abs().fillna(0).sort_values(ascending=False, kind="stable").index
    return out.loc[order].head(k).reset_index(drop=True)


def _is_default_ladder(ladder: list[float]) -> bool:
    """Whether ``ladder`` is the planner's default (:data:`bundleopt.plan_parts.controls.DEFAULT_LADDER`;
    1.0 is always added)."""
    from bundleopt.plan_parts.controls import DEFAULT_LADDER

    return sorted(set(ladder)) == sorted({*DEFAULT_LADDER, 1.0})


def _ladder_text(ladder: list[float], is_default: bool | None) -> str:
    """The price ladder in words: its range around the list price, and whether it can raise a price."""
    if not ladder:
        return "?"
    lo, hi = min(ladder), max(ladder)
    text = f"{lo:g} to {hi:g} x list price ({len(ladder)} levels)"
    if hi > 1.0:
        text += f": a price may rise up to {hi - 1:.0%} above list"
    else:
        text += ": no price can rise above list"
    if is_default:
        text += " (the default ladder)"
    return text


def headline_sentence(plan: Any) -> str:
    """The plan's profit, the status quo's, the gain and the uplift (or why it is n/a)."""
    head = plan.headline
    return (f"Expected profit of the plan: {plan.profit:,.2f} against {head.base_profit:,.2f} for the "
            f"shop as it is (every product at its list price, no bundle deal): gain {head.gain:+,.2f}, "
            f"uplift {head.uplift_text()}. The parts below add up to the gain; each is an exact "
            "re-evaluation of an intermediate decision.")


def headline_table(plan: Any) -> pd.DataFrame:
    """The gain's parts as shown: one row per step, numbers as text with 2 decimals
    (percentages "n/a" when the base is not meaningful), headers naming their unit."""
    steps = plan.headline.steps
    return pd.DataFrame({
        "step": steps["description"],
        "expected profit": steps["profit"].map(lambda v: f"{v:,.2f}"),
        "part of the gain": steps["part"].map(lambda v: f"{v:+,.2f}"),
        "part, % of status quo profit": steps["part_pct"].map(lambda v: "n/a" if v != v else f"{v:+.1%}"),
        "keeps the rules": steps["feasible"].map(lambda v: "yes" if v else "no"),
        "how": steps["note"],
    })


def interval_sentence(iv: Any) -> str:
    """The interval of the plan's profit, the gain and the uplift over the parameter draws, the
    draws' median beside the point estimate, and, when the point lies outside its interval, the
    measured reasons (:attr:`bundleopt.plan_parts.intervals.Intervals.checks`): the drawn
    weights' mean differing from the estimate's, and profit's curvature in the weights."""
    t = iv.table.set_index("quantity")
    point, low, med, high = (float(t.at["plan_profit", c]) for c in ("point", "low", "median", "high"))
    text = (f"{iv.level:.0%} interval over {len(iv.draws)} draws of the fitted parameters: plan profit "
            f"{low:,.2f} to {high:,.2f} (median {med:,.2f}; at the estimates {point:,.2f}), gain "
            f"{t.at['gain', 'low']:+,.2f} to {t.at['gain', 'high']:+,.2f}")
    up = t.loc["uplift"]
    text += (f", uplift {up['low']:+.1%} to {up['high']:+.1%}." if pd.notna(up["low"]) else
             ", uplift n/a (see the intervals section).")
    if not low <= point <= high:
        text += (f" The plan's profit at the estimates ({point:,.2f}) lies {'below' if point < low else 'above'} "
                 f"this interval: the draws' median is {med - point:+,.2f} from it.")
        checks = getattr(iv, "checks", None) or {}
        mean, at_mean = float(checks.get("mean_over_draws", math.nan)), float(checks.get("at_mean_weights", math.nan))
        if math.isfinite(mean) and math.isfinite(at_mean):
            offset = ("the drawn weights' mean differs from the estimate's (Monte-Carlo error: the draws "
                      "are centred)" if checks.get("centred") else
                      "the drawn weights' mean differs from the estimate's (exp of a normal draw: "
                      "E[exp x] = exp(E x + var/2); the draws are not centred)")
            text += (f" Measured: {at_mean - point:+,.2f} of the mean shift ({mean - point:+,.2f}) is because "
                     f"{offset}, and {mean - at_mean:+,.2f} is profit's curvature in the weights (the mean "
                     f"of the draws' profits {mean:,.2f} vs the profit at their mean weights {at_mean:,.2f}).")
        text += " Read the interval as how much the figure may move, not as a range around it."
    return text


def _poisson_mad(mu: np.ndarray) -> np.ndarray:
    """Mean absolute deviation ``E|X - mu|`` of a Poisson(mu) count (module docstring)."""
    mu = np.asarray(mu, dtype=float)
    out = np.zeros_like(mu)
    pos = mu > 0
    m = np.floor(mu[pos])
    log = math.log(2.0) - mu[pos] + (m + 1) * np.log(mu[pos]) - np.array([math.lgamma(k + 1) for k in m])
    out[pos] = np.exp(log)
    return out


def backtest_check(backtest: Any, tolerance: float = 1.5, max_total_error: float = 0.25) -> dict[str, Any]:
    """Did the model pass its backtest? (module docstring).

    Returns ``passed``, ``wape`` (observed), ``chance_wape`` (what a perfect model would
    show by chance), ``total_error`` (``predicted / observed - 1`` of all purchases) and
    ``reasons`` (the failed parts, in words).
    """
    data = backtest.by_offer.dropna(subset=["predicted"])
    pred, obs = data["predicted"].to_numpy(float), data["observed"].to_numpy(float)
    total_obs, total_pred = float(obs.sum()), float(pred.sum())
    wape = float(np.abs(pred - obs).sum() / total_obs) if total_obs else float("nan")
    chance = float(_poisson_mad(pred).sum() / total_pred) if total_pred else float("nan")
    total_error = total_pred / total_obs - 1 if total_obs else float("nan")
    reasons = []
    if not (wape <= tolerance * chance):
        reasons.append(f"per product and segment its error is {wape:.0%} where chance alone gives about "
                       f"{chance:.0%}")
    if not (abs(total_error) <= max_total_error):
        reasons.append(f"it predicted {total_pred:,.0f} purchases where {total_obs:,.0f} happened "
                       f"({total_error:+.0%})")
    return {"passed": not reasons, "wape": wape, "chance_wape": chance, "total_error": total_error,
            "reasons": reasons}


def trust_sentence(plan: Any) -> str:
    """One plain sentence: how far the plan's figures can be trusted, from its backtest
    (:func:`backtest_check`) and the prices pushed to the top of the ladder."""
    from bundleopt.plan_parts.controls import ladder_edge_counts

    n_top, n_on = ladder_edge_counts(plan.scenario, plan.solution.decision.levels)
    edge = (f" {n_top:,} of the {n_on:,} prices on offer sit at the top of the price ladder, above list: the "
            "model would go higher still, beyond the prices in the data, so those rises are its least "
            "certain advice." if n_top else "")
    bt = getattr(plan, "backtest", None)
    if bt is None:
        return ("Unchecked: no backtest was run, so nothing shows how well the model predicts sales it has "
                "not seen (run with --backtest 0.75 or build_plan(backtest_split=0.75))." + edge)
    check = backtest_check(bt)
    s = bt.summary
    if not check["passed"]:
        return (f"Do not rely on these figures yet: fitted on {s['fit_window']} and asked to predict "
                f"{s['test_window']}, the model failed its backtest ({'; '.join(check['reasons'])}), so the "
                "gain above is what a poor model expects, not what the shop can count on; try the changes "
                "on a few products first and compare." + edge)
    return (f"The model passed its backtest: fitted on {s['fit_window']}, it predicted {s['test_window']} "
            f"with an error of {check['wape']:.0%} per product and segment (chance alone: about "
            f"{check['chance_wape']:.0%}) and {check['total_error']:+.0%} on all purchases." + edge)


def what_to_change(plan: Any) -> list[str]:
    """What the plan changes against the status quo, in a few sentences, each with its part
    of the gain from the headline's decomposition (the parts add up to the gain)."""
    sc = plan.scenario
    levels = plan.solution.decision.levels
    sq = sc.status_quo().levels[0]
    head = getattr(plan, "headline", None)
    part = ({} if head is None else dict(zip(head.steps["step"], head.steps["part"], strict=True)))

    def worth(step: str) -> str:
        # a part of exactly 0 means the decomposition credited this change to a later step
        return f" ({part[step]:+,.2f})" if part.get(step) else ""

    singles = ~sc.is_bundle
    on_now, on_before = levels != NOT_OFFERED, (sq != NOT_OFFERED)[None, :]
    losing = set(head.loss_makers) if head is not None else set()
    loss_idx = [o for o in range(sc.n_offers) if sc.offer_ids[o] in losing]
    out = []
    if loss_idx:
        names = ", ".join(str(sc.offer_ids[o]) for o in loss_idx[:5]) + (" ..." if len(loss_idx) > 5 else "")
        out.append(f"Stop selling {len(loss_idx)} product(s) whose list price does not cover their unit cost "
                   f"({names}){worth('stop_loss_makers')}.")
    moved = on_now & on_before & (levels != sq[None, :]) & singles[None, :]
    if moved.any():
        ratio = sc.prices[np.arange(sc.n_offers)[None, :], np.maximum(levels, 0)] / sc.list_prices()[None, :]
        up, down = int((moved & (ratio > 1)).sum()), int((moved & (ratio < 1)).sum())
        where = "menu x product pairs" if levels.shape[0] > 1 else "products"
        out.append(f"Change {int(moved.sum()):,} prices ({up:,} up, {down:,} down; counted over {where}), from "
                   f"{ratio[moved].min() - 1:+.0%} to {ratio[moved].max() - 1:+.0%} of list"
                   f"{worth('price_changes')}.")
    dropped = on_before & ~on_now & singles[None, :]
    dropped[:, loss_idx] = False
    if dropped.any():
        out.append(f"Take {int(dropped.any(axis=0).sum())} more product(s) off some menus (they draw sales "
                   "from more profitable offers).")
    bundles = on_now & sc.is_bundle[None, :]
    if bundles.any():
        out.append(f"Offer {int(bundles.any(axis=0).sum())} bundle deal(s){worth('bundles')}.")
    if sc.personalised:
        out.append(f"Give each of the {sc.n_segments} customer segments its own menu"
                   f"{worth('personalisation')}.")
    if not out:
        out.append("Keep the shop as it is: the model finds no change worth making.")
    return out
