"""Quasi-random draws for simulated likelihoods: scrambled Halton or scrambled Sobol.

:func:`uniform_draws` gives ``(n_units, n_draws, dim)`` points in (0, 1): each unit (a
customer in a panel, an observation otherwise) gets its own ``n_draws`` consecutive points
of one low-discrepancy sequence in ``dim`` dimensions, so the draws of different units do
not repeat and each unit's set covers the cube evenly (Train, "Discrete Choice Methods
with Simulation", ch. 9). Scrambling (Owen's for Sobol, random permutations for Halton)
removes the correlation between dimensions that plain Halton has in higher bases.

:func:`standard_draws` maps the uniforms to the standard variate of each mixing
distribution: ``N(0, 1)`` for ``normal`` and the log-normals, the symmetric triangular on
``[-1, 1]`` for ``triangular``. A coefficient is then ``mean + sd * z`` (normal,
triangular), ``exp(mean + sd * z)`` (lognormal) or ``-exp(mean + sd * z)`` (neg_lognormal).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

DISTRIBUTIONS = ("normal", "lognormal", "neg_lognormal", "triangular")
METHODS = ("halton", "sobol")


def uniform_draws(n_units: int, n_draws: int, dim: int, method: str = "halton", seed: int | None = 0) -> np.ndarray:
    """``(n_units, n_draws, dim)`` scrambled quasi-random points strictly inside (0, 1).

    ``method``: ``"halton"`` or ``"sobol"`` (:mod:`scipy.stats.qmc`); ``seed`` fixes the
    scrambling. The first point of each scrambled sequence is kept (scrambling makes it
    non-degenerate). Sobol points are taken from a power-of-two sequence (its balanced
    length), truncated to ``n_units * n_draws``.
    """
    if method not in METHODS:
        raise ValueError(f"draws must be one of {METHODS}, got {method!r}")
    if n_units < 1 or n_draws < 1 or dim < 1:
        raise ValueError(f"need at least one unit, draw and dimension, got {n_units}, {n_draws}, {dim}")
    n = n_units * n_draws
    rng = np.random.default_rng(seed)
    if method == "halton":
        points = qmc.Halton(d=dim, scramble=True, rng=rng).random(n)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            points = qmc.Sobol(d=dim, scramble=True, rng=rng).random_base2(int(np.ceil(np.log2(max(n, 2)))))[:n]
    points = np.clip(points, 1e-12, 1.0 - 1e-12)
    return points.reshape(n_units, n_draws, dim)


def standard_variates(u: np.ndarray, kinds: Sequence[str]) -> np.ndarray:
    """Map uniforms ``u[..., d]`` to the standard variate of ``kinds[d]`` (see module doc).

    Triangular: the inverse CDF of the symmetric triangular density on [-1, 1],
    ``sqrt(2u) - 1`` for ``u < 1/2`` and ``1 - sqrt(2(1 - u))`` above.
    """
    kinds = list(kinds)
    if u.shape[-1] != len(kinds):
        raise ValueError(f"{u.shape[-1]} draw dimensions for {len(kinds)} distributions")
    z = np.empty_like(u)
    for d, kind in enumerate(kinds):
        if kind not in DISTRIBUTIONS:
            raise ValueError(f"unknown mixing distribution {kind!r}; use one of {DISTRIBUTIONS}")
        x = u[..., d]
        if kind == "triangular":
            z[..., d] = np.where(x < 0.5, np.sqrt(2.0 * x) - 1.0, 1.0 - np.sqrt(2.0 * (1.0 - x)))
        else:
            z[..., d] = ndtri(x)
    return z


def standard_draws(
    n_units: int, n_draws: int, kinds: Sequence[str], method: str = "halton", seed: int | None = 0
) -> np.ndarray:
    """``(n_units, n_draws, len(kinds))`` standard variates: :func:`uniform_draws` then
    :func:`standard_variates`."""
    return standard_variates(uniform_draws(n_units, n_draws, len(kinds), method, seed), kinds)
