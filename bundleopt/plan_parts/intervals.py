"""Intervals on profit and uplift from the estimates' sampling distribution, and a plan that holds up.

The choice models' estimates ``theta_s`` are approximately normal with the covariance
the fit reports (``model.cov_``, the inverse Hessian of the log-likelihood). A draw
``theta_s^(d) ~ N(theta_s, cov_s)`` per segment gives new preference weights
``v^(d)`` (the pipeline's own ``weights_of``), and the plan and the status quo are
re-evaluated exactly (:func:`bundleopt.optimize.evaluate`) under each draw. The
interval of a quantity is the central ``level`` share of its draws (percentiles).
Parameters whose covariance is not finite (unidentified, separated) are held at
their estimates, which the note says.

**Centring.** A weight is the exponential of a normal draw: with ``x = log v`` drawn as
``N(log v_hat, sigma^2)``, ``E[v] = v_hat exp(sigma^2 / 2)``. Every offer's weight is then
too large on average, by ``exp(sigma^2/2)`` with ``sigma`` its log-weight's standard error
(``1 / sqrt(n)`` for an offer chosen ``n`` times): a few percent for a rare offer, and the
same sign for all of them, so across hundreds of weakly identified offers every draw sells
more than the estimate and the plan's profit at the estimates can lie below its own
interval (measured on Ta-Feng, 1,000 products, 6 segments: point 4,851,706, 90% interval
4,873,442 to 4,921,880; the shift scales with the covariance, +0.87 % / +0.19 % / +0.04 %
at 1, 1/4, 1/16 of it: second order, Jensen's). It is an artefact of the normal
approximation on the log scale: the exact sampling law of a log share ``log(n / N)`` is
skewed with mean ``log n_hat - 1/(2n)``, about ``sigma^2 / 2`` below the estimate. So
:func:`linear_weights` given the covariances draws **centred** weights
``v_hat exp(delta - Var(delta) / 2)`` (``delta`` the draw's change of the log-weight), whose
mean is the estimate's weight for every offer, segment and price
(:func:`log_weight_variance`). :func:`parameter_intervals` measures what is left:
the profit at the draws' mean weights (the estimate's, up to Monte-Carlo error) and the
mean of the draws' profits; their difference is the curvature of profit in the weights
(the logit's denominator), reported with numbers (:attr:`Intervals.checks`).

:func:`robust_plan` maximises the **mean** profit over draws: each draw of a segment
becomes a segment of weight ``w_s / D`` of a latent-class scenario the existing MILP
solves. With personalised menus each segment's draws must share its menu, so the
problem is solved per segment (exact when no rule couples segments:
:func:`bundleopt.optimize.decompose.coupling_rules`); with uniform prices it is one
scenario with ``S x D`` segments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse

from bundleopt.scenario import Decision, Scenario

__all__ = ["Intervals", "LinearWeights", "RobustPlan", "draw_models", "draw_parameters", "linear_weights",
           "log_weight_variance", "parameter_intervals", "robust_plan"]

#: ``weights_of({segment: parameter Series}) -> v`` (S, O, K): the scenario's weights at those parameters
WeightsOf = Callable[[Mapping[Any, pd.Series]], np.ndarray]


@dataclass(frozen=True)
class Intervals:
    """Profit and uplift under parameter draws (plain data).

    ``draws``: one row per draw: ``plan_profit``, ``status_quo_profit``, ``gain``,
    ``uplift`` (NaN where that draw's status quo is not a meaningful base).
    ``table``: per quantity: ``point`` (at the estimates), ``low``, ``median``, ``high``.
    ``level``: the interval's coverage (0.9: 5th to 95th percentile). ``note``: what
    was held fixed, how the draws are centred, and why an uplift interval is "n/a" when it is.
    ``checks``: the plan's profit ``at_estimates``, ``mean_over_draws`` and
    ``at_mean_weights`` (at the mean of the drawn weights), and ``centred`` (whether the
    drawn weights are centred on the estimate's, module docstring): ``mean_over_draws -
    at_mean_weights`` is the curvature of profit in the weights, ``at_mean_weights -
    at_estimates`` the draws' offset from the estimate (Monte-Carlo error when centred).
    """

    draws: pd.DataFrame
    table: pd.DataFrame
    level: float
    note: str
    checks: Mapping[str, float | bool] = field(default_factory=dict)


def draw_parameters(models: Mapping[Any, Any], n_draws: int, rng: np.random.Generator,
                    ) -> tuple[dict[Any, np.ndarray], dict[Any, pd.Index], list[str]]:
    """``n_draws`` parameter vectors per model from ``N(estimate, cov_)``, as arrays.

    Returns ``({segment: (n_draws, P) draws}, {segment: parameter names}, held)`` with
    ``held`` the parameters held at their estimate (covariance not finite). The square
    root of each covariance is taken once: its Cholesky factor, or (not positive
    definite: rounding, or a singular covariance) the eigen-decomposition with negative
    eigenvalues set to 0; either root ``R`` has ``R R^T = cov``: the draws' law is the same. The standard normals are drawn draw by draw and
    segment by segment from ``rng`` (one block: the same numbers as drawing them in
    that order one vector at a time).
    """
    fixed: list[str] = []
    roots = {}
    for s, m in models.items():
        est = m.params_.to_numpy(dtype=float)
        cov = np.asarray(m.cov_, dtype=float)
        ok = np.isfinite(np.diag(cov)) & np.isfinite(cov).all(axis=1)
        fixed += [f"segment {s}: {n}" for n in np.asarray(m.params_.index)[~ok]]
        roots[s] = (est, ok, _root(cov if ok.all() else cov[np.ix_(ok, ok)]), m.params_.index)
    sizes = [int(ok.sum()) for _, ok, _, _ in roots.values()]
    z = rng.standard_normal((n_draws, sum(sizes)))
    out, names, start = {}, {}, 0
    for (s, (est, ok, root, index)), k in zip(roots.items(), sizes, strict=True):
        theta = np.tile(est, (n_draws, 1))
        theta[:, ok] += z[:, start:start + k] @ root.T
        start += k
        out[s], names[s] = theta, index
    return out, names, fixed


def _root(cov: np.ndarray) -> np.ndarray:
    """A square root ``R`` with ``R R^T = cov`` (:func:`draw_parameters`)."""
    if cov.size == 0:
        return np.zeros((0, 0))
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
        return vecs * np.sqrt(np.clip(vals, 0.0, None))


def draw_models(models: Mapping[Any, Any], n_draws: int,
                rng: np.random.Generator) -> tuple[list[dict[Any, pd.Series]], list[str]]:
    """``n_draws`` parameter sets ``{segment: Series}`` drawn from ``N(estimate, cov_)`` per model
    (:func:`draw_parameters`, one Series per draw and segment).

    Returns the draws and the names of parameters held at their estimate (covariance
    not finite).
    """
    arrays, names, fixed = draw_parameters(models, n_draws, rng)
    return [{s: pd.Series(arrays[s][d], index=names[s]) for s in arrays} for d in range(n_draws)], fixed


def log_weight_variance(design: np.ndarray, cov: np.ndarray, prices: np.ndarray, price_index: int) -> np.ndarray:
    """``Var(delta[o, k])`` (O, K) of the change of each log-weight under ``N(0, cov)`` draws.

    ``delta[o, k] = design[o] . d_theta + d_beta p[o, k]``, so its variance is
    ``a_o + 2 p c_o + p^2 b`` with ``a_o = design[o] cov design[o]``, ``c_o = design[o]
    cov[:, price]``, ``b = cov[price, price]``. Parameters whose covariance is not finite
    are held at their estimates by :func:`draw_parameters`: their rows and columns count 0.
    """
    cov = np.asarray(cov, dtype=float)
    ok = np.isfinite(np.diag(cov)) & np.isfinite(cov).all(axis=1)
    p = np.nan_to_num(np.asarray(prices, dtype=float))
    # the design is sparse (an offer's constant is one constant, a bundle's a few): each
    # quadratic form on its few non-zeros, no (P x P) copy of the covariance (thousands of
    # parameters); only the symmetric part of cov enters a quadratic form
    D = scipy.sparse.csr_matrix(np.where(ok[None, :], design, 0.0))
    a = np.zeros(D.shape[0])
    for o in range(D.shape[0]):
        cols = D.indices[D.indptr[o]:D.indptr[o + 1]]
        if cols.size:
            vals = D.data[D.indptr[o]:D.indptr[o + 1]]
            a[o] = vals @ cov[np.ix_(cols, cols)] @ vals
    if not ok[price_index]:
        return np.clip(a, 0.0, None)[:, None] * np.ones_like(p)
    col = np.where(ok, (cov[:, price_index] + cov[price_index, :]) / 2, 0.0)
    c = D @ col
    return np.clip(a[:, None] + 2.0 * p * c[:, None] + p**2 * cov[price_index, price_index], 0.0, None)


@dataclass(frozen=True)
class LinearWeights:
    """``weights_of`` for utilities linear in the parameters (:func:`linear_weights`)."""

    v: np.ndarray
    prices: np.ndarray
    design: Mapping[Any, np.ndarray]
    estimates: Mapping[Any, pd.Series]
    price: str = "price"
    #: (S, O, K) ``exp(-Var(delta) / 2)`` per weight, or None (not centred)
    shrink: np.ndarray | None = None

    @property
    def centred(self) -> bool:
        """Whether the drawn weights are centred on the estimate's (module docstring)."""
        return self.shrink is not None

    def __call__(self, params: Mapping[Any, pd.Series]) -> np.ndarray:
        p = np.nan_to_num(np.asarray(self.prices, dtype=float))
        out = np.empty_like(self.v)
        for i, (s, est) in enumerate(self.estimates.items()):
            given = params[s]
            if not given.index.equals(est.index):  # fast path: the same parameters in order
                given = given.reindex(est.index)
            delta = given.to_numpy(dtype=float) - est.to_numpy(dtype=float)
            at_price = int(est.index.get_loc(self.price))
            out[i] = self.v[i] * np.exp((self.design[s] @ delta)[:, None] + delta[at_price] * p)
        return out if self.shrink is None else out * self.shrink


def linear_weights(v: np.ndarray, prices: np.ndarray, design: Mapping[Any, np.ndarray],
                   estimates: Mapping[Any, pd.Series], price: str = "price",
                   covariances: Mapping[Any, Any] | None = None) -> LinearWeights:
    """A fast ``weights_of`` for utilities linear in the parameters.

    With ``u[s, o, k] = design_s[o] . theta_s + beta_s p[o, k]`` (``design_s`` (O, P):
    which constants make up each offer's constant), the weights at ``theta'`` are
    ``v * exp(design_s (theta' - theta) + (beta' - beta) p)``: exact, no model calls.
    ``v`` (S, O, K) are the weights at the ``estimates``; segment ``s`` is the s-th key.

    With ``covariances`` (segment -> the estimates' covariance, the one the draws come
    from), each weight is also multiplied by ``exp(-Var(delta) / 2)``
    (:func:`log_weight_variance`): the draws' weights are then centred, their mean being
    ``v`` for every segment, offer and price (module docstring); at the estimates
    themselves the weights are then below ``v``, so use it for draws only.
    """
    shrink = None
    if covariances is not None:
        shrink = np.stack([
            np.exp(-0.5 * log_weight_variance(design[s], np.asarray(covariances[s], dtype=float), prices,
                                              int(estimates[s].index.get_loc(price))))
            for s in estimates])
    return LinearWeights(v=np.asarray(v), prices=np.asarray(prices, dtype=float), design=design,
                         estimates=dict(estimates), price=price, shrink=shrink)


def _interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    q = np.quantile(values, [lo, 0.5, hi])
    return float(q[0]), float(q[1]), float(q[2])


def parameter_intervals(
    scenario: Scenario,
    decision: Decision,
    models: Mapping[Any, Any],
    weights_of: WeightsOf,
    *,
    n_draws: int = 200,
    level: float = 0.9,
    random_state: int = 0,
    min_base_margin: float = 0.01,
) -> Intervals:
    """Re-evaluate ``decision`` and the status quo under ``n_draws`` parameter draws (module docstring).

    ``weights_of(models) -> v`` (S, O, K) builds the scenario's preference weights from
    models, as the plan did. Draws whose weights the scenario rejects (overflow) are
    left out and counted in the note.
    """
    from bundleopt.optimize import evaluate
    from bundleopt.optimize.evaluation import segment_outcomes, validate_decision
    from bundleopt.plan_parts.headline import percent_base

    if not (isinstance(n_draws, int) and n_draws >= 2):
        raise ValueError(f"n_draws must be an integer >= 2, got {n_draws!r}")
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(random_state)
    drawn, fixed = draw_models(models, n_draws, rng)
    sq = scenario.status_quo()
    both = np.stack([validate_decision(scenario, decision), validate_decision(scenario, sq)])
    rows, rejected, bad_base = [], 0, 0
    v_sum = np.zeros_like(np.asarray(scenario.v, dtype=float))
    for d, ms in enumerate(drawn):
        try:
            sc = replace(scenario, v=weights_of(ms))
        except ValueError:
            rejected += 1
            continue
        v_sum += sc.v
        # evaluate()'s profit and revenue of the plan and the status quo, in one batch
        out = segment_outcomes(sc, both)
        p_profit, q_profit = sc.market_size * out.margin @ sc.weights
        q_revenue = float(sc.market_size * out.revenue[1] @ sc.weights)
        why = percent_base(float(q_profit), q_revenue, min_base_margin)
        bad_base += bool(why)
        gain = float(p_profit - q_profit)
        rows.append({"draw": d, "plan_profit": float(p_profit), "status_quo_profit": float(q_profit),
                     "gain": gain, "uplift": gain / float(q_profit) if not why else np.nan})
    draws = pd.DataFrame(rows, columns=["draw", "plan_profit", "status_quo_profit", "gain", "uplift"])
    point_p, point_q = evaluate(scenario, decision), evaluate(scenario, sq)
    point_why = percent_base(point_q.profit, point_q.revenue, min_base_margin)
    points = {"plan_profit": point_p.profit, "status_quo_profit": point_q.profit,
              "gain": point_p.profit - point_q.profit,
              "uplift": (point_p.profit - point_q.profit) / point_q.profit if not point_why else np.nan}
    table_rows = []
    for name, point in points.items():
        vals = draws[name].to_numpy(dtype=float)
        if name == "uplift" and (bad_base or point_why or not len(vals)):
            lo = med = hi = float("nan")
        else:
            lo, med, hi = _interval(vals, level) if len(vals) else (math.nan,) * 3
        table_rows.append({"quantity": name, "point": point, "low": lo, "median": med, "high": hi})
    centred = bool(getattr(weights_of, "centred", False))
    checks: dict[str, float | bool] = {"at_estimates": float(point_p.profit), "mean_over_draws": math.nan,
                                       "at_mean_weights": math.nan, "centred": centred}
    if len(draws):
        checks["mean_over_draws"] = float(draws["plan_profit"].mean())
        at_mean = replace(scenario, v=v_sum / len(draws))
        checks["at_mean_weights"] = float(evaluate(at_mean, decision).profit)
    notes = [f"{len(draws)} draws of the fitted parameters; {level:.0%} intervals (percentiles)"]
    if centred:
        notes.append("each drawn weight exp(utility) is centred on the estimate's (multiplied by "
                     "exp(-variance/2) of its log), else the draws' mean weight would exceed the estimate's")
    if fixed:
        notes.append(f"held at their estimates (no finite standard error): {', '.join(fixed[:5])}"
                     + (f" and {len(fixed) - 5} more" if len(fixed) > 5 else ""))
    if rejected:
        notes.append(f"{rejected} draw(s) left out (preference weights out of range)")
    if bad_base or point_why:
        notes.append(f"uplift interval n/a: the status quo's profit is negative or near zero in "
                     f"{bad_base} of {len(draws)} draws" + (f" and at the estimates ({point_why})" if point_why else ""))
    return Intervals(draws=draws, table=pd.DataFrame(table_rows), level=level, note="; ".join(notes),
                     checks=checks)


@dataclass(frozen=True)
class RobustPlan:
    """The decision maximising mean profit over parameter draws, against the point plan.

    ``decision``; ``table``: rows ``point_plan`` and ``robust_plan`` with ``profit_at_estimates``
    and ``mean_profit_over_draws`` (the draws it was chosen on); ``gives_up``: point
    plan's profit at the estimates minus the robust plan's; ``exact``: the MILP is
    exact for the stacked problem; ``note``.
    """

    decision: Decision
    table: pd.DataFrame
    gives_up: float
    exact: bool
    note: str


def robust_plan(
    scenario: Scenario,
    point_decision: Decision,
    models: Mapping[Any, Any],
    weights_of: WeightsOf,
    *,
    n_draws: int = 20,
    random_state: int = 1,
    solve: Callable[[Scenario], Any] | None = None,
) -> RobustPlan:
    """Maximise the mean profit over ``n_draws`` draws of the parameters (module docstring)."""
    from bundleopt.optimize import evaluate
    from bundleopt.optimize import solve as default_solve
    from bundleopt.optimize.decompose import coupling_rules

    solve = solve or default_solve
    rng = np.random.default_rng(random_state)
    drawn, _ = draw_models(models, n_draws, rng)
    vs = []
    for ms in drawn:
        try:
            vs.append(np.asarray(replace(scenario, v=weights_of(ms)).v))
        except ValueError:
            continue
    V = np.stack(vs)  # (D, S, O, K)
    D, S = V.shape[0], scenario.n_segments
    coupled = coupling_rules(scenario)
    exact = not (scenario.personalised and coupled)

    def stacked(v: np.ndarray, w: np.ndarray, personalised: bool, market: float) -> Scenario:
        return replace(scenario, v=v, v0=np.ones(len(w)), weights=w, segment_ids=tuple(range(len(w))),
                       personalised=personalised, market_size=market)

    if scenario.personalised:
        levels = np.empty((S, scenario.n_offers), dtype=int)
        for s in range(S):
            sub = stacked(V[:, s], np.full(D, 1.0 / D), False, scenario.market_size * scenario.weights[s])
            if coupled:  # coupling rules are checked on the whole plan below, not here
                sub = sub.with_constraints(**{r: None for r in coupled})
            levels[s] = solve(sub).decision.levels[0]
    else:
        w = (np.repeat(scenario.weights[None, :], D, axis=0) / D).ravel()
        sub = stacked(V.reshape(D * S, *V.shape[2:]), w / w.sum(), False, scenario.market_size)
        levels = solve(sub).decision.levels[:1]
    robust = Decision(levels)

    def mean_profit(decision: Decision) -> float:
        return float(np.mean([evaluate(replace(scenario, v=v), decision).profit for v in V]))

    at_point = {"point_plan": evaluate(scenario, point_decision).profit, "robust_plan": evaluate(scenario, robust).profit}
    table = pd.DataFrame({"plan": ["point_plan", "robust_plan"],
                          "profit_at_estimates": [at_point["point_plan"], at_point["robust_plan"]],
                          "mean_profit_over_draws": [mean_profit(point_decision), mean_profit(robust)],
                          "feasible": [True, evaluate(scenario, robust).feasible]})
    note = f"mean profit over {D} draws of the fitted parameters"
    if not exact:
        note += f"; rules coupling segments ({', '.join(coupled)}) were left out of the per-segment solves"
    return RobustPlan(decision=robust, table=table, gives_up=at_point["point_plan"] - at_point["robust_plan"],
                      exact=exact, note=note)
