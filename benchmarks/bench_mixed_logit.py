"""Mixed logit on Swissmetro: bundleopt.choice.MixedLogit against xlogit, side by side.

Biogeme's normal-mixture example: ASC_TRAIN, ASC_CAR (SM the reference), B_TIME ~ N(b, s),
B_COST fixed; the usual filters (PURPOSE in {1, 3}, CHOICE != 0); travel time and cost / 100;
costs 0 for GA holders on train and Swissmetro. Cross-section and panel (by ID), then the data
replicated to about N = 1e5 observations (cross-section). Every case runs both tools in the
same process, one after the other (the machine is shared: compare within a row).

    PYTHONPATH=. python benchmarks/bench_mixed_logit.py [--draws 2000] [--big-draws 500] [--skip-big]

xlogit (``pip install xlogit``) uses its default start (the MNL-like zeros with SD 0.1);
"xlogit, SD start 1.66" gives it our large-SD start for reference.
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np
import pandas as pd

from bundleopt.bench.estimation import swissmetro_long
from bundleopt.choice import MixedLogit
from bundleopt.datasets import load_swissmetro


def swissmetro_panel() -> pd.DataFrame:
    """Swissmetro long format with the respondent ``ID`` (the panel)."""
    df, _ = swissmetro_long()
    raw = load_swissmetro()
    raw = raw[raw["PURPOSE"].isin([1, 3]) & (raw["CHOICE"] != 0)].reset_index(drop=True)
    df["ID"] = raw["ID"].to_numpy()[df["obs"].to_numpy()]
    return df


def replicate(df: pd.DataFrame, times: int) -> pd.DataFrame:
    """``times`` copies of the data as distinct observations (and respondents)."""
    n_obs, n_id = df["obs"].max() + 1, df["ID"].max() + 1
    parts = [df.assign(obs=df["obs"] + c * n_obs, ID=df["ID"] + c * n_id) for c in range(times)]
    return pd.concat(parts, ignore_index=True)


def fit_ours(df: pd.DataFrame, n_draws: int, panel: str | None) -> dict:
    t0 = time.perf_counter()
    m = MixedLogit(features=["tt", "co"], random={"tt": "normal"}, reference=2, n_draws=n_draws).fit(
        df, avail="available", panel=panel)
    p = m.params_
    return {"tool": "bundleopt", "loglik": m.loglik_, "ASC_TRAIN": p["ASC_1"], "ASC_CAR": p["ASC_3"],
            "B_TIME": p["tt"], "SD_TIME": p["SD_tt"], "B_COST": p["co"], "seconds": time.perf_counter() - t0,
            "converged": m.converged_}


def fit_xlogit(df: pd.DataFrame, n_draws: int, panel: str | None, init: np.ndarray | None = None) -> dict:
    from xlogit import MixedLogit as XMixedLogit

    X = df.assign(asc_1=(df["alt"] == 1).astype(float), asc_3=(df["alt"] == 3).astype(float))
    names = ["asc_1", "asc_3", "tt", "co"]
    t0 = time.perf_counter()
    m = XMixedLogit()
    m.fit(X=X[names], y=X["chosen"], varnames=names, alts=X["alt"], ids=X["obs"], avail=X["available"],
          randvars={"tt": "n"}, n_draws=n_draws, panels=X[panel] if panel else None, init_coeff=init,
          verbose=0)
    c = dict(zip(m.coeff_names, m.coeff_, strict=True))
    return {"tool": "xlogit" + ("" if init is None else ", SD start 1.66"), "loglik": float(m.loglikelihood),
            "ASC_TRAIN": c["asc_1"], "ASC_CAR": c["asc_3"], "B_TIME": c["tt"], "SD_TIME": abs(c["sd.tt"]),
            "B_COST": c["co"], "seconds": time.perf_counter() - t0, "converged": bool(m.convergence)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--big-draws", type=int, default=500)
    ap.add_argument("--big-times", type=int, default=15)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--skip-xlogit", action="store_true")
    args = ap.parse_args()
    if not args.skip_xlogit and importlib.util.find_spec("xlogit") is None:
        print("xlogit is not installed (pip install xlogit): its rows are left out", flush=True)
        args.skip_xlogit = True
    df = swissmetro_panel()
    cases = [("cross-section", df, None, args.draws), ("panel (ID)", df, "ID", args.draws)]
    if not args.skip_big:
        cases.append((f"cross-section x{args.big_times}", replicate(df, args.big_times), None, args.big_draws))
    rows = []
    for name, data, panel, R in cases:
        n_obs = int(data["obs"].nunique())
        runs = [lambda: fit_ours(data, R, panel)]  # noqa: B023
        if not args.skip_xlogit:
            runs.append(lambda: fit_xlogit(data, R, panel))  # noqa: B023
            if panel is None and name == "cross-section":
                runs.append(lambda: fit_xlogit(data, R, panel, init=np.array([-0.4, 0.14, -2.26, -1.29, 1.66])))  # noqa: B023
        for run in runs:
            row = {"case": name, "N": n_obs, "draws": R, **run()}
            rows.append(row)
            print(pd.DataFrame([row]).to_string(index=False, float_format=lambda x: f"{x:.4f}"), flush=True)
    table = pd.DataFrame(rows)
    print()
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))


if __name__ == "__main__":
    main()
