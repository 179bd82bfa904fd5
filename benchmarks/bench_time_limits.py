"""Time limits kept, and rules that couple segments solved by decomposition (issue 19).

Each case runs ``bundleopt.solve`` in a fresh subprocess (so that its peak memory,
``ru_maxrss`` of the child, is its own) and prints one table row: wall seconds,
status, method, reported gap and peak memory.

    PYTHONPATH=. nice python benchmarks/bench_time_limits.py limits   # limits 1, 5, 10, 60 s
    PYTHONPATH=. nice python benchmarks/bench_time_limits.py coupled  # the goals of issue 19
    PYTHONPATH=. nice python benchmarks/bench_time_limits.py fair     # fairness across segments
    PYTHONPATH=. python benchmarks/bench_time_limits.py one CASE LIMIT  # a single row

Cases (``random_instance``, seed 1): ``uniform500`` 500 x 10 x 5 uniform C=50;
``uniform100`` 100 x 20 x 5 uniform C=20; ``pers1000`` 1000 x 20 x 10 personalised,
no coupling rule; ``rate1000`` / ``rate5000`` the same (1000 / 5000 offers) with an
overall margin rate of 0.62 (the uncoupled optimum's is 0.596 at 1000 offers, so it
binds); ``cannib1000`` / ``cannib5000`` with a cannibalisation cap of 0.2 on the
first 10 products (it binds on 2 of them); ``both1000`` / ``both5000`` with both;
``rate1000c50`` with an offer cap of 50; ``bundles1000`` with 100 of the 1000 offers
bundles, at most 5 bundles per menu and the margin rate (segments priced by their
LP); ``fair1000`` / ``fair5000`` with fairness across segments (``max_price_spread``
0.1: a window of about 3 of the 10 ladder levels, 4.8% apart; ``fair1000d2``: 0.2) and ``fairrate1000`` /
``fairrate5000`` with fairness and the margin rate (price windows,
``formulations/coupled_decomposition.md``). mip_gap 1e-4 (the default) throughout. Timings on a shared machine are upper
bounds.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

CASES = {
    "uniform500": dict(n_offers=500, n_segments=10, n_levels=5, max_offers=50),
    "uniform100": dict(n_offers=100, n_segments=20, n_levels=5, max_offers=20),
    "pers1000": dict(n_offers=1000, n_segments=20, n_levels=10, personalised=True),
    "rate1000": dict(n_offers=1000, n_segments=20, n_levels=10, personalised=True,
                     rule=dict(min_margin_rate=0.62)),
    "rate5000": dict(n_offers=5000, n_segments=20, n_levels=10, personalised=True,
                     rule=dict(min_margin_rate=0.62)),
    "cannib1000": dict(n_offers=1000, n_segments=20, n_levels=10, personalised=True,
                       rule=dict(max_cannibalisation=0.2), protect=10),
    "cannib5000": dict(n_offers=5000, n_segments=20, n_levels=10, personalised=True,
                       rule=dict(max_cannibalisation=0.2), protect=10),
    "both1000": dict(n_offers=1000, n_segments=20, n_levels=10, personalised=True,
                     rule=dict(min_margin_rate=0.62, max_cannibalisation=0.2), protect=10),
    "both5000": dict(n_offers=5000, n_segments=20, n_levels=10, personalised=True,
                     rule=dict(min_margin_rate=0.62, max_cannibalisation=0.2), protect=10),
    "rate1000c50": dict(n_offers=1000, n_segments=20, n_levels=10, max_offers=50, personalised=True,
                        rule=dict(min_margin_rate=0.62)),
    "bundles1000": dict(n_offers=1000, n_segments=20, n_levels=10, n_bundles=100, personalised=True,
                        rule=dict(min_margin_rate=0.62, max_bundles=5)),
    "fair1000": dict(n_offers=1000, n_segments=20, n_levels=10, personalised=True,
                     rule=dict(max_price_spread=0.1)),
    "fair1000d2": dict(n_offers=1000, n_segments=20, n_levels=10, personalised=True,
                       rule=dict(max_price_spread=0.2)),
    "fair5000": dict(n_offers=5000, n_segments=20, n_levels=10, personalised=True,
                     rule=dict(max_price_spread=0.1)),
    "fairrate1000": dict(n_offers=1000, n_segments=20, n_levels=10, personalised=True,
                         rule=dict(max_price_spread=0.1, min_margin_rate=0.62)),
    "fairrate5000": dict(n_offers=5000, n_segments=20, n_levels=10, personalised=True,
                         rule=dict(max_price_spread=0.1, min_margin_rate=0.62)),
}


def scenario(case: str):
    """The scenario of ``case`` (module docstring)."""
    from bundleopt.optimize.instances import random_instance

    spec = dict(CASES[case])
    rule = spec.pop("rule", {})
    protect = spec.pop("protect", None)
    sc = random_instance(spec.pop("n_offers"), spec.pop("n_segments"), spec.pop("n_levels"),
                         seed=1, **spec)
    if protect is not None:
        rule = {**rule, "protected_products": tuple(sc.products[:protect])}
    return sc.with_constraints(**rule) if rule else sc


def one(case: str, limit: float, mip_gap: float) -> dict:
    """Solve ``case`` with ``time_limit=limit`` in this process; the row as a dict."""
    import bundleopt

    sc = scenario(case)
    t0 = time.perf_counter()
    sol = bundleopt.solve(sc, time_limit=limit, mip_gap=mip_gap, threads=1)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"case": case, "limit": limit, "wall": round(wall, 2), "status": sol.status,
            "method": sol.method, "gap": sol.gap, "profit": sol.profit,
            "bound": sol.best_bound, "peak_gb": round(peak, 2)}


def run(case: str, limit: float, mip_gap: float = 1e-4) -> dict:
    """:func:`one` in a fresh subprocess."""
    out = subprocess.run([sys.executable, __file__, "one", case, str(limit), str(mip_gap)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"case": case, "limit": limit, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(r: dict) -> str:
    if "error" in r:
        return f"| {r['case']} | {r['limit']} | error: {r['error']} |"
    over = r["wall"] - r["limit"]
    return (f"| {r['case']} | {r['limit']:g} | {r['wall']:.2f} | {over:+.2f} | {r['status']} | "
            f"{r['method']} | {100 * r['gap']:.4g}% | {r['peak_gb']:.2f} |")


HEADER = ("| case | time_limit (s) | wall (s) | over (s) | status | method | gap | peak GB |\n"
          "|---|---|---|---|---|---|---|---|")


def main(argv: list[str]) -> None:
    what = argv[0] if argv else "limits"
    if what == "one":
        print(json.dumps(one(argv[1], float(argv[2]), float(argv[3]) if len(argv) > 3 else 1e-4)))
        return
    print(HEADER, flush=True)
    if what == "limits":
        for case in ("uniform500", "pers1000", "rate1000", "uniform100"):
            for limit in (1, 5, 10, 60):
                print(row(run(case, limit)), flush=True)
    elif what == "coupled":
        for case, limit in (("rate1000", 60), ("cannib1000", 60), ("both1000", 60),
                            ("rate1000c50", 60), ("bundles1000", 60),
                            ("rate5000", 120), ("cannib5000", 120), ("both5000", 120)):
            print(row(run(case, limit)), flush=True)
    elif what == "fair":
        for case, limit in (("fair1000", 60), ("fair1000d2", 30), ("fairrate1000", 60), ("fair5000", 120),
                            ("fairrate5000", 120)):
            print(row(run(case, limit)), flush=True)
    else:
        raise SystemExit(f"unknown mode {what!r}: limits, coupled, fair or one")


if __name__ == "__main__":
    main(sys.argv[1:])
