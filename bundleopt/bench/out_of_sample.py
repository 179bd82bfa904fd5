"""Out-of-sample fit of the choice models on shop data: fit on an earlier window, score a later one.

Part of suite ``estimation`` (issue 18, 4b). From transactions and a catalog (Ta-Feng, or a
synthetic market in the tests) :func:`shop_choice_frame` builds long-format choice data
(:func:`bundleopt.data.choice_data.build_choice_data`: each purchase is an occasion among the
products and not buying, with ``purchase_share`` as the market-size assumption) and adds

* ``price`` in hundreds (``price_scale``), ``bought_before`` (1 when the customer bought
  this product on an earlier day: habit, the strongest signal in grocery data; computed
  from the past only, so it is legitimate in the later window);
* customer features for the neural model: ``age`` (mid-point of Ta-Feng's age group, the
  mean when unknown), ``age_unknown`` and ``log_visits`` (log 1 + earlier shopping days).

The occasions before ``split`` train the models and those from ``split`` on test them
(each side subsampled to ``n_max`` occasions). Every model uses the same utility
``ASC_j + b_price price + b_habit bought_before``: :class:`~bundleopt.choice.MNL`,
:class:`~bundleopt.choice.LatentClassMNL` (``n_classes``; by occasion, or panel by customer),
:class:`~bundleopt.choice.MixedLogit` (log-normal price and normal habit coefficients) and
:class:`~bundleopt.choice.TasteNet` (both coefficients functions of the customer features).
Rows: ``model``, ``train_loglik`` and ``test_loglik`` per occasion, ``test_hit_rate`` (share of
test occasions whose most probable alternative was chosen), ``fit_s``, ``converged`` and
``warning`` (the first identification or convergence warning of the fit, if any).
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

FEATURES = ("price", "bought_before")
CUSTOMER_FEATURES = ("age", "age_unknown", "log_visits")


def _age(groups: pd.Series) -> pd.Series:
    """Mid-point of ``"35-39"``-style groups; ``"<25"`` -> 22, ``">65"`` -> 67; NaN otherwise."""
    def mid(g: object) -> float:
        text = str(g)
        nums = [int(x) for x in re.findall(r"\d+", text)]
        if len(nums) == 2:
            return (nums[0] + nums[1]) / 2.0
        if len(nums) == 1:
            return nums[0] - 3.0 if "<" in text else nums[0] + 2.0
        return np.nan

    return groups.astype(object).map(mid).astype(float)


def shop_choice_frame(transactions: pd.DataFrame, catalog: pd.DataFrame, purchase_share: float = 0.5,
                      price_scale: float = 100.0, seed: int = 0) -> pd.DataFrame:
    """Long choice data with ``bought_before`` and the customer features (module docstring)."""
    from bundleopt.data.choice_data import build_choice_data

    df = build_choice_data(transactions, catalog, purchase_share=purchase_share, random_state=seed,
                           categorical=False)
    df["alt"] = df["alt"].astype(str)
    df["customer"] = df["customer"].astype(str)
    df["price"] = df["price"] / price_scale
    tx = transactions.assign(customer=transactions["customer_id"].astype(str),
                             alt=transactions["product_id"].astype(str),
                             day=transactions["timestamp"].dt.normalize())
    first = tx.groupby(["customer", "alt"])["day"].min().rename("first_day")
    day = df["timestamp"].dt.normalize()
    seen = df[["customer", "alt"]].join(first, on=["customer", "alt"])["first_day"]
    df["bought_before"] = (seen < day).astype(float).to_numpy()
    days = tx.drop_duplicates(["customer", "day"]).sort_values("day")
    by_customer = days.groupby("customer")["day"].apply(lambda s: s.to_numpy())
    obs_first = df.drop_duplicates("obs")
    visits = [np.searchsorted(by_customer.get(c, np.array([], dtype="datetime64[ns]")), d.to_datetime64())
              for c, d in zip(obs_first["customer"], obs_first["timestamp"].dt.normalize(), strict=True)]
    df["log_visits"] = df["obs"].map(pd.Series(np.log1p(visits), index=obs_first["obs"].to_numpy()))
    if "age_group" in transactions:
        ages = tx.drop_duplicates("customer").set_index("customer")["age_group"]
        age = df["customer"].map(_age(ages))
    else:
        age = pd.Series(np.nan, index=df.index)
    df["age_unknown"] = age.isna().astype(float)
    df["age"] = age.fillna(age.mean() if age.notna().any() else 0.0)
    return df


def split_by_time(df: pd.DataFrame, split: str | pd.Timestamp, n_max: int | None, seed: int = 0
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Occasions before ``split`` and from ``split`` on, each subsampled to ``n_max`` occasions."""
    cut = pd.Timestamp(split)
    rng = np.random.default_rng(seed)
    out = []
    for part in (df[df["timestamp"] < cut], df[df["timestamp"] >= cut]):
        obs = part["obs"].unique()
        if len(obs) == 0:
            raise ValueError(f"split={split!r} leaves no occasion on one side")
        if n_max is not None and len(obs) > n_max:
            obs = rng.choice(obs, n_max, replace=False)
        out.append(part[part["obs"].isin(set(obs))].reset_index(drop=True))
    return out[0], out[1]


def make_models(reference: str, n_classes: int = 2, n_draws: int = 50, seed: int = 0,
                features: Sequence[str] = FEATURES, customer_features: Sequence[str] = CUSTOMER_FEATURES) -> dict:
    """The four models, unfitted, with the same utility (module docstring)."""
    from bundleopt.choice import MNL, LatentClassMNL, MixedLogit, TasteNet

    f = list(features)
    return {
        "MNL": MNL(features=f, reference=reference),
        "LatentClassMNL": LatentClassMNL(n_classes=n_classes, features=f, reference=reference, random_state=seed),
        "MixedLogit": MixedLogit(features=f, random={"price": "neg_lognormal", "bought_before": "normal"},
                                 reference=reference, n_draws=n_draws, seed=seed),
        "TasteNet": TasteNet(features=f, customer_features=list(customer_features), price="price",
                             reference=reference, hidden=(16,), learning_rate=0.02, max_epochs=1500,
                             patience=40, seed=seed),
    }


def _fit(name: str, model, df: pd.DataFrame, panel: bool):
    if name == "LatentClassMNL" and panel:
        return model.fit(df, avail="available", customer="customer")
    return model.fit(df, avail="available")


def score(model, df: pd.DataFrame) -> tuple[float, float]:
    """``(mean log-likelihood per occasion, hit rate)`` of ``model`` on ``df``."""
    p = model.predict_proba(df, avail="available").to_numpy()
    frame = pd.DataFrame({"obs": df["obs"].to_numpy(), "p": p, "chosen": df["chosen"].to_numpy()})
    chosen = frame.loc[frame["chosen"] == 1].set_index("obs")["p"]
    top = frame.loc[frame.groupby("obs", sort=False)["p"].idxmax()].set_index("obs")["chosen"]
    return float(np.log(np.maximum(chosen, 1e-300)).mean()), float(top.reindex(chosen.index).mean())


def out_of_sample_rows(transactions: pd.DataFrame, catalog: pd.DataFrame, split: str | pd.Timestamp,
                       dataset: str, n_max: int | None = 4000, purchase_share: float = 0.5, seed: int = 0,
                       models: Sequence[str] | None = None, panel: bool = False, **model_kwargs) -> list[dict]:
    """Fit each model on the occasions before ``split``, score it on the later ones
    (``panel``: the latent class by customer; by default, like the others, by occasion)."""
    from bundleopt.data.choice_data import NO_PURCHASE

    df = shop_choice_frame(transactions, catalog, purchase_share=purchase_share, seed=seed)
    train, test = split_by_time(df, split, n_max, seed)
    rows = []
    for name, model in make_models(NO_PURCHASE, seed=seed, **model_kwargs).items():
        if models is not None and name not in models:
            continue
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _fit(name, model, train, panel)
        seconds = time.perf_counter() - t0
        flagged = [str(w.message) for w in caught if "separation" in str(w.message) or "converge" in str(w.message)]
        train_ll, train_hit = score(model, train)  # reported even when flagged: see converged, warning
        test_ll, test_hit = score(model, test)
        rows.append({"dataset": dataset, "model": f"{name}, out of sample", "n_obs": int(train["obs"].nunique()),
                     "n_test": int(test["obs"].nunique()), "n_alternatives": int(df["alt"].nunique()),
                     "train_loglik": train_ll, "test_loglik": test_ll, "train_hit_rate": train_hit,
                     "test_hit_rate": test_hit, "fit_s": seconds,
                     "converged": bool(getattr(model, "converged_", True)),
                     "warning": flagged[0][:160] if flagged else ""})
    return rows
