"""The MILP (with bound tightening) against brute force on many small random instances.

The unit tests run a dozen hypothesis examples per property; this sweep runs every
seed in a range over five rule mixes, uniform and personalised prices, and prints
every mismatch (profit of the decision found vs the brute-force optimum, or a best
bound below that optimum). Exit status 1 when any mismatch is found.

    .venv/bin/python benchmarks/exactness_sweep.py --seeds 0 300
"""

from __future__ import annotations

import argparse
import sys
import time

from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.evaluate import evaluate
from bundleopt.optimize.instances import random_instance
from bundleopt.optimize.solve import solve_milp
from bundleopt.scenario import Constraints

RULES = {
    "cardinality": {"max_offers": 2},
    "cannibalisation": {"max_offers": 3, "max_cannibalisation": 0.5},
    "stock": {"max_offers": 3, "stock": {"p0": 0.1}},
    "margin-rate": {"max_offers": 3, "min_margin_rate": 0.45},
    "price-spread": {"max_offers": 2, "max_price_spread": 0.1},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", nargs=2, type=int, default=[0, 100], metavar=("FIRST", "STOP"))
    args = ap.parse_args()
    checked = mismatches = 0
    t0 = time.perf_counter()
    for seed in range(*args.seeds):
        for name, rules in RULES.items():
            for personalised in (False, True):
                n_offers, n_segments, n_levels = (4, 2, 2) if personalised else (5, 3, 3)
                sc = random_instance(n_offers, n_segments, n_levels, n_bundles=1, seed=seed,
                                     constraints=Constraints(**rules), max_bundle_size=2,
                                     personalised=personalised, synergy=1.0)
                try:
                    best = brute_force(sc)[1].profit
                except ValueError:  # no feasible decision
                    continue
                run = solve_milp(sc, threads=1, mip_gap=1e-9)
                checked += 1
                got = evaluate(sc, run.decision).profit if run.decision is not None else float("nan")
                tol = 1e-6 * abs(best) + 1e-9
                if not abs(got - best) <= tol or run.result.bound < best - tol:
                    mismatches += 1
                    print(f"MISMATCH seed={seed} rules={name} personalised={personalised}: "
                          f"found {got!r}, optimum {best!r}, bound {run.result.bound!r}; {run.notes}",
                          flush=True)
    print(f"{checked} instances, {mismatches} mismatches, {time.perf_counter() - t0:.0f} s")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
