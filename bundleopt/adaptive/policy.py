"""A re-pricing policy: offer a plan, observe sales, update a Bayesian MNL, re-optimise.

Model (one per *group*: each observed segment, or one pooled group when segments are
latent). With offers ``o = 1..O``, reference prices ``R_o`` (list prices) and the
no-purchase alternative 0 as reference::

    U[o] = alpha_o + beta (p_o - R_o),   U[0] = 0,   theta = (alpha_1..alpha_O, beta)

so ``v[o, k] = exp(alpha_o + beta (p[o, k] - R_o))`` and ``v0 = 1``: the same family as
the true market's segments (correctly specified when segments are observed). Centring
prices at ``R_o`` makes ``alpha_o`` the utility at list price, which a weak prior can
describe without knowing the price level.

Posterior (Laplace approximation): prior ``theta ~ N(m0, diag(s0^2))`` with
``alpha ~ N(0, prior_sd^2)`` and ``beta ~ N(-2 / Pbar, (2 / Pbar)^2)`` (``Pbar`` the mean
list price of the singles). After each period the MAP

    theta_hat = argmax  sum_t gamma^(T - t) LL_t(theta) - 1/2 (theta - m0)' S0^-1 (theta - m0)

is found by Newton from the previous ``theta_hat`` (warm start; the objective is concave),
and the posterior is ``N(theta_hat, Sigma)`` with ``Sigma = (S0^-1 - H)^-1``, ``H`` the
Hessian of the (discounted) log-likelihood at ``theta_hat``. ``gamma`` (``forget``) < 1
discounts old periods so the model can follow drifting tastes.

Sales are stored as sufficient statistics: every customer of a group who saw the same
menu (offered prices) has the same choice probabilities, so the log-likelihood of a
period is ``sum_{menu m} sum_j n[m, j] log P_m(j)``: one weighted row per (menu, chosen
alternative) instead of one per customer. The fused likelihood of
:mod:`bundleopt.choice.likelihood` evaluates it with the counts as weights.

Exploration: Thompson sampling draws ``theta ~ N(theta_hat, Sigma)`` per group and
period and optimises against it; ``thompson=False`` optimises the MAP (greedy).
``explore`` is an explicit price-exploration budget: with that probability per period
and menu, one offered offer is moved one ladder step up or down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd

from bundleopt.adaptive.market import NO_PURCHASE, Catalog
from bundleopt.choice.likelihood import MNLData, loglik_grad_hess
from bundleopt.choice.parquet_source import full_pass
from bundleopt.choice.precision import in_float64
from bundleopt.optimize import solve
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

POOLED = "all"
#: fewest rows of the padded menu data (one compiled shape covers ~70 periods of 6 offers)
MIN_ROWS = 512


@dataclass(eq=False)
class GroupPosterior:
    """Data and Laplace posterior of one group's MNL.

    ``menus`` (R, O) offered price per menu seen (NaN = not offered), ``counts``
    (R, O + 1) choices per menu (column 0 = no purchase), ``period`` (R,) when it was
    seen; ``theta``/``cov`` the posterior mean (MAP) and covariance.
    """

    menus: np.ndarray
    counts: np.ndarray
    period: np.ndarray
    theta: np.ndarray
    cov: np.ndarray
    n_customers: int = 0
    newton_iters: int = 0


@dataclass
class ThompsonPolicy:
    """Each period: offer the plan, observe sales, refit the posterior, re-optimise.

    Args:
        thompson: sample the parameters from the posterior (Thompson sampling);
            ``False`` plans with the MAP estimate (greedy, no exploration).
        explore: explicit price-exploration probability per period and menu.
        forget: ``gamma`` in (0, 1], discount per period of old sales (1 = none).
        prior_sd: prior standard deviation of the offer constants ``alpha``.
        price_prior: ``(mean, sd)`` of ``beta * Pbar`` (default ``(-2, 2)``).
        max_newton: most Newton iterations per update.
        solve_options: keyword arguments of :func:`bundleopt.solve` (default
            ``threads=1``).
        seed: seed of the sampling and exploration draws.
    """

    thompson: bool = True
    explore: float = 0.0
    forget: float = 1.0
    prior_sd: float = 2.0
    price_prior: tuple[float, float] = (-2.0, 2.0)
    max_newton: int = 25
    solve_options: dict[str, Any] = field(default_factory=lambda: {"threads": 1})
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.explore <= 1.0:
            raise ValueError(f"explore must be in [0, 1], got {self.explore!r}")
        if not 0.0 < self.forget <= 1.0:
            raise ValueError(f"forget must be in (0, 1], got {self.forget!r}")
        if not (np.isfinite(self.prior_sd) and self.prior_sd > 0):
            raise ValueError(f"prior_sd must be > 0, got {self.prior_sd!r}")
        if len(self.price_prior) != 2 or not self.price_prior[1] > 0:
            raise ValueError(f"price_prior must be (mean, sd > 0), got {self.price_prior!r}")

    # ------------------------------------------------------------------ setup
    def reset(self, catalog: Catalog) -> ThompsonPolicy:
        """Forget everything and start from the prior for ``catalog``; returns ``self``."""
        self.catalog_ = catalog
        self.rng_ = np.random.default_rng(self.seed)
        n_off = catalog.n_offers
        self.reference_prices_ = catalog.prices[np.arange(n_off), catalog.list_level]
        singles = np.array([len(c) == 1 for c in catalog.components])
        pbar = float(np.mean(self.reference_prices_[singles]))
        m0 = np.r_[np.zeros(n_off), self.price_prior[0] / pbar]
        s0 = np.r_[np.full(n_off, self.prior_sd), self.price_prior[1] / pbar]
        self.prior_mean_, self.prior_prec_ = m0, np.diag(1.0 / s0**2)
        self.groups_ = list(catalog.segment_ids) if catalog.observed_segments else [POOLED]
        self.posteriors_ = {
            g: GroupPosterior(np.zeros((0, n_off)), np.zeros((0, n_off + 1)), np.zeros(0, int), m0.copy(), np.diag(s0**2))
            for g in self.groups_
        }
        self.last_period_ = -1
        return self

    def _check_ready(self) -> None:
        if not hasattr(self, "catalog_"):
            raise ValueError("call policy.reset(market.catalog) before planning")

    # ------------------------------------------------------------------ planning
    def model_scenario(self, sample: bool = False) -> Scenario:
        """The scenario the policy believes in: posterior mean, or one posterior draw."""
        self._check_ready()
        cat = self.catalog_
        p = np.nan_to_num(cat.prices, nan=0.0) - self.reference_prices_[:, None]
        v = []
        for g in self.groups_:
            post = self.posteriors_[g]
            theta = post.theta
            if sample:
                theta = self.rng_.multivariate_normal(post.theta, post.cov, method="cholesky")
            alpha, beta = theta[:-1], theta[-1]
            u = np.clip(alpha[:, None] + beta * p, -50.0, 50.0)
            v.append(np.where(np.isfinite(cat.prices), np.exp(u), 0.0))
        n = np.array([self.posteriors_[g].n_customers for g in self.groups_], dtype=float)
        weights = (n + 1.0) / (n.sum() + len(n))  # posterior mean of the shares (Dirichlet(1) prior)
        if cat.observed_segments:
            return cat.scenario(np.array(v), np.ones(len(v)), weights)
        return cat.scenario(np.array(v), np.ones(1), np.ones(1), segment_ids=(POOLED,), personalised=False)

    def plan(self, period: int) -> Decision:
        """The decision to offer in ``period``: optimise a posterior draw (or the MAP)."""
        sc = self.model_scenario(sample=self.thompson)
        decision = solve(sc, **self.solve_options).decision
        if self.explore > 0:
            decision = self._explore(sc, decision)
        return decision

    def _explore(self, sc: Scenario, decision: Decision) -> Decision:
        """With probability ``explore`` per menu, move one offered offer one ladder step."""
        levels = decision.levels.copy()
        allowed = sc.allowed()
        for g in range(levels.shape[0]):
            on = np.flatnonzero(levels[g] != NOT_OFFERED)
            if on.size == 0 or self.rng_.random() >= self.explore:
                continue
            o = int(self.rng_.choice(on))
            k = levels[g, o] + int(self.rng_.choice([-1, 1]))
            if 0 <= k < sc.n_levels and allowed[o, k]:
                levels[g, o] = k
        return Decision(levels)

    # ------------------------------------------------------------------ learning
    def update(self, sales: pd.DataFrame, period: int) -> None:
        """Add one period's sales (long format from :meth:`Market.sell`) and refit."""
        self._check_ready()
        missing = {"obs", "alt", "chosen", "price"} - set(sales.columns)
        if self.catalog_.observed_segments:
            missing |= {"segment"} - set(sales.columns)
        if missing:
            raise ValueError(f"sales frame lacks column(s) {sorted(missing)}")
        self.last_period_ = max(self.last_period_, period)
        tables = aggregate_sales(sales, self.catalog_.offer_ids,
                                 "segment" if self.catalog_.observed_segments else None)
        for g, (menus, counts) in tables.items():
            if g not in self.posteriors_:
                raise ValueError(f"sales name segment {g!r}, unknown to the catalog {self.groups_}")
            post = self.posteriors_[g]
            post.menus = np.vstack([post.menus, menus])
            post.counts = np.vstack([post.counts, counts])
            post.period = np.r_[post.period, np.full(len(menus), period)]
            post.n_customers += int(counts.sum())
        for g in self.groups_:
            self._refit(self.posteriors_[g])

    def _refit(self, post: GroupPosterior) -> None:
        if len(post.menus) == 0:
            return
        decay = self.forget ** (self.last_period_ - post.period)
        data = menu_data(post.menus, post.counts * decay[:, None], self.reference_prices_)
        theta, cov, iters = map_newton(data, post.theta, self.prior_mean_, self.prior_prec_, self.max_newton)
        post.theta, post.cov, post.newton_iters = theta, cov, iters

    def posterior(self) -> pd.DataFrame:
        """Posterior mean and standard deviation of every group's parameters."""
        self._check_ready()
        names = [f"alpha_{o}" for o in self.catalog_.offer_ids] + ["beta_price"]
        rows = []
        for g in self.groups_:
            post = self.posteriors_[g]
            sd = np.sqrt(np.clip(np.diag(post.cov), 0, None))
            rows += [{"group": g, "parameter": n, "mean": m, "sd": s} for n, m, s in zip(names, post.theta, sd, strict=True)]
        return pd.DataFrame(rows)


# ---------------------------------------------------------------------- pure helpers
def aggregate_sales(
    sales: pd.DataFrame, offer_ids: tuple[Any, ...], group: str | None
) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """Per group: distinct menus ``(R, O)`` (offered price, NaN = not offered) and choice
    counts ``(R, O + 1)`` (column 0 = no purchase), from long-format sales."""
    alt_code = pd.Index([NO_PURCHASE, *offer_ids]).get_indexer(sales["alt"])
    if (alt_code < 0).any():
        bad = sales.loc[alt_code < 0, "alt"].unique()[:5]
        raise ValueError(f"sales name alternatives unknown to the catalog: {list(bad)}")
    obs_code, obs_ids = pd.factorize(sales["obs"], sort=False)
    n, n_off = len(obs_ids), len(offer_ids)
    price = np.full((n, n_off + 1), np.nan)
    price[obs_code, alt_code] = sales["price"].to_numpy(dtype=float)
    chosen = sales["chosen"].to_numpy() == 1
    choice = np.full(n, -1)
    choice[obs_code[chosen]] = alt_code[chosen]
    if (choice < 0).any() or np.bincount(obs_code[chosen], minlength=n).max() > 1:
        raise ValueError("each customer in the sales must have exactly one chosen alternative")
    groups = (np.zeros(n, int), [POOLED]) if group is None else pd.factorize(
        sales[group].to_numpy()[np.unique(obs_code, return_index=True)[1]], sort=False)
    gcode, gids = groups
    out: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
    for i, g in enumerate(gids):
        rows = gcode == i
        menus = price[rows, 1:]
        keys, inverse = np.unique(np.nan_to_num(menus, nan=-1.0), axis=0, return_inverse=True)
        counts = np.zeros((len(keys), n_off + 1))
        np.add.at(counts, (inverse.reshape(-1), choice[rows]), 1.0)
        out[g] = (np.where(keys < 0, np.nan, keys), counts)
    return out


@in_float64
def menu_data(menus: np.ndarray, counts: np.ndarray, reference_prices: np.ndarray) -> MNLData:
    """:class:`MNLData` with one row per (menu, chosen alternative) weighted by its count.

    Alternatives ``0`` (no purchase, reference) and ``1..O``; one design column
    ``p_o - R_o``; the constants map ``A`` is ``[0; I_O]``. Rows are padded to a power of
    two, at least :data:`MIN_ROWS` (weight 0), so the jitted likelihood compiles for few shapes.
    """
    _, n_off = menus.shape
    r, j = np.nonzero(counts > 0)
    n = len(r)
    n_pad = max(MIN_ROWS, 1 << int(np.ceil(np.log2(max(n, 1)))))
    X = np.zeros((n_pad, n_off + 1, 1))
    avail = np.ones((n_pad, n_off + 1), dtype=bool)
    on = np.isfinite(menus[r])
    X[:n, 1:, 0] = np.where(on, np.nan_to_num(menus[r]) - reference_prices[None, :], 0.0)
    avail[:n, 1:] = on
    choice = np.zeros(n_pad, dtype=np.int32)
    choice[:n] = j
    w = np.zeros(n_pad)
    w[:n] = counts[r, j]
    A = np.vstack([np.zeros((1, n_off)), np.eye(n_off)])
    return MNLData(X=jnp.asarray(X), choice=jnp.asarray(choice), avail=jnp.asarray(avail),
                   weight=jnp.asarray(w), A=jnp.asarray(A))


@in_float64
def map_newton(
    data: MNLData, theta0: np.ndarray, prior_mean: np.ndarray, prior_prec: np.ndarray, max_iter: int = 25,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray, int]:
    """MAP of ``LL(theta) - 1/2 (theta - m0)' P0 (theta - m0)`` by damped Newton.

    Returns ``(theta_hat, (P0 - H)^-1, iterations)``; the objective is strictly concave
    (``P0`` positive definite), so Newton with step halving converges from any start.
    """
    def stats(th: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        ll, g, H = (np.asarray(a) for a in full_pass(loglik_grad_hess, jnp.asarray(th), data))
        d = th - prior_mean
        return float(ll) - 0.5 * d @ prior_prec @ d, g - prior_prec @ d, H - prior_prec

    theta = np.asarray(theta0, dtype=float).copy()
    f, g, H = stats(theta)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        step = np.linalg.solve(-H, g)
        if g @ step < tol:
            break
        t = 1.0
        for _ in range(40):
            f_c, g_c, H_c = stats(theta + t * step)
            if np.isfinite(f_c) and f_c >= f - 1e-12 * abs(f):
                break
            t /= 2
        theta, f, g, H = theta + t * step, f_c, g_c, H_c
    cov = np.linalg.inv(-H)
    return theta, 0.5 * (cov + cov.T), it
