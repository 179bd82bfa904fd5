"""Customer segments: features from transactions, KMeans / Gaussian-mixture clustering.

:func:`customer_features` is a pure function of the (validated) transactions and
catalog. :class:`CustomerSegmenter` is a scikit-learn style estimator: it
log-transforms the heavy-tailed count and money features, standardises all
features, chooses the number of segments by silhouette (KMeans, higher is
better) or BIC (Gaussian mixture, lower is better) when it is not given, and
ranks features by their mutual information with the segment labels.
Everything random takes ``random_state``, so a fit is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.feature_selection import mutual_info_classif
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

__all__ = ["CustomerSegmenter", "customer_features"]

LOG_FEATURES = ("recency_days", "frequency", "monetary", "mean_order_value", "n_products")


def customer_features(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    asof: pd.Timestamp | str | None = None,
    top_categories: int | None = 10,
    discount_tol: float = 0.01,
) -> pd.DataFrame:
    """One row per customer (index ``customer_id``) of behavioural features.

    Columns:

    - ``recency_days``: days from the last order to ``asof`` (default: the last
      timestamp in the data);
    - ``frequency``: number of orders; ``monetary``: revenue (sum of quantity x
      unit price); ``mean_order_value``; ``n_products``: distinct products bought;
    - price-sensitivity proxies: ``share_discounted``, the share of units bought
      at least ``discount_tol`` below the list price, and ``paid_to_list``, the
      unit-weighted mean of price paid / list price;
    - ``cat_<category>``: share of revenue per category (when the catalog has a
      ``category`` column), for the ``top_categories`` largest categories by
      revenue, the rest pooled in ``cat_other``.

    Both frames should be validated (:func:`bundleopt.data.validate`).
    """
    tx = transactions
    cat = catalog.set_index("product_id")
    last = tx["timestamp"].max() if asof is None else pd.Timestamp(asof)
    revenue = tx["quantity"] * tx["unit_price"]
    list_price = tx["product_id"].map(cat["list_price"]).to_numpy(dtype=float)
    ratio = tx["unit_price"].to_numpy(dtype=float) / list_price
    work = pd.DataFrame(
        {
            "customer_id": tx["customer_id"].to_numpy(),
            "order_id": tx["order_id"].to_numpy(),
            "product_id": tx["product_id"].to_numpy(),
            "timestamp": tx["timestamp"].to_numpy(),
            "quantity": tx["quantity"].to_numpy(dtype=float),
            "revenue": revenue.to_numpy(dtype=float),
            "disc_units": tx["quantity"].to_numpy(dtype=float) * (ratio < 1.0 - discount_tol),
            "ratio_units": tx["quantity"].to_numpy(dtype=float) * ratio,
        }
    )
    g = work.groupby("customer_id", sort=True)
    feats = pd.DataFrame(
        {
            "recency_days": (last - g["timestamp"].max()).dt.total_seconds() / 86400.0,
            "frequency": g["order_id"].nunique().astype(float),
            "monetary": g["revenue"].sum(),
            "n_products": g["product_id"].nunique().astype(float),
        }
    )
    feats["mean_order_value"] = feats["monetary"] / feats["frequency"]
    units = g["quantity"].sum()
    feats["share_discounted"] = g["disc_units"].sum() / units
    feats["paid_to_list"] = g["ratio_units"].sum() / units
    if "category" in cat.columns:
        work["category"] = (
            tx["product_id"].map(cat["category"]).fillna("unknown").astype(str).to_numpy()
        )
        by_cat = work.groupby("category")["revenue"].sum().sort_values(ascending=False)
        keep = by_cat.index if top_categories is None else by_cat.index[:top_categories]
        work["category"] = work["category"].where(work["category"].isin(keep), "other")
        shares = work.pivot_table(
            index="customer_id", columns="category", values="revenue", aggfunc="sum", fill_value=0.0
        )
        shares = shares.div(shares.sum(axis=1).replace(0.0, np.nan), axis=0).fillna(0.0)
        order = [c for c in keep if c in shares.columns] + (
            ["other"] if "other" in shares.columns else []
        )
        shares = shares[order].add_prefix("cat_")
        feats = feats.join(shares)
    feats.index.name = "customer_id"
    feats.columns.name = None
    return feats


class CustomerSegmenter(ClusterMixin, BaseEstimator):
    """Cluster customers on their features; pick the number of segments when not given.

    Parameters
    ----------
    n_segments : number of segments, or ``None`` to choose it in ``k_range``.
    method : ``"kmeans"`` (choice by silhouette) or ``"gmm"`` (Gaussian mixture,
        choice by BIC).
    k_range : inclusive ``(min, max)`` of the number of segments tried.
    random_state : seed of the clustering, the silhouette sample and the MI estimate.
    log_features : features transformed by ``log1p`` before scaling (heavy tails).
    n_init : restarts of KMeans / the Gaussian mixture.
    silhouette_sample : at most this many customers enter each silhouette score.
    covariance_type : of the Gaussian mixture ("tied" by default: category shares sum
        to one, and "full" covariances then overfit degenerate directions).
    minibatch_above : with more customers than this, ``"kmeans"`` runs scikit-learn's
        ``MiniBatchKMeans`` (batches of ``batch_size``, seeded) instead of full Lloyd
        iterations: its cost per iteration does not grow with the customers (measured on
        Ta-Feng's 26,755 customers of the top 200 products: full KMeans took 12 s of the
        16-21 s segmentation on the shared 2-core machine). ``None``: never. The default
        is a judgement call, not a tuned optimum.
    batch_size : customers per mini-batch.
    threads : threads of the clustering and silhouette (threadpoolctl limit on
        scikit-learn's OpenMP and BLAS pools); ``None``: the libraries' default. On the
        shared 2-core machine one thread made the Ta-Feng top-200 segmentation 3x faster
        (6.7 vs 22 s; the default pools oversubscribed the busy cores).

    Attributes
    ----------
    labels_ : (n_customers,) segment of each training customer, 0 = the largest.
    n_segments_ : the number of segments used.
    scores_ : Series, silhouette (kmeans) or BIC (gmm) per number of segments tried.
    importance_ : Series, mutual information of each feature with ``labels_``, largest first.
    profiles_ : DataFrame, mean feature values per segment (original units).
    weights_ : Series, share of customers per segment.
    feature_names_in_ : the feature columns.
    segments_ : Series, ``labels_`` indexed by the feature index (customer ids).
    model_, scaler_ : the fitted clusterer and scaler.

    Examples
    --------
    >>> from bundleopt.datasets import make_market
    >>> m = make_market(seed=0, n_customers=200)
    >>> seg = CustomerSegmenter(n_segments=3).fit(customer_features(m.transactions, m.catalog))
    >>> seg.n_segments_, len(seg.labels_)
    (3, 200)
    """

    def __init__(
        self,
        n_segments: int | None = None,
        method: Literal["kmeans", "gmm"] = "kmeans",
        *,
        k_range: tuple[int, int] = (2, 8),
        random_state: int = 0,
        log_features: Sequence[str] = LOG_FEATURES,
        n_init: int = 10,
        silhouette_sample: int = 5000,
        covariance_type: Literal["full", "tied", "diag", "spherical"] = "tied",
        minibatch_above: int | None = 25_000,
        batch_size: int = 4096,
        threads: int | None = None,
    ) -> None:
        self.n_segments = n_segments
        self.method = method
        self.k_range = k_range
        self.random_state = random_state
        self.log_features = log_features
        self.n_init = n_init
        self.silhouette_sample = silhouette_sample
        self.covariance_type = covariance_type
        self.minibatch_above = minibatch_above
        self.batch_size = batch_size
        self.threads = threads

    # -- helpers
    def _check(self, features: pd.DataFrame, fitting: bool) -> pd.DataFrame:
        if not isinstance(features, pd.DataFrame):
            raise ValueError(f"features must be a pandas DataFrame, got {type(features).__name__}")
        if fitting:
            cols = list(features.columns)
        else:
            cols = list(self.feature_names_in_)
            missing = [c for c in cols if c not in features.columns]
            if missing:
                raise ValueError(f"features: missing column(s) {missing} seen in fit")
        x = features[cols]
        bad = [c for c in cols if not pd.api.types.is_numeric_dtype(x[c])]
        if bad:
            raise ValueError(f"features: column(s) {bad} are not numeric")
        nonfinite = ~np.isfinite(x.to_numpy(dtype=float))
        if nonfinite.any():
            col = cols[int(np.flatnonzero(nonfinite.any(axis=0))[0])]
            rows = x.index[nonfinite.any(axis=1)][:5].tolist()
            raise ValueError(
                f"features: column {col!r} has NaN or infinite values, e.g. rows {rows}"
            )
        return x

    def _transform(self, x: pd.DataFrame) -> np.ndarray:
        x = x.astype(float).copy()
        for c in self.log_features:
            if c in x.columns:
                x[c] = np.log1p(x[c].clip(lower=0.0))
        return x.to_numpy()

    def _model(self, k: int, n: int = 0) -> KMeans | MiniBatchKMeans | GaussianMixture:
        if self.method == "kmeans":
            if self.minibatch_above is not None and n > self.minibatch_above:
                return MiniBatchKMeans(n_clusters=k, n_init=self.n_init, batch_size=self.batch_size,
                                       random_state=self.random_state)
            return KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)
        return GaussianMixture(
            n_components=k,
            n_init=self.n_init,
            covariance_type=self.covariance_type,
            random_state=self.random_state,
        )

    def _score(self, model: KMeans | GaussianMixture, z: np.ndarray, labels: np.ndarray) -> float:
        if self.method == "gmm":
            return float(model.bic(z))
        if len(np.unique(labels)) < 2:
            return -1.0
        n = min(len(z), self.silhouette_sample)
        return float(silhouette_score(z, labels, sample_size=n, random_state=self.random_state))

    # -- estimator API
    def fit(self, features: pd.DataFrame, y: object = None) -> CustomerSegmenter:
        """Fit on a features frame (one row per customer, numeric columns)."""
        from contextlib import nullcontext

        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.threads) if self.threads else nullcontext():
            return self._fit(features)

    def _fit(self, features: pd.DataFrame) -> CustomerSegmenter:
        if self.method not in ("kmeans", "gmm"):
            raise ValueError(f"method must be 'kmeans' or 'gmm', got {self.method!r}")
        x = self._check(features, fitting=True)
        self.feature_names_in_ = np.array(x.columns, dtype=object)
        self.scaler_ = StandardScaler().fit(self._transform(x))
        z = self.scaler_.transform(self._transform(x))
        n = len(z)
        if self.n_segments is not None:
            if not 1 <= self.n_segments <= n:
                raise ValueError(f"n_segments must be in [1, {n}], got {self.n_segments}")
            ks = [int(self.n_segments)]
        else:
            lo = max(self.k_range[0], 2 if self.method == "kmeans" else 1)
            hi = min(self.k_range[1], n - 1)
            if lo > hi:
                raise ValueError(
                    f"cannot choose a number of segments in {self.k_range} with {n} customers"
                )
            ks = list(range(lo, hi + 1))
        scores: dict[int, float] = {}
        fitted: dict[int, tuple[KMeans | GaussianMixture, np.ndarray]] = {}
        for k in ks:
            model = self._model(k, n).fit(z)
            labels = model.predict(z)
            fitted[k] = (model, labels)
            if len(ks) > 1:
                scores[k] = self._score(model, z, labels)
        if len(ks) == 1:
            best = ks[0]
        elif self.method == "gmm":
            best = min(scores, key=scores.get)  # type: ignore[arg-type]
        else:
            best = max(scores, key=scores.get)  # type: ignore[arg-type]
        self.scores_ = pd.Series(
            scores, name="bic" if self.method == "gmm" else "silhouette", dtype=float
        )
        self.scores_.index.name = "n_segments"
        self.model_, raw = fitted[best]
        # relabel: 0 = the largest segment, ties by first appearance
        counts = np.bincount(raw, minlength=best)
        order = np.lexsort((np.arange(best), -counts))
        self._relabel = np.empty(best, dtype=int)
        self._relabel[order] = np.arange(best)
        self.labels_ = self._relabel[raw]
        self.n_segments_ = best
        self.segments_ = pd.Series(self.labels_, index=x.index, name="segment")
        self.weights_ = self.segments_.value_counts(normalize=True).sort_index()
        self.profiles_ = x.groupby(self.labels_).mean()
        self.profiles_.index.name = "segment"
        if best > 1:
            mi = mutual_info_classif(z, self.labels_, random_state=self.random_state)
        else:
            mi = np.zeros(z.shape[1])
        self.importance_ = pd.Series(mi, index=x.columns, name="mutual_info").sort_values(
            ascending=False
        )
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Segment of each row of ``features`` (same columns as in ``fit``)."""
        if not hasattr(self, "model_"):
            raise ValueError("CustomerSegmenter is not fitted yet; call fit first")
        x = self._check(features, fitting=False)
        z = self.scaler_.transform(self._transform(x))
        return self._relabel[self.model_.predict(z)]

    def fit_predict(self, features: pd.DataFrame, y: object = None) -> np.ndarray:
        """Fit, then return ``labels_``."""
        return self.fit(features).labels_
