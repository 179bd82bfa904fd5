"""Suite ``optimization``: the exact MILP against its weaker variant, the LP and baselines.

Two parts, on :func:`bundleopt.optimize.instances.random_instance` scenarios:

* ``compare``: on each instance, every method's profit, evaluated exactly
  (:func:`bundleopt.optimize.evaluate`), relative to the best proven bound
  (``profit_vs_bound = profit / best bound``; 1 means proven optimal):

  - ``milp``: the MILP of :func:`bundleopt.optimize.model.build_model` (Bront et al.
    linearisation + RLT rows + ``L_s`` bounds), warm-started by the greedy heuristic;
  - ``milp-no-rlt``: ``build_model(strengthen=False)``, the plain formulation (no
    RLT copies of the menu rules beyond ``z <= x``, no ``z >= L_sok y``, no per-offer
    upper McCormick rows, no tangent cuts, ``x >= 0`` instead of ``x >= L_s``). The
    optimum is the same, the root LP bound (``root_bound``) is weaker;
  - ``lp-decomposed``: on the personalised copy of the instance (prices per
    segment, no coupling rule) :func:`bundleopt.solve` splits into one exact LP per
    segment; ``milp`` on that copy is the same problem solved as one MILP;
  - every baseline of :data:`bundleopt.optimize.baselines.BASELINES`;
  - ``brute_force`` when the instance has at most ``_BRUTE_LIMIT`` decisions.

* ``sweep``: MILP build (Pyomo), hand-off (compile + pass to HiGHS) and solve time,
  gap and profit relative to the bound as offers, segments and levels grow
  (``max_offers = offers / 4``, a time limit per solve).
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

SUITE = "optimization"
_BRUTE_LIMIT = 200_000

# compare instances: (n_offers, n_bundles, n_segments, n_levels, max_offers)
_COMPARE: dict[str, list[tuple[int, int, int, int, int]]] = {
    "tiny": [(5, 1, 2, 2, 2)],
    "quick": [(6, 2, 3, 3, 3), (12, 4, 5, 4, 4), (24, 8, 8, 5, 6)],
    "full": [(6, 2, 3, 3, 3), (12, 4, 5, 4, 4), (30, 10, 10, 5, 8), (60, 20, 20, 6, 12),
             (100, 30, 30, 8, 20)],
}
# sweep: list of (n_offers, n_segments, n_levels); time limit per solve (s)
_SWEEP: dict[str, tuple[list[tuple[int, int, int]], float]] = {
    "tiny": ([(8, 2, 3), (16, 2, 3)], 10.0),
    "quick": ([(o, 5, 5) for o in (10, 20, 30)] + [(20, s, 5) for s in (2, 10)]
              + [(20, 5, k) for k in (2, 8)], 10.0),
    "full": ([(o, 10, 8) for o in (25, 50, 100, 200)] + [(50, s, 8) for s in (5, 20, 50)]
             + [(50, 10, k) for k in (3, 15, 25)], 120.0),
}


# ---------------------------------------------------------------- model variants
def milp_variant(scenario, *, rlt: bool, time_limit: float, relaxed: bool = False,
                 warm_start: bool = True) -> dict:
    """Build (``strengthen=rlt``), compile and solve (HiGHS, one thread); plain figures.

    ``relaxed=True`` solves the LP relaxation (its ``bound`` is the root bound).
    """
    from bundleopt.optimize.columns import decision_from_values, start_vector
    from bundleopt.optimize.evaluation import evaluate
    from bundleopt.optimize.highs_backend import compile_model, solve_compiled
    from bundleopt.optimize.milp import heuristic_start
    from bundleopt.optimize.model import build_model

    model, t_build = timed(lambda: build_model(scenario, relaxed=relaxed, strengthen=rlt))
    cm, t_compile = timed(lambda: compile_model(model))
    start = None
    if warm_start and not relaxed:
        decision, _ = heuristic_start(scenario)
        start = start_vector(cm, decision) if decision is not None else None
    res = solve_compiled(cm, time_limit=time_limit, threads=1, start=start)
    row = {"status": res.status, "objective": res.objective, "bound": res.bound, "gap": res.gap,
           "nodes": res.nodes, "build_s": t_build, "handoff_s": t_compile + res.handoff_s,
           "solve_s": res.solve_s, "n_cols": cm.lp.num_col_, "n_rows": cm.lp.num_row_}
    if res.has_solution and not relaxed:
        ev = evaluate(scenario, decision_from_values(cm, res.values))
        row.update(profit=ev.profit, feasible=ev.feasible)
    return row


def _baseline_rows(scenario) -> list[dict]:
    from bundleopt.optimize.baselines import BASELINES
    from bundleopt.optimize.evaluation import evaluate

    rows = []
    for name, make in BASELINES.items():
        decision, seconds = timed(lambda make=make: make(scenario))
        ev = evaluate(scenario, decision)
        rows.append({"method": name, "profit": ev.profit, "feasible": ev.feasible,
                     "total_s": seconds, "status": "heuristic"})
    return rows


def _n_decisions(scenario) -> float:
    per_menu = float(np.prod(1.0 + scenario.allowed().sum(axis=1)))
    return per_menu ** scenario.n_menus if scenario.n_menus > 1 else per_menu


def compare_instance(scenario, time_limit: float) -> list[dict]:
    """Every method on one (uniform-price) scenario and on its personalised copy."""
    from dataclasses import replace

    from bundleopt import solve
    from bundleopt.optimize.brute_force import brute_force

    rows: list[dict] = []
    for rlt in (True, False):
        root = milp_variant(scenario, rlt=rlt, time_limit=time_limit, relaxed=True)
        row = milp_variant(scenario, rlt=rlt, time_limit=time_limit)
        row.update(method="milp" if rlt else "milp-no-rlt", root_bound=root["bound"],
                   total_s=row["build_s"] + row["handoff_s"] + row["solve_s"])
        rows.append(row)
    for row in _baseline_rows(scenario):
        rows.append(row)
    if _n_decisions(scenario) <= _BRUTE_LIMIT:
        (_, ev), seconds = timed(lambda: brute_force(scenario, max_decisions=_BRUTE_LIMIT))
        rows.append({"method": "brute_force", "profit": ev.profit, "feasible": ev.feasible,
                     "total_s": seconds, "status": "optimal"})
    best_bound = min(r["bound"] for r in rows if r["method"].startswith("milp"))
    if any(r["method"] == "brute_force" for r in rows):
        best_bound = min(best_bound, next(r["profit"] for r in rows if r["method"] == "brute_force"))
    for r in rows:
        r.update(personalised=False, best_bound=best_bound)

    pers = replace(scenario, personalised=True)
    sol = solve(pers, threads=1)
    lp_row = {"method": sol.method, "profit": sol.profit, "objective": sol.objective,
              "bound": sol.best_bound, "gap": sol.gap, "feasible": True,
              "status": sol.status, **{f"{k}_s": v for k, v in sol.timings.items()}}
    milp_row = milp_variant(pers, rlt=True, time_limit=time_limit)
    milp_row.update(method="milp", total_s=milp_row["build_s"] + milp_row["handoff_s"] + milp_row["solve_s"])
    bound_p = min(lp_row["bound"], milp_row["bound"])
    for r in (lp_row, milp_row):
        r.update(personalised=True, best_bound=bound_p)
        rows.append(r)
    return rows


def run(quick: bool = True, out: Path | None = None, seed: int = 0,
        progress: Progress = no_progress, size: str | None = None) -> pd.DataFrame:
    """Run the suite; write ``optimization.csv/.json/.png`` into ``out``; return the rows."""
    from bundleopt.optimize.instances import random_instance

    size = resolve_size(quick, size)
    out = output_dir(out, SUITE)
    compare = _COMPARE[size]
    sweep, time_limit = _SWEEP[size]
    total = len(compare) + len(sweep)
    rows: list[dict] = []
    step = 0
    for i, (n_o, n_b, n_s, n_k, cap) in enumerate(compare):
        progress(step, total, f"optimization: compare {n_o} offers x {n_s} segments x {n_k} levels")
        sc = random_instance(n_o, n_s, n_k, max_offers=cap, n_bundles=n_b, seed=seed + i)
        for r in compare_instance(sc, time_limit):
            rows.append({"part": "compare", "instance": f"O{n_o}-S{n_s}-K{n_k}-C{cap}",
                         "n_offers": n_o, "n_segments": n_s, "n_levels": n_k, "max_offers": cap, **r})
        step += 1
    for j, (n_o, n_s, n_k) in enumerate(sweep):
        progress(step, total, f"optimization: sweep {n_o} offers x {n_s} segments x {n_k} levels")
        cap = max(2, n_o // 4)
        sc = random_instance(n_o, n_s, n_k, max_offers=cap, n_bundles=n_o // 4, seed=seed + 100 + j)
        r = milp_variant(sc, rlt=True, time_limit=time_limit)
        r.update(method="milp", personalised=False, best_bound=r["bound"],
                 total_s=r["build_s"] + r["handoff_s"] + r["solve_s"])
        rows.append({"part": "sweep", "instance": f"O{n_o}-S{n_s}-K{n_k}-C{cap}", "n_offers": n_o,
                     "n_segments": n_s, "n_levels": n_k, "max_offers": cap, **r})
        step += 1
    progress(total, total, "optimization: done")
    df = pd.DataFrame(rows)
    df["profit_vs_bound"] = df["profit"] / df["best_bound"]
    if "root_bound" in df:
        df["root_gap"] = (df["root_bound"] - df["best_bound"]) / df["best_bound"].abs()
    notes = [
        "profit is evaluated exactly from each method's decision; profit_vs_bound = profit / best proven "
        "bound of the instance (1 = optimal)",
        "milp-no-rlt: build_model(strengthen=False) (plain Bront et al. linearisation, z <= x kept); "
        "root_gap = root LP bound / best bound - 1",
        f"HiGHS threads=1; time limit per MILP: {time_limit:g} s; brute force when <= {_BRUTE_LIMIT} decisions",
    ]
    write_results(df, out, SUITE, size, seed, notes)
    _plot(df, out)
    return df


def _plot(df: pd.DataFrame, out: Path) -> None:
    fig, (ax1, ax2) = new_figure(2, width=6.0)
    comp = df[(df["part"] == "compare") & ~df["personalised"].astype(bool)]
    pivot = comp.pivot_table(index="instance", columns="method", values="profit_vs_bound", sort=False)
    pivot.plot.bar(ax=ax1, rot=0)
    ax1.set_ylim(max(0.0, float(np.nanmin(pivot.to_numpy())) - 0.05), 1.01)
    ax1.set_ylabel("profit / best bound")
    ax1.set_title("Methods on random instances (uniform prices)")
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4)
    sw = df[df["part"] == "sweep"].copy()
    size = sw["n_segments"] * sw["n_offers"] * sw["n_levels"]
    for col, mark in (("build_s", "o"), ("handoff_s", "s"), ("solve_s", "^")):
        ax2.loglog(size, sw[col].clip(lower=1e-4), mark, label=col.replace("_s", ""))
    ax2.set_xlabel("segments x offers x levels")
    ax2.set_ylabel("seconds")
    ax2.set_title("MILP size sweep")
    ax2.legend()
    save_plot(fig, out, SUITE)
