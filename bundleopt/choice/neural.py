"""A neural utility model (TasteNet-style): customer features -> taste coefficients via an MLP.

Observation n has customer features ``z_n`` (constant across its alternatives) and
alternative features ``x[n, j, k]``. A multilayer perceptron maps ``z_n`` to one taste
coefficient per feature; the price coefficient is ``-softplus(.)``, negative by
construction, so every utility decreases in price whatever the weights::

    h_n          = MLP(standardised z_n)                       (tanh hidden layers)
    beta[n, k]   = h_n[k]                    (other features)
    beta[n, p]   = -softplus(h_n[p])         (the price feature)
    V[n, j]      = ASC_j + sum_k beta[n, k] x[n, j, k]
    P[n, j]      = softmax over the available alternatives

Trained with optax's Adam on the mean negative log-likelihood (full batch, float64),
with early stopping on a validation split of the observations (the weights of the best
validation epoch are kept). Seeds fix the split and the initial weights.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bundleopt.choice.estimator import ChoiceEstimator
from bundleopt.choice.long_format import check_columns, pack_long
from bundleopt.choice.mnl import _alt_ids
from bundleopt.choice.precision import in_float64
from bundleopt.choice.spec import Specification


def init_params(key: jax.Array, n_in: int, hidden: Sequence[int], n_out: int, n_asc: int) -> dict:
    """Glorot-scaled weights, zero biases and constants."""
    sizes = [n_in, *hidden, n_out]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        key, sub = jax.random.split(key)
        layers.append({"W": jax.random.normal(sub, (a, b), jnp.float64) * jnp.sqrt(2.0 / (a + b)),
                       "b": jnp.zeros(b, jnp.float64)})
    return {"layers": layers, "asc": jnp.zeros(n_asc, jnp.float64)}


def mlp(layers: list[dict], x: jax.Array) -> jax.Array:
    """A multilayer perceptron: tanh hidden layers, a linear output layer."""
    h = x
    for layer in layers[:-1]:
        h = jnp.tanh(h @ layer["W"] + layer["b"])
    return h @ layers[-1]["W"] + layers[-1]["b"]


def tastes(params: dict, Z: jax.Array, price_index: int) -> jax.Array:
    """``beta (N, K)``: the MLP of ``Z`` with the price column mapped to ``-softplus``."""
    out = mlp(params["layers"], Z)
    return out.at[:, price_index].set(-jax.nn.softplus(out[:, price_index]))


def sample_customers(Z: np.ndarray, n: int, seed: int | None) -> np.ndarray:
    """``n`` rows of ``Z`` drawn with replacement (customers as segments of weight 1/n)."""
    if int(n) < 1:
        raise ValueError(f"n_draws must be a positive integer, got {n!r}")
    if len(Z) == 0:
        raise ValueError("no customers to draw from")
    return Z[np.random.default_rng(seed).integers(0, len(Z), size=int(n))]


def customer_matrix(customers: pd.DataFrame | None, columns: Sequence[str], fitted: np.ndarray) -> np.ndarray:
    """The customer-feature rows to sample segments from: ``fitted`` (the training
    population) when ``customers`` is None, else its ``columns`` as floats."""
    if customers is None:
        return fitted
    if not isinstance(customers, pd.DataFrame):
        raise ValueError(f"customers must be a DataFrame of the customer features, got {type(customers).__name__}")
    missing = [c for c in columns if c not in customers.columns]
    if missing:
        raise ValueError(f"customers lacks the customer feature column(s) {missing}")
    Z = customers[list(columns)].to_numpy(dtype=float)
    if not np.isfinite(Z).all():
        raise ValueError(f"customers has missing or non-numeric values in {list(columns)}")
    return Z


def train_early_stopping(objective, validation_loss, params, train: tuple, val: tuple, learning_rate: float,
                         max_epochs: int, patience: int) -> tuple[dict, int, np.ndarray, np.ndarray]:
    """Full-batch Adam on ``objective(params, *train)``, keeping the parameters of the
    epoch with the lowest ``validation_loss(params, *val)``; stops after ``patience``
    epochs without improvement. Returns ``(best params, best epoch, train and validation
    losses per epoch)``."""
    import optax

    opt = optax.adam(learning_rate)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        value, grads = jax.value_and_grad(objective)(params, *train)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value, validation_loss(params, *val)

    best, best_val, best_epoch, train_hist, val_hist = params, np.inf, 0, [], []
    for epoch in range(int(max_epochs)):
        new, state, tr, va = step(params, state)  # losses of ``params`` (before the update)
        train_hist.append(float(tr))
        val_hist.append(float(va))
        if float(va) < best_val - 1e-9:
            best, best_val, best_epoch = params, float(va), epoch
        elif epoch - best_epoch >= int(patience):
            break
        params = new
    return best, best_epoch, np.array(train_hist), np.array(val_hist)


def utilities(params: dict, Z: jax.Array, X: jax.Array, avail: jax.Array, A: jax.Array, price_index: int):
    """``V (N, J)``, ``-inf`` where unavailable."""
    beta = tastes(params, Z, price_index)
    V = jnp.einsum("njk,nk->nj", X, beta) + A @ params["asc"]
    return jnp.where(avail, V, -jnp.inf)


def mean_nll(params: dict, Z, X, y, avail, A, price_index: int) -> jax.Array:
    V = utilities(params, Z, X, avail, A, price_index)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(V, axis=1), y[:, None], axis=1))


class TasteNet(ChoiceEstimator):
    """Neural taste coefficients from customer features (see the module docstring).

    Args:
        features: alternative feature columns (one taste coefficient each).
        customer_features: customer columns (constant within an observation) fed to the MLP.
        price: the price feature (in ``features``): its coefficient is negative.
        hidden: hidden layer widths.
        asc, reference: alternative constants as in :class:`~bundleopt.choice.MNL`.
        learning_rate, max_epochs, patience: Adam's step, most full-batch epochs, and
            epochs without a better validation loss before stopping.
        validation: share of observations held out for early stopping.
        seed: split and initial weights.

    Fitted attributes: ``params_`` (pytree), ``train_loss_``/``val_loss_`` (per epoch),
    ``best_epoch_``, ``alternatives_``, ``n_obs_``.
    """

    def __init__(self, features: Sequence[str] = (), customer_features: Sequence[str] = (), price: str = "price",
                 hidden: Sequence[int] = (16,), asc: bool = True, reference: Hashable | None = None,
                 learning_rate: float = 0.01, max_epochs: int = 2000, patience: int = 50,
                 validation: float = 0.2, seed: int = 0) -> None:
        self.features = features
        self.customer_features = customer_features
        self.price = price
        self.hidden = hidden
        self.asc = asc
        self.reference = reference
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation = validation
        self.seed = seed

    def _arrays(self, df: pd.DataFrame, obs: str, alt: str, choice: str | None, avail: str | None):
        spec = Specification.create(list(self.features), self.asc, self.reference, None)
        check_columns(df, obs=obs, alt=alt, choice=choice, avail=avail, features=spec.used_columns(),
                      customer_features=list(self.customer_features))
        if self.price not in spec.features:
            raise ValueError(f"price={self.price!r} must be one of features={list(spec.features)}")
        if not hasattr(self, "alternatives_"):
            alt_ids = _alt_ids(df, alt)
            spec.reference_alt(alt_ids)
        else:
            alt_ids = self.alternatives_
        arrays = pack_long(df, obs=obs, alt=alt, columns=spec.design_columns(alt_ids), choice=choice,
                           avail=avail, alt_ids=alt_ids, min_avail=2 if choice else 1)
        cust = list(self.customer_features)
        per_obs = df.groupby(obs, sort=False)[cust]
        if cust and (per_obs.nunique() > 1).any().any():
            raise ValueError(f"customer_features {cust} must be constant within each observation")
        Z = per_obs.first().reindex(arrays.obs_ids).to_numpy(dtype=float) if cust else np.zeros((arrays.n_obs, 0))
        if not np.isfinite(Z).all():
            raise ValueError(f"customer_features {cust} have missing or non-numeric values")
        return spec, alt_ids, arrays, Z

    @in_float64
    def fit(self, df: pd.DataFrame, obs: str = "obs", alt: str = "alt", choice: str = "chosen",
            avail: str | None = None) -> TasteNet:
        """Train with early stopping; returns ``self``."""
        import optax

        for name in ("alternatives_",):
            self.__dict__.pop(name, None)
        spec, alt_ids, arrays, Z = self._arrays(df, obs, alt, choice, avail)
        if not 0 < self.validation < 1:
            raise ValueError(f"validation must be a share in (0, 1), got {self.validation!r}")
        self.z_mean_ = Z.mean(axis=0)
        self.z_std_ = np.where(Z.std(axis=0) > 0, Z.std(axis=0), 1.0)
        Zs = (Z - self.z_mean_) / self.z_std_
        rng = np.random.default_rng(self.seed)
        is_val = rng.random(arrays.n_obs) < self.validation
        if is_val.all() or not is_val.any():
            raise ValueError("too few observations for a validation split")
        A = jnp.asarray(spec.asc_matrix(alt_ids))
        k_price = list(spec.features).index(self.price)
        parts = [(jnp.asarray(Zs[m]), jnp.asarray(arrays.X[m]), jnp.asarray(arrays.choice[m]),
                  jnp.asarray(arrays.avail[m])) for m in (~is_val, is_val)]
        params = init_params(jax.random.PRNGKey(self.seed), Z.shape[1], list(self.hidden), len(spec.features),
                             A.shape[1])
        opt = optax.adam(self.learning_rate)
        state = opt.init(params)
        loss = partial(mean_nll, A=A, price_index=k_price)

        @jax.jit
        def step(params, state):
            value, grads = jax.value_and_grad(loss)(params, *parts[0])
            updates, state = opt.update(grads, state, params)
            return optax.apply_updates(params, updates), state, value, loss(params, *parts[1])

        best, best_val, best_epoch, train_hist, val_hist = params, np.inf, 0, [], []
        for epoch in range(int(self.max_epochs)):
            new, state, tr, va = step(params, state)  # losses of ``params`` (before the update)
            train_hist.append(float(tr))
            val_hist.append(float(va))
            if float(va) < best_val - 1e-9:
                best, best_val, best_epoch = params, float(va), epoch
            elif epoch - best_epoch >= int(self.patience):
                break
            params = new
        self.spec_ = spec
        self.alternatives_ = alt_ids
        self.price_index_ = k_price
        self.params_ = best
        self.best_epoch_ = best_epoch
        self.train_loss_ = np.array(train_hist)
        self.val_loss_ = np.array(val_hist)
        self.n_obs_ = arrays.n_obs
        self.customers_ = Z
        self._columns = {"obs": obs, "alt": alt, "avail": avail}
        return self

    @in_float64
    def taste_coefficients(self, df: pd.DataFrame, obs: str | None = None, alt: str | None = None) -> pd.DataFrame:
        """The coefficients ``beta[n, k]`` of each observation of ``df`` (rows: observation ids)."""
        self._check_fitted()
        cols = self._columns
        _, _, arrays, Z = self._arrays(df, obs or cols["obs"], alt or cols["alt"], None, None)
        beta = tastes(self.params_, jnp.asarray((Z - self.z_mean_) / self.z_std_), self.price_index_)
        return pd.DataFrame(np.asarray(beta), index=arrays.obs_ids, columns=list(self.spec_.features))

    @in_float64
    def predict_proba(self, df: pd.DataFrame, obs: str | None = None, alt: str | None = None,
                      avail: str | None = None) -> pd.Series:
        """``P(alt | obs)`` for every row of ``df`` (0 for unavailable rows), aligned with ``df``."""
        self._check_fitted()
        cols = self._columns
        if avail is None and cols.get("avail") is not None and cols["avail"] in df.columns:
            avail = cols["avail"]
        _, _, arrays, Z = self._arrays(df, obs or cols["obs"], alt or cols["alt"], None, avail)
        V = utilities(self.params_, jnp.asarray((Z - self.z_mean_) / self.z_std_), jnp.asarray(arrays.X),
                      jnp.asarray(arrays.avail), jnp.asarray(self.spec_.asc_matrix(arrays.alt_ids)),
                      self.price_index_)
        return pd.Series(arrays.rows_from_dense(np.asarray(jax.nn.softmax(V, axis=1))), index=df.index,
                         name="proba")

    @in_float64
    def as_segments(self, n_draws: int | None = None, seed: int | None = None,
                    customers: pd.DataFrame | None = None):
        """R customers as equally weighted MNL segments for the optimizer.

        Customer r's utilities are linear in the features with coefficients
        ``beta(z_r)``, so it is an MNL: a :class:`~bundleopt.choice.DrawSegments` row
        (the constants, then ``beta(z_r)``). Customers are drawn with replacement from
        the training population (or ``customers``, a frame with the customer features);
        ``n_draws`` defaults to ``DEFAULT_SEGMENT_DRAWS``, ``seed`` to one other than the
        fit's, so the segments are fresh draws.
        """
        from bundleopt.choice.draw_segments import DEFAULT_SEGMENT_DRAWS, DrawSegments

        self._check_fitted()
        Z = customer_matrix(customers, list(self.customer_features), self.customers_)
        Zr = sample_customers(Z, DEFAULT_SEGMENT_DRAWS if n_draws is None else n_draws, self.seed + 1 if seed is None else seed)
        beta = np.asarray(tastes(self.params_, jnp.asarray((Zr - self.z_mean_) / self.z_std_), self.price_index_))
        asc_names = [f"ASC_{a}" for a in self.spec_.asc_alts(self.alternatives_)]
        table = pd.DataFrame(np.broadcast_to(np.asarray(self.params_["asc"]), (len(Zr), len(asc_names))),
                             columns=asc_names)
        for k, name in enumerate(self.spec_.features):
            table[name] = beta[:, k]
        return DrawSegments(self.spec_, self.alternatives_, table)
