"""Suite ``pricing``: the discrete price-ladder optimum against the closed-form optimum.

Market (:mod:`bundleopt.pricing_theory`): one segment, n products, ``v_j = exp(a_j -
beta_j p_j)``, ``v_0 = 1``, costs ``c_j``. With continuous prices the optimum is known
in closed form: one markup ``m* = (1 + W(z)) / beta`` when every ``beta_j = beta``, and
``p_j = c_j + 1/beta_j + theta`` (theta a scalar fixed point) otherwise, with profit
``pi*``.

The ladder ``p[j, k] = c_j + h * (k + phi)`` (k = 0, 1, ... up to ``3 m*``; the phase
``phi = 0.382`` keeps the optimum off the grid, which would otherwise contain it exactly
since every step divides ``m*``) is solved exactly
by :func:`bundleopt.solve`. Its profit can never exceed ``pi*`` and, since ``pi`` is
smooth at its maximiser, the loss ``pi* - pi_h`` should shrink like ``h^2`` as the
step ``h`` is refined (each price is within ``h / 2`` of its optimum). Rows: one per
(case, step) with ``profit_gap = (pi* - pi_h) / pi*``, the largest price error and the
solve time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bundleopt.bench.common import (
    Progress,
    new_figure,
    no_progress,
    output_dir,
    resolve_size,
    save_plot,
    timed,
    write_results,
)

SUITE = "pricing"
_PHASE = (3.0 - np.sqrt(5.0)) / 2.0  # 0.382: golden-ratio phase of the ladder

# size -> (number of products, steps h as fractions of the optimal markup)
_SIZES: dict[str, tuple[int, tuple[float, ...]]] = {
    "tiny": (3, (0.5, 0.25, 0.125)),
    "quick": (5, tuple(0.5 / 2**i for i in range(7))),
    "full": (20, tuple(0.5 / 2**i for i in range(10))),
}


def market(n: int, seed: int, equal_beta: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, beta, costs)`` of a random market: ``c ~ U(2, 10)``, ``beta ~ U(0.3, 1)``
    (one draw when ``equal_beta``), ``a_j = beta_j c_j + U(0, 2)`` so every product sells."""
    rng = np.random.default_rng(seed)
    costs = rng.uniform(2.0, 10.0, n)
    beta = np.full(n, rng.uniform(0.3, 1.0)) if equal_beta else rng.uniform(0.3, 1.0, n)
    a = beta * costs + rng.uniform(0.0, 2.0, n)
    return a, beta, costs


def ladder_row(a: np.ndarray, beta: np.ndarray, costs: np.ndarray, step: float, top: float,
               optimum) -> dict:
    """Solve the ladder ``c_j + step * (1..top/step)`` and compare with ``optimum``."""
    from bundleopt import solve
    from bundleopt.pricing_theory import ladder_scenario, markup_ladder, mnl_profit

    markups = (np.arange(int(np.ceil(top / step))) + _PHASE) * step
    grid = markup_ladder(costs, markups)
    sc = ladder_scenario(a, beta, costs, grid)
    sol, seconds = timed(lambda: solve(sc, threads=1))
    chosen = sol.prices.iloc[0].to_numpy(dtype=float)
    offered = np.isfinite(chosen)
    # a product left off the menu is priced "at infinity" for the closed-form comparison
    price_err = np.where(offered, np.abs(chosen - optimum.prices), np.inf)
    check = mnl_profit(np.where(offered, chosen, 1e6), a, beta, costs)
    return {
        "step": step, "levels": len(markups), "profit_ladder": sol.profit,
        "profit_closed_form": optimum.profit,
        "profit_gap": (optimum.profit - sol.profit) / optimum.profit,
        "max_price_error": float(price_err.max()), "all_offered": bool(offered.all()),
        "profit_recomputed_error": abs(check - sol.profit), "method": sol.method,
        "solve_seconds": seconds,
    }


def run(quick: bool = True, out: Path | None = None, seed: int = 0,
        progress: Progress = no_progress, size: str | None = None) -> pd.DataFrame:
    """Run the suite; write ``pricing.csv/.json/.png`` into ``out``; return the rows."""
    from bundleopt.pricing_theory import equal_sensitivity_optimum, product_sensitivity_optimum

    size = resolve_size(quick, size)
    out = output_dir(out, SUITE)
    n, rel_steps = _SIZES[size]
    cases = []
    for equal in (True, False):
        a, beta, costs = market(n, seed, equal)
        opt = (equal_sensitivity_optimum(a, float(beta[0]), costs) if equal
               else product_sensitivity_optimum(a, beta, costs))
        cases.append(("equal_beta" if equal else "product_beta", a, beta, costs, opt))
    total = len(cases) * len(rel_steps)
    rows = []
    for case, a, beta, costs, opt in cases:
        scale = float(np.max(opt.markups))
        for rel in rel_steps:
            progress(len(rows), total, f"pricing: {case}, step {rel:g} x markup")
            row = ladder_row(a, beta, costs, rel * scale, 3.0 * scale, opt)
            rows.append({"case": case, "n_products": n, "relative_step": rel, **row})
    progress(total, total, "pricing: done")
    df = pd.DataFrame(rows)
    df["gap_over_step2"] = df["profit_gap"] / df["relative_step"] ** 2
    notes = [
        "profit_gap = (pi* - pi_ladder) / pi*, pi* from bundleopt.pricing_theory (closed form); "
        "expected >= 0 and shrinking like step^2",
        "ladder p[j,k] = c_j + step * (k + 0.382), k = 0..ceil(3 m*/step) - 1; solved by bundleopt.solve (threads=1)",
    ]
    write_results(df, out, SUITE, size, seed, notes)
    _plot(df, out)
    return df


def _plot(df: pd.DataFrame, out: Path) -> None:
    fig, (ax,) = new_figure()
    for case, part in df.groupby("case"):
        gap = part["profit_gap"].clip(lower=1e-16)
        ax.loglog(part["relative_step"], gap, "o-", label=case)
    ref = df["relative_step"].to_numpy()
    first = df["profit_gap"].clip(lower=1e-16).iloc[0]
    ax.loglog(ref, first * (ref / ref[0]) ** 2, "k:", label="slope 2 (h^2)")
    ax.set_xlabel("ladder step / optimal markup")
    ax.set_ylabel("relative profit gap to closed form")
    ax.set_title("Price ladder vs continuous MNL optimum")
    ax.legend()
    save_plot(fig, out, SUITE)
