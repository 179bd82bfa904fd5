"""MNL estimation on long-format data streamed from Parquet (data larger than memory).

The log-likelihood of the MNL is a sum over observations (``formulations/choice_models.md``)::

    LL(theta) = sum_c LL_c(theta),   g = sum_c g_c,   H = sum_c H_c

over any partition of the observations into chunks ``c``. :class:`StreamingMNL` reads a
Parquet file of long-format rows (``obs, alt, chosen, [available], features``) in chunks of
about ``batch_rows`` rows, so only one chunk's design tensor is in memory at a time:

1. *scan*: read the alternative column alone to fix the alternatives (and the parameters);
2. *minibatch phase*: ``epochs`` passes of Adam on the mean negative log-likelihood of each
   chunk, ``-LL_c / N_c``, with step ``lr_t = learning_rate / (1 + t / decay_steps)``: cheap
   progress towards the optimum, one chunk per step;
3. *exact phase*: Newton on the full-batch objective, each iteration one pass accumulating
   the exact ``(LL, g, H)`` chunk by chunk (:func:`full_batch_stats`), with step halving
   until LL does not decrease, until the decrement ``g^T (-H)^{-1} g / N`` is below ``tol``
   (at least one step is always taken). The MNL log-likelihood is concave, so this reaches
   the same maximiser as the in-memory :class:`~bundleopt.choice.MNL` (to ~1e-9 here), and
   the final Hessian gives the same standard errors ``sqrt(diag((-H)^{-1}))``.

Chunks hold whole observations: the rows of one observation must be contiguous in the file
(as :func:`~bundleopt.choice.simulate.to_long` writes them, or sorted by ``obs``); an
observation cut by a row-group or batch boundary is carried over to the next chunk. Each
chunk is validated by :func:`~bundleopt.choice.long_format.pack_long` (clear errors naming
the column) and padded with zero-weight observations to a multiple of :data:`PAD_QUANTUM`
so the jitted likelihood compiles for a handful of shapes only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Hashable, Mapping, Sequence

import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from rich.progress import Progress

from bundleopt.choice.fitting import FitResult, _newton_step, covariance
from bundleopt.choice.likelihood import (
    loglik_and_grad,
)
from bundleopt.choice.mnl import MNL
from bundleopt.choice.parquet_source import (
    ParquetChoiceSource,
    _open,
    full_batch_stats,
    full_pass,
    scan_alternatives,
)
from bundleopt.choice.precision import in_float64


# ----------------------------------------------------------------------------- estimator
class StreamingMNL(MNL):
    """Multinomial logit fitted on a long-format Parquet file, streamed in chunks.

    Same model, parameters and fitted attributes as :class:`~bundleopt.choice.MNL` (so
    ``predict_proba``, ``summary`` and ``preference_weights`` work on it), estimated as in
    the module docstring. Memory holds one chunk (about ``batch_rows`` rows) at a time.

    Args:
        features, asc, reference, features_by_alt: the utility specification (as MNL).
        batch_rows: rows read per chunk (the minibatch size is about ``batch_rows / J``
            observations).
        epochs: passes of Adam over the chunks before the exact Newton phase (0 = none).
        learning_rate, decay_steps: Adam step ``learning_rate / (1 + t / decay_steps)``.
        tol: Newton-decrement tolerance per observation (as MNL).
        max_newton: most full passes of the exact phase.
        progress: show a rich progress bar.

    Extra fitted attributes: ``minibatch_loss_`` (mean negative log-likelihood of each
    Adam step's chunk, before the step), ``n_passes_`` (full passes over the file,
    scan excluded), ``timings_`` (seconds by phase).

    Example:
        >>> import tempfile, os
        >>> from bundleopt.choice.simulate import simulate_mnl
        >>> df, truth = simulate_mnl(n_obs=3000, n_alts=3, n_features=2, seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "choices.parquet")
        >>> df.to_parquet(path, row_group_size=2000)
        >>> m = StreamingMNL(features=["x0", "x1"], batch_rows=2500).fit(path)
        >>> full = MNL(features=["x0", "x1"]).fit(df)
        >>> bool(abs(m.params_ - full.params_).max() < 1e-6)
        True
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        asc: bool = True,
        reference: Hashable | None = None,
        features_by_alt: Mapping[Hashable, Sequence[str]] | None = None,
        batch_rows: int = 1_000_000,
        epochs: int = 1,
        learning_rate: float = 0.05,
        decay_steps: float = 50.0,
        tol: float = 1e-12,
        max_newton: int = 25,
        progress: bool = False,
    ) -> None:
        super().__init__(features=features, asc=asc, reference=reference, features_by_alt=features_by_alt, tol=tol)
        self.batch_rows = batch_rows
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.decay_steps = decay_steps
        self.max_newton = max_newton
        self.progress = progress

    def _check_options(self) -> None:
        if int(self.batch_rows) != self.batch_rows or self.batch_rows < 1:
            raise ValueError(f"batch_rows must be a positive integer, got {self.batch_rows!r}")
        if int(self.epochs) != self.epochs or self.epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {self.epochs!r}")
        if not (np.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if not (np.isfinite(self.decay_steps) and self.decay_steps > 0):
            raise ValueError(f"decay_steps must be > 0, got {self.decay_steps!r}")

    def source(
        self, path: str | os.PathLike, obs: str = "obs", alt: str = "alt", choice: str = "chosen",
        avail: str | None = None,
    ) -> ParquetChoiceSource:
        """The chunked reader of ``path`` for this specification (scans the alternatives)."""
        self._check_options()
        spec = self._spec()
        schema = _open(path).schema_arrow.names
        missing = [f"{role}={name!r}" for role, name in
                   (("obs", obs), ("alt", alt), ("choice", choice), ("avail", avail)) if name and name not in schema]
        missing += [f"features={f!r}" for f in spec.used_columns() if f not in schema]
        if missing:
            raise ValueError(f"unknown column(s): {', '.join(missing)}; the file has columns {schema}")
        alt_ids = scan_alternatives(path, alt, int(self.batch_rows))
        spec.reference_alt(alt_ids)
        return ParquetChoiceSource(
            path=os.fspath(path), obs=obs, alt=alt, choice=choice, avail=avail,
            design=tuple(spec.design_columns(alt_ids)), alt_ids=alt_ids, A=spec.asc_matrix(alt_ids),
            batch_rows=int(self.batch_rows),
        )

    @in_float64
    def fit(  # type: ignore[override]
        self,
        path: str | os.PathLike,
        obs: str = "obs",
        alt: str = "alt",
        choice: str = "chosen",
        avail: str | None = None,
        theta0: np.ndarray | None = None,
    ) -> StreamingMNL:
        """Estimate from the Parquet file at ``path``; returns ``self``.

        ``theta0`` (optional) starts the optimisation (in the order of ``param_names``).
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        src = self.source(path, obs=obs, alt=alt, choice=choice, avail=avail)
        spec = self._spec()
        names = spec.param_names(src.alt_ids)
        timings["scan"] = time.perf_counter() - t0
        p = len(names)
        theta = np.zeros(p) if theta0 is None else np.asarray(theta0, dtype=np.float64).reshape(-1)
        if theta.shape != (p,):
            raise ValueError(f"theta0 must have {p} values ({names}), got shape {theta.shape}")
        self._columns = {"obs": obs, "alt": alt, "choice": choice, "avail": avail}

        with Progress(disable=not self.progress, transient=True) as bar:
            t0 = time.perf_counter()
            theta, losses = self._minibatch_phase(src, theta, bar)
            timings["minibatch"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            res, n_obs, log_avail, passes = self._newton_phase(src, theta, bar)
            timings["exact"] = time.perf_counter() - t0
        res.timings = timings
        self._store_stream(res, names, src, n_obs, log_avail, spec)
        self.minibatch_loss_ = np.asarray(losses)
        self.n_passes_ = self.epochs + passes
        self.timings_ = timings
        return self

    def _minibatch_phase(self, src: ParquetChoiceSource, theta: np.ndarray, bar: Progress):
        """Adam over chunks; returns the final theta and each step's chunk loss."""
        losses: list[float] = []
        if self.epochs == 0:
            return theta, losses
        lr0, decay = float(self.learning_rate), float(self.decay_steps)
        opt = optax.adam(lambda t: lr0 / (1.0 + t / decay))
        params = jnp.asarray(theta)
        state = opt.init(params)
        task = bar.add_task("minibatch (Adam)", total=None)
        for epoch in range(int(self.epochs)):
            for ch in src.chunks():
                ll, g = full_pass(loglik_and_grad, params, ch.data)
                losses.append(-float(ll) / ch.n_obs)
                updates, state = opt.update(-g / ch.n_obs, state, params)
                params = optax.apply_updates(params, updates)
                bar.update(task, advance=1, description=f"minibatch (Adam) epoch {epoch + 1}: loss {losses[-1]:.5f}")
        bar.remove_task(task)
        theta = np.asarray(params)
        if not np.all(np.isfinite(theta)):
            raise ValueError("the minibatch phase diverged (non-finite parameters): lower learning_rate")
        return theta, losses

    def _newton_phase(self, src: ParquetChoiceSource, theta: np.ndarray, bar: Progress):
        """Newton with step halving, one exact full pass per trial point."""
        task = bar.add_task("exact full-batch Newton", total=None)
        ll, g, H, n_obs, log_avail = full_batch_stats(theta, src.chunks())
        passes = 1
        converged = False
        n_newton = 0
        for it in range(int(self.max_newton)):
            step, dec = _newton_step(g, H)
            if not np.isfinite(dec):
                break
            if dec / max(n_obs, 1) < self.tol and it >= 1:
                converged = True
                break
            t = 1.0
            accepted = False
            for _ in range(30):  # step halving
                cand = theta + t * step
                ll_c, g_c, H_c, _, _ = full_batch_stats(cand, src.chunks())
                passes += 1
                bar.update(task, advance=1, description=f"exact full-batch Newton: LL {ll_c:.6f}")
                if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * abs(ll):
                    accepted = True
                    break
                t /= 2
            if not accepted:
                break
            theta, ll, g, H = cand, ll_c, g_c, H_c
            n_newton += 1
        if not converged:
            _, dec = _newton_step(g, H)
            converged = bool(np.isfinite(dec) and dec / max(n_obs, 1) < max(self.tol, 1e-9))
        bar.remove_task(task)
        res = FitResult(theta=theta, loglik=float(ll), grad=g, hessian=H, converged=converged,
                        n_iter=0, n_newton=n_newton, n_eval=passes, message="streaming")
        return res, n_obs, log_avail, passes

    def _store_stream(self, res: FitResult, names: list[str], src: ParquetChoiceSource, n_obs: int,
                      log_avail: float, spec) -> None:
        cov = covariance(res.hessian)
        diag = np.diag(cov)
        self.spec_ = spec
        self.alternatives_ = src.alt_ids
        self.reference_ = spec.reference_alt(src.alt_ids)
        self.params_ = pd.Series(res.theta, index=names, name="estimate")
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        self.std_errors_ = pd.Series(np.sqrt(np.clip(diag, 0, None)), index=names, name="std_error")
        self.std_errors_[~np.isfinite(diag) | (diag < 0)] = np.nan
        self.loglik_ = res.loglik
        self.null_loglik_ = -log_avail
        self.rho2_ = 1.0 - self.loglik_ / self.null_loglik_ if self.null_loglik_ != 0 else np.nan
        self.n_obs_ = n_obs
        self.converged_ = res.converged
        self.n_iter_ = res.n_newton
        self.fit_result_ = res
