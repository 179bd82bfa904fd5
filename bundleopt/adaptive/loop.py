"""The closed loop: a policy prices a simulated market period by period, against an oracle.

Period ``t = 0..T-1`` with ``n`` customers:

1. the policy offers its plan ``d_t`` (:meth:`ThompsonPolicy.plan`);
2. the market sells to ``n`` customers under the true model at ``t`` (:meth:`Market.sell`);
3. the policy updates its posterior on the sales (:meth:`ThompsonPolicy.update`).

The oracle knows the true scenario ``sc_t`` and offers ``d*_t = solve(sc_t)``. With
``profit_t(d)`` the exact expected profit of ``d`` under ``sc_t`` per customer
(:func:`bundleopt.evaluate`), the per-period regret and the cumulative regret are::

    r_t = n (profit_t(d*_t) - profit_t(d_t)) >= 0,     R_T = sum_{t < T} r_t

Expected values are reported (exact, no sampling noise) next to the realised sales.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bundleopt.adaptive.market import Market
from bundleopt.adaptive.policy import ThompsonPolicy
from bundleopt.optimize import evaluate, solve
from bundleopt.scenario import Decision

#: the issue's goal: policy / oracle expected revenue over the last periods
TARGET_RATIO = 0.95


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Per-period outcomes of a simulation (plain data).

    ``periods`` has one row per period: ``period``, ``customers``, expected
    ``policy_profit``/``oracle_profit``/``policy_revenue``/``oracle_revenue`` (totals over
    the period's customers, under the true model), ``regret`` (profit), ``cumulative_regret``,
    ``profit_ratio``/``revenue_ratio`` (policy / oracle), ``realised_profit``/
    ``realised_revenue`` (from the simulated sales), ``plan_s``/``update_s`` (seconds).
    ``decisions`` and ``oracle_decisions`` hold the plans; ``posterior`` the policy's
    final posterior; ``settings`` the run's arguments.
    """

    periods: pd.DataFrame
    decisions: list[Decision]
    oracle_decisions: list[Decision]
    posterior: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self, last: int = 5) -> dict[str, Any]:
        """Headline figures: ratios over the ``last`` periods, regret early vs late."""
        p = self.periods
        tail = p.tail(last)
        k = max(1, min(10, len(p) // 5))
        return {
            "periods": int(len(p)),
            "customers_per_period": int(p["customers"].iloc[0]) if len(p) else 0,
            f"revenue_ratio_last{last}": float(tail["policy_revenue"].sum() / tail["oracle_revenue"].sum()),
            f"profit_ratio_last{last}": float(tail["policy_profit"].sum() / tail["oracle_profit"].sum()),
            "revenue_ratio_all": float(p["policy_revenue"].sum() / p["oracle_revenue"].sum()),
            "profit_ratio_all": float(p["policy_profit"].sum() / p["oracle_profit"].sum()),
            f"mean_regret_first{k}": float(p["regret"].head(k).mean()),
            f"mean_regret_last{k}": float(p["regret"].tail(k).mean()),
            "cumulative_regret": float(p["cumulative_regret"].iloc[-1]),
            "goal_revenue_ratio": TARGET_RATIO,
            "goal_met": bool(tail["policy_revenue"].sum() >= TARGET_RATIO * tail["oracle_revenue"].sum()),
            "seconds": float(p["plan_s"].sum() + p["update_s"].sum() + p["oracle_s"].sum()),
        }

    def save(self, out_dir: str | Path, *, overwrite: bool = False) -> dict[str, Path]:
        """Write the result into the folder ``out_dir`` (see :meth:`write_files`); returns the paths.

        The folder is written like every bundleopt output (:func:`bundleopt.outdir.staged_folder`):
        it must be new or empty, or, with ``overwrite=True``, a folder bundleopt wrote and
        nothing else; a folder holding other files is refused, never emptied.
        """
        from bundleopt.outdir import staged_folder

        with staged_folder(out_dir, kind="simulation", overwrite=overwrite) as tmp:
            written = self.write_files(tmp)
        return {name: Path(out_dir) / path.name for name, path in written.items()}

    def write_files(self, folder: str | Path) -> dict[str, Path]:
        """Write ``periods.csv``, ``summary.json`` (with settings), ``posterior.csv`` and
        ``curves.png`` into the existing folder ``folder`` (files of these names are
        replaced); returns the paths. :meth:`save` is the safe way to write a folder."""
        out = Path(folder)
        paths = {"periods": out / "periods.csv", "summary": out / "summary.json",
                 "posterior": out / "posterior.csv", "plot": out / "curves.png"}
        self.periods.to_csv(paths["periods"], index=False)
        self.posterior.to_csv(paths["posterior"], index=False)
        payload = {"summary": self.summary(), "settings": self.settings,
                   "periods": self.periods.to_dict(orient="list")}
        paths["summary"].write_text(json.dumps(payload, indent=2, default=_jsonable))
        plot_simulation(self, paths["plot"])
        return paths


def run_simulation(
    market: Market,
    policy: ThompsonPolicy,
    n_periods: int = 50,
    customers_per_period: int = 500,
    seed: int = 0,
    progress: bool = False,
) -> SimulationResult:
    """Run ``policy`` on ``market`` for ``n_periods`` periods (see the module docstring).

    ``seed`` drives the customers' draws; the policy has its own ``seed``.

    >>> from bundleopt.adaptive import ThompsonPolicy, benchmark_market
    >>> res = run_simulation(benchmark_market(0), ThompsonPolicy(seed=0), n_periods=3,
    ...                      customers_per_period=100)
    >>> list(res.periods["period"]), bool((res.periods["regret"] >= 0).all())
    ([0, 1, 2], True)
    """
    if not isinstance(market, Market):
        raise ValueError(f"market must be a bundleopt.adaptive.Market, got {type(market).__name__}")
    for name, value in (("n_periods", n_periods), ("customers_per_period", customers_per_period)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    rng = np.random.default_rng(seed)
    policy.reset(market.catalog)
    oracle_opts = dict(policy.solve_options)
    rows: list[dict[str, Any]] = []
    decisions: list[Decision] = []
    oracle_decisions: list[Decision] = []
    oracle_cache: dict[int, tuple[Decision, Any]] = {}
    n = int(customers_per_period)
    cumulative = 0.0
    columns = [TextColumn("[progress.description]{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn()]
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("simulating", total=int(n_periods))
        for t in range(int(n_periods)):
            truth = market.scenario(t)
            t0 = time.perf_counter()
            key = t if market.drifts else 0
            if key not in oracle_cache:
                d_star = solve(truth, **oracle_opts).decision
                oracle_cache[key] = (d_star, evaluate(truth, d_star))
            d_star, ev_star = oracle_cache[key]
            t1 = time.perf_counter()
            decision = policy.plan(t)
            t2 = time.perf_counter()
            ev = evaluate(truth, decision)
            sales = market.sell(decision, n, period=t, rng=rng, first_obs=t * n)
            t3 = time.perf_counter()
            policy.update(sales, t)
            t4 = time.perf_counter()
            bought = sales["chosen"].to_numpy() == 1
            regret = n * (ev_star.profit - ev.profit)
            cumulative += regret
            rows.append({
                "period": t, "customers": n,
                "policy_profit": n * ev.profit, "oracle_profit": n * ev_star.profit,
                "policy_revenue": n * ev.revenue, "oracle_revenue": n * ev_star.revenue,
                "regret": regret, "cumulative_regret": cumulative,
                "profit_ratio": ev.profit / ev_star.profit if ev_star.profit else np.nan,
                "revenue_ratio": ev.revenue / ev_star.revenue if ev_star.revenue else np.nan,
                "realised_profit": float((sales["price"] - sales["cost"]).to_numpy()[bought].sum()),
                "realised_revenue": float(sales["price"].to_numpy()[bought].sum()),
                "plan_s": t2 - t1, "update_s": t4 - t3, "oracle_s": t1 - t0,
            })
            decisions.append(decision)
            oracle_decisions.append(d_star)
            bar.update(task, advance=1,
                       description=f"simulating: period {t + 1}, profit ratio {rows[-1]['profit_ratio']:.3f}")
    settings = {"n_periods": int(n_periods), "customers_per_period": n, "seed": seed,
                "policy": {k: v for k, v in vars(policy).items() if not k.endswith("_")},
                "drift_sd": market.drift_sd, "segments": list(market.catalog.segment_ids),
                "offers": list(market.catalog.offer_ids), "n_levels": int(market.catalog.prices.shape[1]),
                "observed_segments": market.catalog.observed_segments,
                "personalised": market.catalog.personalised}
    return SimulationResult(pd.DataFrame(rows), decisions, oracle_decisions, policy.posterior(), settings)


def plot_simulation(result: SimulationResult, path: str | Path | None = None):
    """Two panels: expected revenue and profit per period (policy vs oracle), and the
    per-period and cumulative regret. Saved to ``path`` when given; returns the Figure."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    p = result.periods
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(p["period"], p["oracle_revenue"], "k--", label="oracle revenue")
    ax1.plot(p["period"], p["policy_revenue"], "C0", label="policy revenue")
    ax1.plot(p["period"], p["oracle_profit"], "k:", label="oracle profit")
    ax1.plot(p["period"], p["policy_profit"], "C1", label="policy profit")
    ax1.set_xlabel("period")
    ax1.set_ylabel("expected per period")
    ax1.legend(loc="lower right")
    ax2.plot(p["period"], p["regret"], "C3", label="regret per period")
    ax2.set_xlabel("period")
    ax2.set_ylabel("regret (profit)")
    ax3 = ax2.twinx()
    ax3.plot(p["period"], p["cumulative_regret"], "C2", label="cumulative regret")
    ax3.set_ylabel("cumulative regret")
    ax2.legend(loc="upper left")
    ax3.legend(loc="upper right")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
