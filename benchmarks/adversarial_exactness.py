"""`bundleopt.solve` against brute force on instances from a second, independent generator.

The project's own stress generator (`exactness_sweep.py`, `optimize/stress_cases.py`) is
what the solver was tuned on. This one draws differently, to catch what that one misses:
log-normal utilities with sigma up to 3, rounded (tied) weights, zero weights, no-purchase
weights from 1e-6 to 1e6, prices and costs scaled by 1e-3 .. 1e6, costs above the ladder,
bundles of random components, and random mixes of up to three rule families
(cardinality, bundle cap, margin floor, margin rate overall or per segment, bundles per
product, no-arbitrage, cannibalisation, fairness, stock, must-offer), uniform or
personalised. Each case is judged by :func:`bundleopt.optimize.instances.check_exactness`.

    .venv/bin/python benchmarks/adversarial_exactness.py 400 20000    # cases, first seed

Prints the outcome counts and every failing case (seed, regime, rules, outcome).
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from bundleopt.optimize.instances import check_exactness
from bundleopt.scenario import Constraints, Scenario

REGIMES = ("wide", "ties", "tinyv0", "hugev0", "zeros", "scaled")
RULES = ("card", "bcard", "floor", "rate", "bpp", "arb", "cann", "spread", "stock", "must", "none")
OK = ("ok", "not_proved", "too_large", "ok_infeasible")


def draw(rng: np.random.Generator) -> tuple[Scenario, str, list[str]]:
    """One small scenario (1-3 segments, 2-3 products, up to 2 bundles, 1-3 levels)."""
    S, P, K = int(rng.integers(1, 4)), int(rng.integers(2, 4)), int(rng.integers(1, 4))
    comps: list[tuple[int, ...]] = [(p,) for p in range(P)]
    for _ in range(int(rng.integers(0, 3))):
        c = tuple(sorted(rng.choice(P, int(rng.integers(2, P + 1)), replace=False).tolist()))
        if c not in comps:
            comps.append(c)
    n_o = len(comps)
    regime = str(rng.choice(REGIMES))
    base = rng.lognormal(0, 3 if regime == "wide" else 1, (S, n_o, 1))
    slope = rng.uniform(0.0, 2.0, (S, 1, 1))
    scale = 10.0 ** rng.uniform(-3, 6) if regime == "scaled" else 1.0
    single = rng.choice([1.0, 2.0, 5.0], n_o) if regime == "ties" else rng.uniform(0.5, 5, n_o)
    lp = np.array([single[o] if len(c) == 1 else sum(single[p] for p in c) * rng.uniform(0.7, 1.1)
                   for o, c in enumerate(comps)])
    mult = np.sort(rng.choice([0.8, 0.9, 1.0, 1.1, 1.2], K, replace=False))
    prices = lp[:, None] * mult[None, :]
    v = base * np.exp(-slope * (prices[None] / lp[None, :, None] - 1) * 3)
    if regime == "ties":
        v = np.round(v, 1) + 0.1
    if regime == "zeros":
        v[rng.random(v.shape) < 0.3] = 0.0
    v0 = {"tinyv0": 10.0 ** rng.uniform(-6, -2, S),
          "hugev0": 10.0 ** rng.uniform(2, 6, S)}.get(regime, rng.uniform(0.2, 5, S))
    costs = lp * rng.uniform(0.2, 1.3, n_o)
    rules = [str(r) for r in rng.choice(RULES, int(rng.integers(1, 4)), replace=False)]
    kw: dict = {}
    for r in rules:
        if r == "card":
            kw["max_offers"] = int(rng.integers(1, n_o + 1))
        elif r == "bcard":
            kw["max_bundles"] = int(rng.integers(0, 2))
        elif r == "floor":
            kw["min_margin"] = float(rng.uniform(0, 0.5))
        elif r == "rate":
            kw["min_margin_rate"] = float(rng.uniform(0, 0.6))
            kw["margin_rate_scope"] = str(rng.choice(["overall", "segment"]))
        elif r == "bpp":
            kw["max_bundles_per_product"] = int(rng.integers(0, 2))
        elif r == "arb":
            kw["min_bundle_discount"] = float(rng.choice([0.0, 0.05]))
        elif r == "cann":
            kw["max_cannibalisation"] = float(rng.uniform(0, 0.5))
        elif r == "spread":
            kw["max_price_spread"] = float(rng.choice([0.0, 0.1, 0.3]))
        elif r == "stock":
            kw["stock"] = {p: float(rng.uniform(0, 0.5)) for p in range(P)}
        elif r == "must":
            kw["must_offer"] = tuple(int(p) for p in rng.choice(P, int(rng.integers(1, P + 1)), replace=False))
    sc = Scenario.from_arrays(v, v0, prices * scale, costs * scale, rng.dirichlet(np.ones(S)),
                              personalised=bool(rng.random() < 0.5), components=comps,
                              offer_ids=["+".join(map(str, c)) for c in comps], constraints=Constraints(**kw))
    return sc, regime, rules


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", type=int, nargs="?", default=200)
    ap.add_argument("first_seed", type=int, nargs="?", default=0)
    ap.add_argument("--max-decisions", type=int, default=300_000)
    args = ap.parse_args(argv)
    counts: collections.Counter[str] = collections.Counter()
    failing = []
    t0 = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.cases):
        sc, regime, rules = draw(np.random.default_rng(seed))
        r = check_exactness(sc, max_decisions=args.max_decisions)
        counts[r.outcome] += 1
        if r.outcome not in OK:
            failing.append((seed, regime, rules, r.outcome, r.flags, r.error, r.optimum, r.profit, r.bound))
    print(f"{args.cases} cases in {time.perf_counter() - t0:.0f} s: {dict(counts)}; {len(failing)} failing")
    for row in failing:
        print(row)
    return 1 if failing else 0


if __name__ == "__main__":
    raise SystemExit(main())
