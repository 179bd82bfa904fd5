"""A neural bundle-choice model that scores bundles never sold, from their components.

Offers are single products and bundles (sets of products); each offer is described by
its components only, so a bundle that never appeared in the data still has a utility.
For customer ``n`` with features ``z_n`` facing offer ``o`` at price ``p``::

    x_i          = [e_i, f_i]                       product i's learned embedding e_i and
                                                    its given (standardised) features f_i
    g(i, j)      = MLP_pair([x_i + x_j, x_i * x_j]) a pair's interaction (symmetric in i, j)
    u(o)         = sum_{i in o} a_i + sum_{i < j in o} g(i, j)
    [t_n, d_n]   = MLP_taste(standardised z_n)
    beta_n       = -softplus(t_n)                   price coefficient, negative by construction
    V[n, o]      = u(o) + d_n |o| + beta_n p[n, o]  (|o|: number of components)
    V[n, none]   = 0                                (the no-purchase alternative)

``a_i`` is product i's intercept, ``d_n`` a customer's taste for buying (per component), and
``g`` the learned complementarity (> 0) or substitution (< 0) of two components: a
function of their embeddings and features, so it extends to pairs never sold together.
``interaction=False`` gives the additive baseline ``u(o) = sum a_i`` (a bundle is worth
the sum of its parts). Training is as in :class:`~bundleopt.choice.TasteNet`: Adam on the
mean negative log-likelihood with a small L2 penalty on the embeddings and the pair
network, early stopping on a validation split, fixed seeds.

For the optimizer every customer is an MNL whose utilities are linear in price, so R
customers sampled from the training population are R equally weighted segments
(:meth:`BundleNet.as_segments`), exactly as the draws of a mixed logit.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bundleopt.choice.estimator import ChoiceEstimator
from bundleopt.choice.long_format import DesignColumn, check_columns, pack_long
from bundleopt.choice.neural import (
    customer_matrix,
    init_params,
    mlp,
    sample_customers,
    train_early_stopping,
)
from bundleopt.choice.precision import in_float64
from bundleopt.choice.spec import Specification


class OfferStructure:
    """Offers as sets of products: membership ``M (O, P)``, sizes, and the list of
    component pairs with the offer each belongs to (``pairs (Q, 2)``, ``pair_offer (Q,)``)."""

    def __init__(self, offers: Sequence[Hashable], components: Mapping[Hashable, Sequence[Hashable]],
                 products: pd.Index) -> None:
        self.offers = list(offers)
        self.M = np.zeros((len(self.offers), len(products)))
        pairs, owner = [], []
        for o, offer in enumerate(self.offers):
            codes = products.get_indexer(list(components[offer]))
            self.M[o, codes] = 1.0
            for i, j in combinations(sorted(codes), 2):
                pairs.append((i, j))
                owner.append(o)
        self.sizes = self.M.sum(axis=1)
        self.pairs = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        self.pair_offer = np.array(owner, dtype=np.int64)


def offer_values(params: dict, F: jax.Array, st: OfferStructure, interaction: bool) -> jax.Array:
    """``u (O,)``: the sum of the components' intercepts plus their pairs' interactions."""
    u = jnp.asarray(st.M) @ params["intercept"]
    if not interaction or len(st.pairs) == 0:
        return u
    return u + jax.ops.segment_sum(pair_interactions(params, F, st.pairs), jnp.asarray(st.pair_offer),
                                   num_segments=len(st.offers))


def pair_interactions(params: dict, F: jax.Array, pairs: np.ndarray) -> jax.Array:
    """``g (Q,)`` of each pair ``(i, j)``: ``MLP_pair([x_i + x_j, x_i * x_j])``."""
    x = jnp.concatenate([params["embedding"], F], axis=1)
    xi, xj = x[pairs[:, 0]], x[pairs[:, 1]]
    return mlp(params["pair"], jnp.concatenate([xi + xj, xi * xj], axis=1))[:, 0]


def customer_tastes(params: dict, Z: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(beta (N,), d (N,))``: the price coefficient ``-softplus`` and the taste for buying."""
    h = mlp(params["taste"], Z)
    return -jax.nn.softplus(h[:, 0]), h[:, 1]


def utilities(params: dict, F, Z, price, avail, alt_offer: np.ndarray, st: OfferStructure,
              interaction: bool) -> jax.Array:
    """``V (N, J)`` over the data's alternatives (``alt_offer[j]``: offer code, -1 = no purchase)."""
    u = offer_values(params, F, st, interaction)
    beta, d = customer_tastes(params, Z)
    is_offer = jnp.asarray(alt_offer >= 0)
    code = jnp.asarray(np.maximum(alt_offer, 0))
    V = u[code][None, :] + d[:, None] * jnp.asarray(st.sizes)[code][None, :] + beta[:, None] * price
    return jnp.where(avail, jnp.where(is_offer[None, :], V, 0.0), -jnp.inf)


class BundleNet(ChoiceEstimator):
    """Neural choice among products and bundles, scoring unseen bundles (module docstring).

    Args:
        components: offer id -> its product ids, for every bundle the model should know
            (those in the data and those to score later). An alternative of the data that
            is not listed is a single product (its own component).
        product_features: numeric features per product (index: product id), e.g. category
            indicators; they let the interaction generalise to pairs never sold together.
        customer_features: customer columns (constant within an observation).
        price: the price column. no_purchase: the no-purchase alternative's id.
        embedding_dim: size of the learned product embeddings.
        hidden: hidden widths of the pair and taste networks.
        interaction: ``False`` for the additive baseline (no pair term).
        l2: penalty on the embeddings and the pair network's weights.
        learning_rate, max_epochs, patience, validation, seed: as in
            :class:`~bundleopt.choice.TasteNet`.

    Fitted attributes: ``params_``, ``products_``, ``offers_``, ``train_loss_``,
    ``val_loss_``, ``best_epoch_``, ``n_obs_``.
    """

    def __init__(self, components: Mapping[Hashable, Sequence[Hashable]] | None = None,
                 product_features: pd.DataFrame | None = None, customer_features: Sequence[str] = (),
                 price: str = "price", no_purchase: Hashable = 0, embedding_dim: int = 4,
                 hidden: Sequence[int] = (16,), interaction: bool = True, l2: float = 1e-3,
                 learning_rate: float = 0.02, max_epochs: int = 2000, patience: int = 50,
                 validation: float = 0.2, seed: int = 0) -> None:
        self.components = components
        self.product_features = product_features
        self.customer_features = customer_features
        self.price = price
        self.no_purchase = no_purchase
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.interaction = interaction
        self.l2 = l2
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation = validation
        self.seed = seed

    # ------------------------------------------------------------------ data
    def _components(self, offers: Sequence[Hashable]) -> dict[Hashable, tuple]:
        given = dict(self.components or {})
        out = {}
        for o in offers:
            comp = given.get(o, (o,))
            if isinstance(comp, (str, bytes)) or not isinstance(comp, Sequence) or len(comp) == 0:
                raise ValueError(f"components[{o!r}] must be a non-empty tuple of product ids, got {comp!r}")
            if len(set(comp)) != len(comp):
                raise ValueError(f"components[{o!r}] lists a product twice: {tuple(comp)}")
            out[o] = tuple(comp)
        return out

    def _product_matrix(self, products: pd.Index) -> np.ndarray:
        pf = self.product_features
        if pf is None:
            return np.zeros((len(products), 0))
        if not isinstance(pf, pd.DataFrame):
            raise ValueError(f"product_features must be a DataFrame indexed by product id, got {type(pf).__name__}")
        missing = [p for p in products if p not in pf.index]
        if missing:
            raise ValueError(f"product_features has no row for product(s) {missing[:10]}")
        F = pf.loc[list(products)].to_numpy(dtype=float)
        if not np.isfinite(F).all():
            raise ValueError("product_features has missing or non-numeric values")
        return F

    def _arrays(self, df: pd.DataFrame, obs: str, alt: str, choice: str | None, avail: str | None,
                offers: Sequence[Hashable] | None = None):
        """``(alt_ids, arrays, Z, alt_offer)``: the data over ``[no_purchase, *offers]``."""
        cust = list(self.customer_features)
        check_columns(df, obs=obs, alt=alt, choice=choice, avail=avail, features=[self.price],
                      customer_features=cust)
        if offers is None:
            offers = list(self.offers_)
        alt_ids = pd.Index([self.no_purchase, *offers])
        unknown = sorted({a for a in pd.unique(df[alt]) if a not in alt_ids}, key=str)
        if unknown:
            raise ValueError(f"alternatives {unknown[:10]} are not offers of the model; "
                             "list new bundles in components=... (their products must be known)")
        arrays = pack_long(df, obs=obs, alt=alt, columns=[DesignColumn(name=self.price, source=self.price)],
                           choice=choice, avail=avail, alt_ids=alt_ids, min_avail=2 if choice else 1)
        per_obs = df.groupby(obs, sort=False, observed=True)[cust]
        if cust and (per_obs.nunique() > 1).any().any():
            raise ValueError(f"customer_features {cust} must be constant within each observation")
        Z = per_obs.first().reindex(arrays.obs_ids).to_numpy(dtype=float) if cust else np.zeros((arrays.n_obs, 0))
        if not np.isfinite(Z).all():
            raise ValueError(f"customer_features {cust} have missing or non-numeric values")
        alt_offer = np.arange(len(alt_ids)) - 1  # -1: no purchase
        return alt_ids, arrays, Z, alt_offer

    # ------------------------------------------------------------------ fit
    @in_float64
    def fit(self, df: pd.DataFrame, obs: str = "obs", alt: str = "alt", choice: str = "chosen",
            avail: str | None = None) -> BundleNet:
        """Train with early stopping; returns ``self``."""
        if not 0 < self.validation < 1:
            raise ValueError(f"validation must be a share in (0, 1), got {self.validation!r}")
        check_columns(df, obs=obs, alt=alt)
        seen = [a for a in pd.unique(df[alt]) if a != self.no_purchase]
        if self.no_purchase not in set(pd.unique(df[alt])):
            raise ValueError(f"no_purchase={self.no_purchase!r} is not an alternative of the data")
        listed = [o for o in (self.components or {}) if o not in set(seen)]
        offers = [*seen, *listed]
        comps = self._components(offers)
        products = pd.Index(list(dict.fromkeys(p for c in comps.values() for p in c)))
        singles = [o for o in offers if len(comps[o]) == 1]
        if len({comps[o][0] for o in singles}) != len(singles):
            raise ValueError("two offers are the same single product; give each product one offer id")
        _, arrays, Z, alt_offer = self._arrays(df, obs, alt, choice, avail, offers)
        st = OfferStructure(offers, comps, products)
        F = self._product_matrix(products)
        self.f_mean_, self.f_std_ = F.mean(axis=0), np.where(F.std(axis=0) > 0, F.std(axis=0), 1.0)
        self.z_mean_, self.z_std_ = Z.mean(axis=0), np.where(Z.std(axis=0) > 0, Z.std(axis=0), 1.0)
        Fs = jnp.asarray((F - self.f_mean_) / self.f_std_)
        Zs = (Z - self.z_mean_) / self.z_std_
        rng = np.random.default_rng(self.seed)
        is_val = rng.random(arrays.n_obs) < self.validation
        if is_val.all() or not is_val.any():
            raise ValueError("too few observations for a validation split")
        params = self._init(products, F.shape[1], Z.shape[1])
        price = arrays.X[..., 0]
        parts = [(jnp.asarray(Zs[m]), jnp.asarray(price[m]), jnp.asarray(arrays.avail[m]),
                  jnp.asarray(arrays.choice[m])) for m in (~is_val, is_val)]

        def nll(params, Z, price, avail, y):
            V = utilities(params, Fs, Z, price, avail, alt_offer, st, self.interaction)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(V, axis=1), y[:, None], axis=1))

        def penalty(params):
            weights = [params["embedding"], *(layer["W"] for layer in params["pair"])]
            return float(self.l2) * sum(jnp.sum(w ** 2) for w in weights)

        result = train_early_stopping(lambda p, *d: nll(p, *d) + penalty(p), nll, params, parts[0], parts[1],
                                      self.learning_rate, self.max_epochs, self.patience)
        self.params_, self.best_epoch_, self.train_loss_, self.val_loss_ = result
        self.products_ = products
        self.offers_ = pd.Index(offers)
        self.offer_components_ = comps
        self.customers_ = Z
        self.n_obs_ = arrays.n_obs
        self._columns = {"obs": obs, "alt": alt, "avail": avail}
        return self

    def _init(self, products: pd.Index, n_f: int, n_z: int) -> dict:
        key = jax.random.PRNGKey(self.seed)
        k1, k2, k3 = jax.random.split(key, 3)
        d = int(self.embedding_dim)
        pair = init_params(k2, 2 * (d + n_f), list(self.hidden), 1, 0)["layers"]
        taste = init_params(k3, n_z, list(self.hidden), 2, 0)["layers"]
        taste[-1]["b"] = jnp.array([0.5, 0.0])  # start near a price coefficient of -softplus(0.5)
        return {"intercept": jnp.zeros(len(products)), "embedding": 0.1 * jax.random.normal(k1, (len(products), d)),
                "pair": pair, "taste": taste}

    # ------------------------------------------------------------------ scoring
    def _structure(self, offers: Sequence[Hashable] | None) -> tuple[list, OfferStructure]:
        offers = list(self.offers_) if offers is None else list(offers)
        comps = {**self.offer_components_, **self._components([o for o in offers if o not in self.offer_components_])}
        unknown = sorted({p for o in offers for p in comps[o] if p not in self.products_}, key=str)
        if unknown:
            raise ValueError(f"products {unknown[:10]} were not seen in fitting: their embeddings are unknown")
        return offers, OfferStructure(offers, comps, self.products_)

    def components_of(self, offers: Sequence[Hashable]) -> list[tuple]:
        """Each offer's product ids (fitted offers, those in ``components``, else a single)."""
        self._check_fitted()
        offers, _ = self._structure(offers)
        known = {**self.offer_components_, **self._components([o for o in offers if o not in self.offer_components_])}
        return [known[o] for o in offers]

    def _F(self) -> jax.Array:
        return jnp.asarray((self._product_matrix(self.products_) - self.f_mean_) / self.f_std_)

    @in_float64
    def offer_utilities(self, offers: Sequence[Hashable] | None = None) -> pd.Series:
        """``u(o)`` of each offer (default: the fitted ones); a bundle new to the model is
        scored from its components (list it in ``components`` or as a key of
        ``offer_components_``)."""
        self._check_fitted()
        offers, st = self._structure(offers)
        return pd.Series(np.asarray(offer_values(self.params_, self._F(), st, self.interaction)),
                         index=pd.Index(offers), name="utility")

    @in_float64
    def interaction_of(self, offers: Sequence[Hashable] | None = None) -> pd.Series:
        """The learned interaction of each offer: ``u(o) - sum_{i in o} a_i`` (0 for singles
        and for the additive baseline)."""
        self._check_fitted()
        offers, st = self._structure(offers)
        total = offer_values(self.params_, self._F(), st, self.interaction)
        base = jnp.asarray(st.M) @ self.params_["intercept"]
        return pd.Series(np.asarray(total - base), index=pd.Index(offers), name="interaction")

    @in_float64
    def predict_proba(self, df: pd.DataFrame, obs: str | None = None, alt: str | None = None,
                      avail: str | None = None) -> pd.Series:
        """``P(alt | obs)`` for every row of ``df`` (0 when unavailable), aligned with ``df``;
        ``df`` may list bundles never sold, when ``components`` names them."""
        self._check_fitted()
        cols = self._columns
        if avail is None and cols.get("avail") is not None and cols["avail"] in df.columns:
            avail = cols["avail"]
        obs, alt = obs or cols["obs"], alt or cols["alt"]
        check_columns(df, obs=obs, alt=alt)
        offers = [*self.offers_, *(a for a in (self.components or {}) if a not in set(self.offers_))]
        offers, st = self._structure(offers)
        _, arrays, Z, alt_offer = self._arrays(df, obs, alt, None, avail, offers)
        V = utilities(self.params_, self._F(), jnp.asarray((Z - self.z_mean_) / self.z_std_),
                      jnp.asarray(arrays.X[..., 0]), jnp.asarray(arrays.avail), alt_offer, st, self.interaction)
        return pd.Series(arrays.rows_from_dense(np.asarray(jax.nn.softmax(V, axis=1))), index=df.index, name="proba")

    @in_float64
    def as_segments(self, n_draws: int | None = None, seed: int | None = None,
                    offers: Sequence[Hashable] | None = None, customers: pd.DataFrame | None = None):
        """R customers as equally weighted MNL segments for the optimizer.

        Each sampled customer ``r`` is an MNL with ``ASC_<o> = u(o) + d_r |o|`` and price
        coefficient ``beta_r`` (no purchase: 0), a :class:`~bundleopt.choice.DrawSegments`
        row. Customers are drawn with replacement from the training population (or from
        ``customers``, a frame of the customer features); ``n_draws`` defaults to
        ``DEFAULT_SEGMENT_DRAWS``, ``seed`` to one other than the fit's.
        """
        from bundleopt.choice.draw_segments import DEFAULT_SEGMENT_DRAWS, DrawSegments

        self._check_fitted()
        offers, st = self._structure(offers)
        Z = customer_matrix(customers, list(self.customer_features), self.customers_)
        Zr = sample_customers(Z, DEFAULT_SEGMENT_DRAWS if n_draws is None else n_draws, self.seed + 1 if seed is None else seed)
        beta, d = customer_tastes(self.params_, jnp.asarray((Zr - self.z_mean_) / self.z_std_))
        u = np.asarray(offer_values(self.params_, self._F(), st, self.interaction))
        asc = u[None, :] + np.asarray(d)[:, None] * st.sizes[None, :]
        table = pd.DataFrame(asc, columns=[f"ASC_{o}" for o in offers])
        table[self.price] = np.asarray(beta)
        spec = Specification.create([self.price], True, self.no_purchase, None)
        return DrawSegments(spec, pd.Index([self.no_purchase, *offers]), table)

