"""Latent-class MNL on choice data grouped by menu within each customer.

A latent-class model mixes over classes per *customer*::

    LL = sum_i log sum_c pi[i, c] prod_{t in i} P(y_t | theta_c)

so occasions may be grouped only *within* a customer (``formulations/choice_data.md``):
a customer's occasions that faced the same menu and made the same choice at the same
price are one record of count ``w``, and the class-conditional log-likelihood of
customer ``i`` is ``L[i, c] = sum_{records r of i} w_r log P_r(theta_c)`` with
``log P_r`` the grouped MNL term of :mod:`bundleopt.choice.grouped`. That is the same
number as the sum over the customer's occasions, for every ``theta``, so the EM path,
the maximiser, the Hessian and the posterior are those of the row-by-row fit
(:meth:`~bundleopt.choice.LatentClassMNL.fit`); memory holds base menus and records,
never occasions x alternatives.

:func:`panel_menus_from_long` groups a long-format frame; :func:`fit_latent_menus`
fits a :class:`~bundleopt.choice.LatentClassMNL` on the grouped data with the same
steps as its ``fit``: the pooled MNL by EM from identical classes, ``n_starts`` EM runs
(one Newton step per class on the posterior-weighted grouped likelihood, with the
closed-form Hessian of :func:`bundleopt.choice.grouped.derivatives`), then direct
maximum likelihood in the identified subspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import scipy.linalg

from bundleopt.choice.grouped import (
    MenuChoices,
    MenuData,
    _core,
    derivatives,
    group_records,
    make_menu_data,
)
from bundleopt.choice.latent_likelihood import (
    _log_prior,
    _newton,
    _unpack,
    membership_step,
    mixture_loglik,
    mixture_posterior,
    newton_mle,
    run_em,
)
from bundleopt.choice.precision import in_float64

__all__ = ["PanelMenuChoices", "fit_latent_menus", "panel_menus_from_long"]


@dataclass(frozen=True)
class PanelMenuChoices:
    """Menu-grouped records of several customers (numpy).

    ``menus``: the base menus and records (:class:`~bundleopt.choice.grouped.MenuChoices`;
    records with the same customer, menu, choice and chosen features merged);
    ``customer`` (R,): code 0..I-1 of each record's customer; ``customer_ids`` the I ids;
    ``membership`` (I, M): each customer's membership features (M may be 0).
    """

    menus: MenuChoices
    customer: np.ndarray
    customer_ids: pd.Index
    membership: np.ndarray

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)


class PanelMenuData(NamedTuple):
    """:class:`PanelMenuChoices` on the JAX device: menus, record customers, design ``Z`` (I, 1+M)."""

    menus: MenuData
    customer: jax.Array
    Z: jax.Array


def panel_menus_from_long(
    df: pd.DataFrame,
    *,
    obs: str,
    alt: str,
    choice: str,
    customer: str,
    features: Sequence[str],
    avail: str | None = None,
    membership: Sequence[str] | None = None,
) -> PanelMenuChoices:
    """Group a long-format frame (one row per occasion and alternative) by customer and menu.

    Each distinct (features, availability) matrix of an occasion is one base menu (the
    chosen alternative keeps its own features, so ``x_chosen`` is its row); occasions of
    one customer with the same menu and choice are one record. Validation is
    :func:`~bundleopt.choice.long_format.pack_long`'s (one-line ``ValueError`` s).
    """
    from bundleopt.choice.long_format import check_columns, pack_long
    from bundleopt.choice.spec import DesignColumn

    features = list(features)
    membership = list(membership or [])
    check_columns(df, obs=obs, alt=alt, choice=choice, avail=avail, customer=customer,
                  features=features, membership=membership)
    arrays = pack_long(df, obs=obs, alt=alt, columns=[DesignColumn(name=f, source=f) for f in features],
                       choice=choice, avail=avail)
    N, J, K = arrays.X.shape
    first = np.unique(arrays.row_obs, return_index=True)[1]
    if df[customer].isna().any():
        raise ValueError(f"customer column {customer!r} has missing values")
    per_obs = df[customer].groupby(arrays.row_obs).nunique()
    if (per_obs > 1).any():
        bad = arrays.obs_ids[per_obs.index[per_obs > 1]][:5]
        raise ValueError(f"customer column {customer!r} varies within observations {list(bad)}")
    cust_codes, cust_ids = pd.factorize(df[customer].to_numpy()[first], sort=False)
    # distinct menus: hash the (features, availability) rows
    flat = np.concatenate([arrays.X.reshape(N, J * K), arrays.avail.astype(float)], axis=1)
    _, menu_first, menu_code = np.unique(flat, axis=0, return_index=True, return_inverse=True)
    menu_code = menu_code.ravel()
    x_chosen = arrays.X[np.arange(N), arrays.choice]  # (N, K)
    # records keyed by (customer, menu, choice, x): fold the customer into the menu key
    key = cust_codes.astype(np.int64) * len(menu_first) + menu_code
    k, j, x, w = group_records(key, arrays.choice, x_chosen)
    mc = MenuChoices(X=arrays.X[menu_first], avail=arrays.avail[menu_first], menu=k % len(menu_first),
                     choice=j, x_chosen=x, count=w, alt_ids=arrays.alt_ids, features=tuple(features))
    Zm = np.zeros((len(cust_ids), len(membership)))
    if membership:
        grouped = df.groupby(df[customer].to_numpy(), sort=False)[membership]
        varying = (grouped.nunique() > 1).any(axis=1)
        if varying.any():
            raise ValueError(f"membership column(s) {membership} must be constant within a customer; "
                             f"customers {list(varying[varying].index[:5])} are not")
        Zm = grouped.first().reindex(cust_ids).to_numpy(dtype=float)
    return PanelMenuChoices(menus=mc, customer=(k // len(menu_first)).astype(np.int32),
                            customer_ids=pd.Index(cust_ids, name=customer), membership=Zm)


def make_panel_data(panel: PanelMenuChoices, A: np.ndarray) -> PanelMenuData:
    Z = np.column_stack([np.ones(panel.n_customers), panel.membership])
    return PanelMenuData(menus=make_menu_data(panel.menus, A), customer=jnp.asarray(panel.customer, jnp.int32),
                         Z=jnp.asarray(Z, dtype=jnp.float64))


# ------------------------------------------------------------------------ likelihood
def _class_loglik(theta: jax.Array, data: PanelMenuData) -> jax.Array:
    """``L[i, c] = sum_{records r of i} w_r log P_r(theta_c)``, shape (I, C)."""
    ll_r = jax.vmap(lambda th: _core(th, data.menus)[0])(theta)  # (C, R)
    w = data.menus.count
    contrib = jnp.where(w > 0, w * ll_r, 0.0)  # padding records add nothing
    return jax.ops.segment_sum(contrib.T, data.customer, num_segments=data.Z.shape[0])


def _panel_loglik(params: jax.Array, data: PanelMenuData, n_classes: int, n_theta: int, n_z: int) -> jax.Array:
    theta, gamma = _unpack(params, n_classes, n_theta, n_z)
    return mixture_loglik(_class_loglik(theta, data), gamma, data.Z)


_STATIC = ("n_classes", "n_theta", "n_z")
panel_value_and_grad = jax.jit(jax.value_and_grad(_panel_loglik), static_argnames=_STATIC)


@partial(jax.jit, static_argnames=_STATIC)
def panel_derivatives(params: jax.Array, data: PanelMenuData, n_classes: int, n_theta: int, n_z: int):
    """``(LL, gradient, Hessian)`` of the grouped panel log-likelihood."""
    f = partial(_panel_loglik, data=data, n_classes=n_classes, n_theta=n_theta, n_z=n_z)
    return f(params), jax.grad(f)(params), jax.hessian(f)(params)


@jax.jit
def posterior(theta: jax.Array, gamma: jax.Array, data: PanelMenuData) -> tuple[jax.Array, jax.Array]:
    """E-step: ``(h (I, C), LL)``."""
    return mixture_posterior(_class_loglik(theta, data), gamma, data.Z)


@jax.jit
def em_step(theta: jax.Array, gamma: jax.Array, data: PanelMenuData) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One generalised-EM iteration (as :func:`bundleopt.choice.latent_likelihood.em_step`): the
    M-step's class block is one Newton step on the grouped MNL with record weights
    ``w_r h[i(r), c]`` (closed-form gradient and Hessian)."""
    h, ll = posterior(theta, gamma, data)
    w_rec = data.menus.count[:, None] * h[data.customer]  # (R, C)

    def class_step(th, w):
        _, g, H = derivatives(th, data.menus._replace(count=w))
        return th + _newton(g, H)

    theta = jax.vmap(class_step, in_axes=(0, 1))(theta, w_rec)
    return theta, membership_step(h, gamma, data.Z), ll


# ------------------------------------------------------------------------ fitting
def _em(model: Any, theta, gamma, data: PanelMenuData) -> tuple[jax.Array, jax.Array, float, int]:
    return run_em(em_step, posterior, theta, gamma, data, model.max_em_iter, model.em_tol)


def _direct_mle(x0: np.ndarray, data: PanelMenuData, static: dict, max_iter: int, basis: np.ndarray):
    """The long-format fit's maximisation (:func:`bundleopt.choice.latent_likelihood.newton_mle`)
    on the grouped likelihood."""
    return newton_mle(x0, lambda c: panel_derivatives(jnp.asarray(c), data, **static),
                      lambda c: panel_value_and_grad(jnp.asarray(c), data, **static),
                      float(np.asarray(data.menus.count).sum()), max_iter, basis)


def _separation(theta: np.ndarray, gamma: np.ndarray, data: PanelMenuData, panel: PanelMenuChoices,
                ident: Any, max_rows_check: int) -> dict[int, np.ndarray]:
    """Separating direction per class, as the long-format fit: screened on the class's
    posterior-weighted Hessian, confirmed by the LP on the records of the customers it
    holds (posterior > 1/2; skipped, with the screen only, above ``max_rows_check`` cells)."""
    from bundleopt.choice.identification import (
        choice_differences,
        screen_separation,
        separating_direction,
    )

    h, _ = posterior(jnp.asarray(theta), jnp.asarray(gamma), data)
    w_rec = np.asarray(h)[panel.customer]  # (R, C)
    count = np.asarray(data.menus.count)
    out: dict[int, np.ndarray] = {}
    arrays = None
    for c in range(theta.shape[0]):
        d_c = data.menus._replace(count=jnp.asarray(count * w_rec[:, c]))
        Hc = np.asarray(derivatives(jnp.asarray(theta[c]), d_c)[2])
        H0c = np.asarray(derivatives(jnp.zeros(theta.shape[1]), d_c)[2])
        held = w_rec[:, c] > 0.5
        p_chosen = np.exp(np.asarray(_core(jnp.asarray(theta[c]), data.menus)[0]))
        if not screen_separation(Hc, H0c, ident.basis, max_chosen_prob=float(np.max(p_chosen[held], initial=0))):
            continue
        if len(panel.menus.menu) * len(panel.menus.alt_ids) > max_rows_check:
            continue
        if arrays is None:
            arrays = panel.menus.to_arrays()
        X, y, av, w = arrays
        d = separating_direction(choice_differences(X, y, av, w * held, np.asarray(data.menus.A)),
                                 ident.basis, ident.scale)
        if d is not None:
            out[c] = d
    return out


@in_float64
def fit_latent_menus(model: Any, panel: PanelMenuChoices, max_rows_check: int = 2_000_000) -> Any:
    """Fit ``model`` (a :class:`~bundleopt.choice.LatentClassMNL` with generic ``features``
    equal to ``panel.menus.features``) on grouped panel data; the same steps, starting
    points and fitted attributes as its ``fit`` on the occasions the records group
    (module docstring). Returns ``model``."""
    from bundleopt.choice.compile_cache import enable_compilation_cache
    from bundleopt.choice.grouped import raw_moments
    from bundleopt.choice.identification import Assessment, diverging, identify, subspace_covariance
    enable_compilation_cache()
    spec = model._spec()
    mc = panel.menus
    if spec.features_by_alt or tuple(spec.features) != tuple(mc.features):
        raise ValueError(f"grouped latent-class fits need features={list(mc.features)} (generic only), "
                         f"got features={list(spec.features)}, features_by_alt={dict(spec.features_by_alt)}")
    if panel.membership.shape[1] != len(model.membership or []):
        raise ValueError(f"the data carry {panel.membership.shape[1]} membership column(s) but the model "
                         f"has membership={list(model.membership or [])}")
    C = int(model.n_classes)
    if C < 1 or C != model.n_classes:
        raise ValueError(f"n_classes must be a positive integer, got {model.n_classes!r}")
    alt_ids = mc.alt_ids
    names = spec.param_names(alt_ids)
    P, nz = len(names), panel.membership.shape[1] + 1
    n_param = C * P + (C - 1) * nz
    n_avail = mc.avail.sum(axis=1)[mc.menu] + ~mc.avail[mc.menu, mc.choice]  # per record
    dof = int(round(float(np.sum(mc.count * (n_avail - 1)))))
    if C > panel.n_customers:
        raise ValueError(f"n_classes={C} exceeds the {panel.n_customers} customers in the data: "
                         f"use at most {panel.n_customers} classes (fewer for stable estimates)")
    if n_param > dof:
        raise ValueError(f"LatentClassMNL(n_classes={C}) has {n_param} parameters but the data pin down "
                         f"at most {dof} choice probabilities: use fewer classes or features")
    data = make_panel_data(panel, spec.asc_matrix(alt_ids))

    same = jnp.zeros((C, P))
    gamma_eq = jnp.zeros((C, nz))
    for _ in range(25):  # the pooled MNL: EM from identical classes is Newton on the pooled LL
        new, _, _ = em_step(same, gamma_eq, data)
        if float(jnp.max(jnp.abs(new - same))) < 1e-8 or not np.all(np.isfinite(np.asarray(new))):
            break
        same = new
    pooled = np.nan_to_num(np.asarray(same[0]))
    rng = np.random.default_rng(model.random_state)
    scale = np.maximum(np.abs(pooled), 0.5)
    best = None
    model.start_logliks_ = []
    for start in range(max(1, int(model.n_starts))):
        noise = 0.1 if start == 0 else 1.0
        theta0 = pooled[None, :] + noise * scale[None, :] * rng.standard_normal((C, P))
        theta, gamma, ll, n_it = _em(model, jnp.asarray(theta0), jnp.asarray(np.zeros((C, nz))), data)
        model.start_logliks_.append(ll)
        if best is None or ll > best[2]:
            best = (theta, gamma, ll, n_it)
    theta, gamma, _, n_em = best

    x0 = np.concatenate([np.asarray(theta).ravel(), np.asarray(gamma)[1:].ravel()])
    static = {"n_classes": C, "n_theta": P, "n_z": nz}
    H0 = np.asarray(derivatives(jnp.zeros(P), data.menus)[2])
    ident = identify(H0, np.asarray(raw_moments(data.menus)))
    null_p = scipy.linalg.null_space(ident.basis.T) if ident.basis.shape[1] < P else np.zeros((P, 0))
    n_x = len(x0)
    null_x = [np.concatenate([np.zeros(c * P), v, np.zeros(n_x - (c + 1) * P)]) for c in range(C) for v in null_p.T]
    basis = np.eye(n_x) if not null_x else scipy.linalg.null_space(np.array(null_x))
    x, ll, H, converged = _direct_mle(x0, data, static, model.max_iter, basis)
    theta, gamma = (np.asarray(a) for a in _unpack(jnp.asarray(x), C, P, nz))
    nan = np.zeros(n_x, bool)
    nan[: C * P] = np.tile(ident.unidentified, C)
    separated = _separation(theta, gamma, data, panel, ident, max_rows_check)
    for c, d in separated.items():
        block = np.zeros(n_x)
        block[c * P:(c + 1) * P] = d
        basis = scipy.linalg.null_space(np.hstack([scipy.linalg.null_space(basis.T), block[:, None]]).T)
        nan[c * P:(c + 1) * P] |= np.array([n in diverging(d, ident.scale, names) for n in names])
    sep_names = [f"{n} (class {c})" for c, d in separated.items() for n in diverging(d, ident.scale, names)]
    Assessment(ident.names(names), sep_names, basis, nan).warn("LatentClassMNL")
    cov = subspace_covariance(H, basis, unidentified=nan)
    se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
    classes = list(range(C))
    mem_names = ["const", *(model.membership or [])]
    model.unidentified_ = ident.names(names)
    model.separated_ = sep_names
    model.spec_ = spec
    model.alternatives_ = alt_ids
    model.reference_ = spec.reference_alt(alt_ids)
    model.class_params_ = pd.DataFrame(theta.T, index=names, columns=classes)
    model.std_errors_ = pd.DataFrame(se[: C * P].reshape(C, P).T, index=names, columns=classes)
    model.membership_params_ = pd.DataFrame(gamma.T, index=mem_names, columns=classes)
    mem_se = np.vstack([np.zeros((1, nz)), se[C * P:].reshape(C - 1, nz)]) if C > 1 else np.zeros((1, nz))
    model.membership_std_errors_ = pd.DataFrame(mem_se.T, index=mem_names, columns=classes)
    h, _ = posterior(jnp.asarray(theta), jnp.asarray(gamma), data)
    model.posterior_ = pd.DataFrame(np.asarray(h), index=panel.customer_ids, columns=classes)
    model.posterior_.index.name = panel.customer_ids.name
    model.shares_ = np.exp(np.asarray(_log_prior(jnp.asarray(gamma), data.Z))).mean(axis=0)
    model.loglik_ = float(ll)
    model.n_obs_ = int(round(float(mc.count.sum())))
    model.n_customers_ = panel.n_customers
    model.n_iter_ = n_em
    model.converged_ = bool(converged and not separated)
    model.cov_ = cov
    model._columns = {"obs": "obs", "alt": "alt", "choice": "chosen", "avail": None,
                      "customer": panel.customer_ids.name}
    return model
