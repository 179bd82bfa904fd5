"""The report's sentences and tables shared by the Markdown and the HTML page:
the headline, the interval sentence and the checks' sections."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["_check_sections", "_headline_frame", "_headline_sentence", "_interval_sentence"]


def _headline_frame(plan: Any) -> pd.DataFrame:
    """The headline's steps as shown: percentages as text ("n/a" when the base is not meaningful)."""
    steps = plan.headline.steps[["description", "profit", "part", "part_pct", "feasible", "note"]]
    return steps.assign(part_pct=steps["part_pct"].map(lambda v: "n/a" if v != v else f"{v:+.1%}"))


def _headline_sentence(plan: Any) -> str:
    """The headline sentence (one definition: :func:`bundleopt.plan_parts.summary.headline_sentence`)."""
    from bundleopt.plan_parts.summary import headline_sentence

    return headline_sentence(plan)


def _check_sections(plan: Any, top_k: int = 20) -> list[tuple[str, str, pd.DataFrame | None, str | None]]:
    """``(heading, sentence, table, image)`` of each check, shared by the Markdown and the HTML."""
    out: list[tuple[str, str, pd.DataFrame | None, str | None]] = []
    why = getattr(plan, "offer_reasons", None)
    if why is not None and len(why):
        top = why.reindex(why["remove"].abs().sort_values(ascending=False).index).head(top_k)
        out.append(("Why each offer is in the plan",
                    f"Per offer on each menu: its own expected profit, and how the whole plan's profit "
                    f"changes if it is taken off the menu or its price moves one step (exact "
                    f"re-evaluation; a rule broken by the move is marked False). The {len(top)} offers that "
                    f"matter most of {len(why)}; all in reasons.csv.", top, None))
    rules = getattr(plan, "rule_costs", None)
    if rules is not None and len(rules):
        from bundleopt.plan_parts.reasons import rule_cost_text

        unproved = rule_cost_text(rules)
        out.append(("What each rule costs",
                    "Each rule family switched off in turn and the plan re-solved: the profit it costs "
                    "(cost_low to cost_high: between the best decision found without the rule and the "
                    "re-solve's proven bound; equal when proved)." + (f" {unproved}" if unproved else ""),
                    rules, None))
    iv = getattr(plan, "intervals", None)
    if iv is not None:
        out.append(("How sure: intervals from the estimates' uncertainty",
                    f"Plan and status quo re-evaluated exactly under each draw of the fitted parameters "
                    f"({iv.note}). Per draw: intervals.csv.", iv.table, "intervals.png"))
    rb = getattr(plan, "robust", None)
    if rb is not None:
        out.append(("A plan that holds up under the draws",
                    f"The plan with the best mean profit over draws ({rb.note}) gives up "
                    f"{rb.gives_up:,.2f} at the estimates against the point plan.", rb.table, None))
    bt = getattr(plan, "backtest", None)
    if bt is not None:
        s = bt.summary
        text = (f"Choice models fitted again on {s['fit_window']} only and scored on {s['test_window']} "
                f"(the later window's own prices and assortment): {s['predicted_purchases']:,.0f} purchase "
                f"occasions predicted vs {s['observed_purchases']:,.0f} observed (weighted absolute error "
                f"per segment and offer {s['wape']:.0%}, correlation {s['correlation']:.3f}); margin "
                f"{s['predicted_margin']:,.2f} predicted vs {s['observed_margin']:,.2f} observed "
                "(one unit per purchase occasion). Per offer: backtest.csv.")
        out.append(("The model checked against what happened", text, bt.by_segment, "calibration.png"))
    else:
        out.append(("The model checked against what happened",
                    "No backtest was run (build_plan(backtest_split=0.75) or --backtest 0.75).", None, None))
    gap = getattr(plan, "margin_gap", None)
    if gap is not None:
        out.append(("Modelled vs observed margin",
                    "The status quo's modelled margin beside the margin the data shows; each row changes "
                    "one assumption and the changes add up to the gap.", gap, None))
    return out


def _interval_sentence(iv: Any) -> str:
    """The interval sentence (one definition: :func:`bundleopt.plan_parts.summary.interval_sentence`)."""
    from bundleopt.plan_parts.summary import interval_sentence

    return interval_sentence(iv)
