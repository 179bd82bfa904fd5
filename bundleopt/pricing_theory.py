"""Closed-form optimal MNL prices: references a solved price ladder must approach.

Market: one segment, products ``j = 1..n`` all offered, costs ``c_j``, continuous
prices ``p_j``, preference weights ``v_j = exp(a_j - beta_j p_j)`` and no-purchase
weight ``v_0 = 1``. Purchase probabilities ``q_j = v_j / (1 + sum_i v_i)``; expected
profit per customer ``pi(p) = sum_j (p_j - c_j) q_j``.

First-order conditions (``dq_j/dp_i = -beta_i q_i (delta_ij - q_j)``):

    d pi / d p_i = q_i * (1 - beta_i (p_i - c_i) + beta_i pi) = 0
    =>  p_i - c_i = 1 / beta_i + pi                                   (*)

* Equal sensitivity ``beta_j = beta``: every markup equals
  ``m* = (1 + W(z)) / beta`` with ``z = sum_j exp(a_j - beta c_j - 1)`` and ``W`` the
  principal (real) branch of Lambert W; the optimal profit is ``pi* = W(z) / beta``
  (Hanson & Martin 1996; Li & Huh 2011).
* Product-specific ``beta_j``: ``p_j = c_j + 1/beta_j + theta`` with ``theta = pi*`` the
  unique root of ``theta = sum_j exp(a_j - beta_j c_j - 1 - beta_j theta) / beta_j``.

The derivations are in formulations/closed_forms.md; tests/test_pricing_theory.py
checks them numerically and against brute force on fine ladders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import lambertw

from bundleopt.scenario import Scenario


@dataclass(frozen=True)
class PriceOptimum:
    """Optimal continuous MNL prices: ``prices`` (n,), ``markups = prices - costs``
    and the expected ``profit`` per customer (``theta`` in the fixed point)."""

    prices: np.ndarray
    markups: np.ndarray
    profit: float


def equal_sensitivity_optimum(a: Sequence[float], beta: float, costs: Sequence[float]) -> PriceOptimum:
    """Constant-markup optimum for a common price sensitivity ``beta > 0``.

    ``m* = (1 + W(z)) / beta``, ``z = sum_j exp(a_j - beta c_j - 1)``,
    ``pi* = W(z) / beta``.

    >>> opt = equal_sensitivity_optimum([0.0], 1.0, [0.0])   # z = 1/e, W(1/e) ~ 0.2785
    >>> round(opt.profit, 4), round(float(opt.markups[0]), 4)
    (0.2785, 1.2785)
    """
    a_arr, c_arr = _vectors(a, costs)
    if not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be finite and > 0, got {beta!r}")
    z = np.exp(a_arr - beta * c_arr - 1.0).sum()
    if not np.isfinite(z):
        raise ValueError("sum_j exp(a_j - beta c_j - 1) overflows; rescale the utilities a")
    w = float(lambertw(z, 0).real)
    markup = (1.0 + w) / beta
    return PriceOptimum(prices=c_arr + markup, markups=np.full(len(a_arr), markup), profit=w / beta)


def product_sensitivity_optimum(
    a: Sequence[float], beta: Sequence[float] | float, costs: Sequence[float]
) -> PriceOptimum:
    """Optimum for product-specific sensitivities: ``p_j = c_j + 1/beta_j + theta``.

    ``theta`` is the root of ``f(theta) = theta - sum_j exp(a_j - beta_j c_j - 1 -
    beta_j theta) / beta_j``; ``f`` is increasing, ``f(0) < 0`` and ``f(U) >= 0`` at
    ``U = sum_j exp(a_j - beta_j c_j - 1) / beta_j``, so ``brentq`` on ``[0, U]`` finds it.
    """
    a_arr, c_arr = _vectors(a, costs)
    b_arr = np.broadcast_to(np.asarray(beta, dtype=float), a_arr.shape).copy()
    if not (np.isfinite(b_arr).all() and (b_arr > 0).all()):
        raise ValueError(f"beta must be finite and > 0, got {b_arr}")
    base = np.exp(a_arr - b_arr * c_arr - 1.0) / b_arr
    upper = float(base.sum())
    if not np.isfinite(upper):
        raise ValueError("sum_j exp(a_j - beta_j c_j - 1) / beta_j overflows; rescale the utilities a")

    def gap(theta: float) -> float:
        return theta - float((base * np.exp(-b_arr * theta)).sum())

    theta = brentq(gap, 0.0, upper, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    markups = 1.0 / b_arr + theta
    return PriceOptimum(prices=c_arr + markups, markups=markups, profit=float(theta))


def mnl_profit(prices: Sequence[float], a: Sequence[float], beta: Sequence[float] | float,
               costs: Sequence[float]) -> float:
    """Expected profit per customer ``sum_j (p_j - c_j) v_j / (1 + sum_i v_i)``."""
    p, a_arr, b_arr, c_arr = _market(prices, a, beta, costs)
    v = np.exp(a_arr - b_arr * p)
    return float(((p - c_arr) * v).sum() / (1.0 + v.sum()))


def mnl_profit_gradient(prices: Sequence[float], a: Sequence[float], beta: Sequence[float] | float,
                        costs: Sequence[float]) -> np.ndarray:
    """``d pi / d p_i = q_i (1 - beta_i (p_i - c_i) + beta_i pi)``."""
    p, a_arr, b_arr, c_arr = _market(prices, a, beta, costs)
    v = np.exp(a_arr - b_arr * p)
    q = v / (1.0 + v.sum())
    pi = ((p - c_arr) * q).sum()
    return q * (1.0 - b_arr * (p - c_arr) + b_arr * pi)


def markup_ladder(costs: Sequence[float], markups: Sequence[float]) -> np.ndarray:
    """(n, K) price ladder ``c_j + markups[k]``."""
    c_arr = np.asarray(costs, dtype=float).reshape(-1, 1)
    return c_arr + np.asarray(markups, dtype=float).reshape(1, -1)


def ladder_scenario(
    a: Sequence[float],
    beta: Sequence[float] | float,
    costs: Sequence[float],
    grid: np.ndarray | Sequence[float],
    **kwargs: Any,
) -> Scenario:
    """The discretised market as a one-segment :class:`Scenario`.

    ``grid`` is a (K,) ladder shared by every product or an (n, K) ladder per product
    (see :func:`markup_ladder`); ``v[0, j, k] = exp(a_j - beta_j grid[j, k])``,
    ``v0 = 1``. Extra keyword arguments go to :meth:`Scenario.from_arrays` (e.g.
    ``constraints``). Solving it approaches :func:`product_sensitivity_optimum` as the
    ladder gets finer.
    """
    a_arr, c_arr = _vectors(a, costs)
    b_arr = np.broadcast_to(np.asarray(beta, dtype=float), a_arr.shape)
    prices = np.asarray(grid, dtype=float)
    if prices.ndim == 1:
        prices = np.tile(prices, (len(a_arr), 1))
    if prices.ndim != 2 or prices.shape[0] != len(a_arr):
        raise ValueError(f"grid must have shape (K,) or ({len(a_arr)}, K), got {np.shape(grid)}")
    if not (np.isfinite(prices).all() and (prices > 0).all()):
        raise ValueError("grid prices must be finite and > 0")
    if not (np.isfinite(b_arr).all() and (b_arr > 0).all()):
        raise ValueError(f"beta must be finite and > 0, got {b_arr}")
    v = np.exp(a_arr[:, None] - b_arr[:, None] * prices)[None]
    return Scenario.from_arrays(v, [1.0], prices, c_arr, [1.0], **kwargs)


def _vectors(a: Sequence[float], costs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    a_arr = np.asarray(a, dtype=float).reshape(-1)
    c_arr = np.asarray(costs, dtype=float).reshape(-1)
    if a_arr.size == 0 or a_arr.shape != c_arr.shape:
        raise ValueError(f"a and costs must be non-empty and of equal length, got {a_arr.size} and {c_arr.size}")
    if not (np.isfinite(a_arr).all() and np.isfinite(c_arr).all()):
        raise ValueError("a and costs must be finite")
    return a_arr, c_arr


def _market(prices, a, beta, costs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    a_arr, c_arr = _vectors(a, costs)
    p = np.asarray(prices, dtype=float).reshape(-1)
    if p.shape != a_arr.shape:
        raise ValueError(f"prices must have {a_arr.size} entries, got {p.size}")
    b_arr = np.broadcast_to(np.asarray(beta, dtype=float), a_arr.shape)
    return p, a_arr, b_arr, c_arr
