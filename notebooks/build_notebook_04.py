"""Cells of notebook 04 (neural and mixed-logit choice models into the exact optimizer).

``notebooks/build_notebooks.py`` adds :data:`NOTEBOOK_04` to its notebooks, so
``python notebooks/build_notebooks.py`` writes it with the others. Kept in its own file so
that the generator's other notebooks can change independently.
"""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


NEURAL_AND_MIXED = [
    md(r"""
# 04 · Neural and mixed-logit choice models, fed to the exact optimizer

MNL and latent-class MNL give every customer of a segment the same tastes. Two richer
models are in `bundleopt.choice`:

* **`MixedLogit`**: random coefficients, e.g. a travel-time or price coefficient that
  varies across the population as a normal or log-normal distribution, estimated by
  simulated maximum likelihood;
* **neural models**: `TasteNet` maps customer features to taste coefficients with a small
  network (the price coefficient is $-\mathrm{softplus}(\cdot)$, negative by construction);
  `BundleNet` also scores **bundles never sold** from their components' embeddings.

Both are averages of MNLs: $R$ coefficient draws (or $R$ sampled customers) are $R$ MNL
segments of weight $1/R$, so the exact latent-class MILP behind `bundleopt.solve` stays
exact for the sampled model. This notebook fits them on Swissmetro and Ta-Feng, compares
their fit **out of sample** with MNL, hands them to `solve`, and measures how far the plan
from $R$ draws is from its value on fresh draws. Samples are small so it runs in a few
minutes; `bundleopt bench estimation` and `end-to-end` run the same comparisons larger.
"""),
    code("""
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bundleopt
from bundleopt.choice import MNL, MixedLogit, TasteNet
from bundleopt.datasets import DatasetUnavailable

%matplotlib inline
pd.set_option("display.width", 160)


def mean_loglik(model, df, **kw):
    \"\"\"Mean log-probability of the chosen alternative per observation.\"\"\"
    p = model.predict_proba(df, **kw).to_numpy()
    return float(np.log(p[df["chosen"].to_numpy() == 1]).mean())
"""),
    md(r"""
## 1 · Swissmetro: a random travel-time coefficient, and tastes from customer features

The Biogeme normal-mixture example: constants for train and car (Swissmetro the
reference), travel time and cost in hundreds. The mixed logit lets the travel-time
coefficient be $N(b, \sigma^2)$ across respondents; TasteNet lets both coefficients be
functions of the respondent's age, income, sex, season ticket (GA), first class and
luggage. We fit on a random 60% of the respondents and score the other 40% (whole
respondents held out, so the test is on people the models never saw).
"""),
    code("""
from bundleopt.bench.estimation import swissmetro_long
from bundleopt.datasets import load_swissmetro

try:
    sm, spec = swissmetro_long()
except DatasetUnavailable as exc:
    sm = None
    print("Swissmetro unavailable, skipped:", exc)
else:
    raw = load_swissmetro()
    raw = raw[raw["PURPOSE"].isin([1, 3]) & (raw["CHOICE"] != 0)].reset_index(drop=True)
    people = ["AGE", "INCOME", "MALE", "GA", "FIRST", "LUGGAGE"]
    sm = sm.join(raw[["ID", *people]], on="obs")
    ids = sm["ID"].unique()
    test_ids = set(np.random.default_rng(0).choice(ids, int(0.4 * len(ids)), replace=False))
    sm_train = sm[~sm["ID"].isin(test_ids)]
    sm_train = sm_train[sm_train["obs"].isin(sm_train["obs"].unique()[:2500])]  # a quick sample
    sm_test = sm[sm["ID"].isin(test_ids)]
    print(sm_train["obs"].nunique(), "training and", sm_test["obs"].nunique(), "test choices")
"""),
    code("""
if sm is not None:
    kw = dict(avail="available")
    sm_models = {
        "MNL": MNL(features=["tt", "co"], reference=2),
        "MixedLogit": MixedLogit(features=["tt", "co"], random={"tt": "normal"}, reference=2, n_draws=100,
                                 sd_starts=(1.0,)),
        "TasteNet": TasteNet(features=["tt", "co"], customer_features=people, price="co", reference=2,
                             hidden=(8,), learning_rate=0.03, max_epochs=800, patience=30),
    }
    rows = []
    for name, model in sm_models.items():
        t0 = time.perf_counter()
        model.fit(sm_train, **kw)
        rows.append({"model": name, "fit_s": time.perf_counter() - t0,
                     "train_loglik": mean_loglik(model, sm_train, **kw),
                     "test_loglik": mean_loglik(model, sm_test, **kw)})
    sm_fit = pd.DataFrame(rows).set_index("model")
    display(sm_fit.round(4))
    print(sm_models["MixedLogit"].params_.round(3).to_dict())
    assert sm_models["MixedLogit"].params_["SD_tt"] > 0.3  # travel-time tastes vary
    assert sm_fit.loc["MixedLogit", "test_loglik"] > sm_fit.loc["MNL", "test_loglik"]
"""),
    md(r"""
The figure shows each model's test log-likelihood per choice (higher is better) and,
for TasteNet, how its cost coefficient varies with income across the test respondents:
negative for everybody by construction, with a spread the MNL cannot have.
"""),
    code("""
if sm is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.bar(sm_fit.index, sm_fit["test_loglik"])
    ax1.set_ylim(sm_fit["test_loglik"].min() * 1.03, sm_fit["test_loglik"].max() * 0.97)
    ax1.set_ylabel("test log-likelihood per choice")
    ax1.set_title("Swissmetro, respondents held out")
    taste = sm_models["TasteNet"].taste_coefficients(sm_test)
    income = sm_test.drop_duplicates("obs").set_index("obs")["INCOME"].reindex(taste.index)
    ax2.scatter(income + np.random.default_rng(0).uniform(-0.2, 0.2, len(income)), taste["co"], s=4, alpha=0.4)
    ax2.axhline(sm_models["MNL"].params_["co"], color="k", ls=":", label="MNL")
    ax2.set_xlabel("income class (jittered)")
    ax2.set_ylabel("cost coefficient")
    ax2.set_title("TasteNet: cost coefficient per respondent")
    ax2.legend()
    plt.tight_layout()
    plt.show()
    assert (taste["co"] < 0).all()
"""),
    md(r"""
## 2 · Ta-Feng: fit on Nov-Dec 2000, score Jan-Feb 2001

Grocery purchases among the 10 best sellers and not buying (`purchase_share = 0.5`, the
market-size assumption). The utility of every model is
$ASC_j + b_{price}\,price + b_{habit}\,\mathrm{bought\_before}$, where `bought_before`
says whether the customer bought the product on an earlier day (computed from the past
only). The mixed logit makes both coefficients random; TasteNet makes them functions of
age and the number of earlier shopping days. `bundleopt.bench.out_of_sample` builds the
data and scores each model on the later window: log-likelihood per occasion and hit rate
(the most probable alternative was the one chosen).
"""),
    code("""
from bundleopt.bench.out_of_sample import make_models, score, shop_choice_frame, split_by_time
from bundleopt.data.choice_data import NO_PURCHASE
from bundleopt.datasets import load_tafeng

try:
    tx, catalog = load_tafeng(top_products=10)
except DatasetUnavailable as exc:
    tx = None
    print("Ta-Feng unavailable, skipped:", exc)
else:
    tf = shop_choice_frame(tx, catalog, purchase_share=0.5)
    tf_train, tf_test = split_by_time(tf, "2001-01-01", n_max=800)
    tf_models = {k: v for k, v in make_models(NO_PURCHASE, n_draws=25).items() if k != "LatentClassMNL"}
    rows = []
    for name, model in tf_models.items():
        model.fit(tf_train, avail="available")
        ll, hit = score(model, tf_test)
        rows.append({"model": name, "test_loglik": ll, "test_hit_rate": hit})
    tf_fit = pd.DataFrame(rows).set_index("model")
    display(tf_fit.round(4))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(tf_fit.index, tf_fit["test_loglik"])
    ax.set_ylim(tf_fit["test_loglik"].min() * 1.03, tf_fit["test_loglik"].max() * 0.97)
    ax.set_ylabel("test log-likelihood per occasion")
    ax.set_title("Ta-Feng, Jan-Feb 2001")
    plt.show()
    assert np.isfinite(tf_fit["test_loglik"]).all()
"""),
    md(r"""
### Feeding the fitted models to `solve`

`Scenario.from_models` takes a fitted `MixedLogit` or `TasteNet` as it takes an MNL: the
mixed logit's coefficient draws, or TasteNet's customers sampled from the training
population, become 16 segments of weight 1/16 (`DEFAULT_SEGMENT_DRAWS`; more make the
MILP slower, see `formulations/choice_models.md`). Prices are a ladder of 0.8, 0.9 and
1.0 times each product's list price (in hundreds, as fitted); `bought_before` is 0 (a
new customer); at most 5 products on the menu.
"""),
    code("""
if tx is not None:
    offers = [a for a in tf_models["MNL"].alternatives_ if a != NO_PURCHASE]
    cat = catalog.assign(product_id=catalog["product_id"].astype(str)).set_index("product_id")
    lists = cat.loc[offers, "list_price"].to_numpy() / 100
    prices = lists[:, None] * np.array([0.8, 0.9, 1.0])
    costs = cat.loc[offers, "unit_cost"].to_numpy() / 100
    plans = {}
    for name, model in tf_models.items():
        sc = bundleopt.Scenario.from_models(model, offers, prices, costs, no_purchase=NO_PURCHASE,
                                            features={"bought_before": np.zeros(len(offers))}, max_offers=5)
        sol = bundleopt.solve(sc, threads=1, time_limit=60)
        plans[name] = sol
        print(f"{name:10s} {sc.n_segments:2d} segments  {sol.status:8s} expected profit {sol.objective:.4f} "
              f"(per occasion, hundreds)  menu: {(sol.decision.levels[0] >= 0).sum()} products")
        assert sol.status == "optimal"
"""),
    md(r"""
## 3 · Bundles never sold, and the sampling gap

`BundleNet` gives an offer the utility $\sum_{i\in o} a_i + \sum_{i<j \in o} g(x_i, x_j)$, where $g$ is a
network of the two components' embeddings and features, so a bundle that never appeared
in the data still gets a value. On a simulated market whose truth makes bundles across
categories complements ($g = +1$) and within a category substitutes ($g = -1$), with three
bundles never offered, compare what BundleNet learns for those three with the truth
(the additive baseline, `interaction=False`, says 0 for every bundle).
"""),
    code("""
from bundleopt.choice.bundle_net import BundleNet
from bundleopt.datasets.bundle_market import NO_PURCHASE as NONE
from bundleopt.datasets.bundle_market import simulate_bundle_market

market, truth = simulate_bundle_market(n_obs=2500, n_products=6, hidden=3, seed=1)
net = BundleNet(components=truth.components, product_features=truth.products[["category"]],
                customer_features=["income"], no_purchase=NONE, hidden=(8,), max_epochs=400, patience=30).fit(market)
learned = pd.DataFrame({"learned": net.interaction_of(list(truth.interaction.index)), "true": truth.interaction})
learned["never sold"] = learned.index.isin(truth.hidden)
display(learned.round(2).T)
hidden = learned[learned["never sold"]]
assert (np.sign(hidden["learned"]) == np.sign(hidden["true"])).all()

fig, ax = plt.subplots(figsize=(5, 3.4))
for flag, marker in ((False, "o"), (True, "*")):
    part = learned[learned["never sold"] == flag]
    ax.scatter(part["true"] + np.random.default_rng(1).uniform(-0.05, 0.05, len(part)), part["learned"],
               marker=marker, s=80 if flag else 25, label="never sold" if flag else "sold")
ax.plot([-1.2, 1.2], [-1.2, 1.2], "k:", lw=1)
ax.set_xlabel("true interaction")
ax.set_ylabel("BundleNet's interaction")
ax.legend()
plt.show()
"""),
    md(r"""
A plan optimised on $R$ draws is exact for those draws, and optimistic for the model
itself: the optimum on a sample over-fits the sample. `sample_average_gap` solves on
$R$ sampled customers for several seeds and scores every plan on 4,096 fresh ones. Here
the offers are 3 products and their 3 pairs (one never sold) at 3 price levels, small
enough for exhaustive enumeration at any $R$.
"""),
    code("""
from bundleopt.optimize.brute_force import brute_force
from bundleopt.sampling_gap import sample_average_gap

small, small_truth = simulate_bundle_market(n_obs=2000, n_products=3, hidden=("p1+p3",), seed=2)
small_net = BundleNet(components=small_truth.components, product_features=small_truth.products[["category"]],
                      customer_features=["income"], no_purchase=NONE, hidden=(8,), max_epochs=400,
                      patience=30).fit(small)
offers = list(small_truth.components)
lists = np.array([small_truth.products.loc[list(small_truth.components[o]), "list_price"].sum() for o in offers])
costs = np.array([small_truth.products.loc[list(small_truth.components[o]), "cost"].sum() for o in offers])
gap = sample_average_gap(small_net, offers, lists[:, None] * np.array([0.8, 1.0, 1.2]), costs,
                         n_draws=(2, 8, 32, 128), seeds=range(6), n_eval_draws=4096,
                         optimizer=lambda sc: (brute_force(sc)[0], "optimal"))
summary = gap.groupby("n_draws")[["in_sample", "out_of_sample", "gap"]].mean()
summary["mean |gap|"] = gap.groupby("n_draws")["gap"].apply(lambda g: g.abs().mean())
display(summary.round(4))
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.semilogx(summary.index, summary["mean |gap|"], "o-", base=2)
ax.set_xlabel("R (sampled customers = segments)")
ax.set_ylabel("mean |in-sample - out-of-sample| profit")
plt.show()
assert summary["mean |gap|"].iloc[-1] < summary["mean |gap|"].iloc[0]
"""),
    md(r"""
The gap shrinks as $R$ grows while the MILP grows with $R$; the default of 16 segments
is the compromise documented in `formulations/choice_models.md`, and the plan's value on
fresh draws is the honest figure to quote.
"""),
]

NOTEBOOK_04 = {"04_neural_and_mixed.ipynb": NEURAL_AND_MIXED}
