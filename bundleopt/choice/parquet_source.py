"""Choice data streamed from a Parquet file in chunks of whole observations, for
:class:`bundleopt.choice.streaming.StreamingMNL`: the alternatives scanned once, each
chunk packed (in a worker thread, in float64) and padded to a few shapes so JAX compiles
the kernels once, and the exact full-data likelihood, gradient and Hessian accumulated
chunk by chunk."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bundleopt.choice.likelihood import (
    MNLData,
    block_size,
    loglik_grad_hess,
)
from bundleopt.choice.long_format import ChoiceArrays, DesignColumn, pack_long
from bundleopt.choice.precision import in_float64

__all__ = ["Chunk", "ParquetChoiceSource", "full_batch_stats", "full_pass", "iter_observation_chunks",
           "iter_observation_tables", "padded_size", "scan_alternatives"]


#: chunks are padded (with zero-weight observations) to a multiple of this many observations
PAD_QUANTUM = 1024


def full_pass(kernel, theta: jax.Array, data: MNLData):
    """``kernel(theta, data, size)`` over every block of ``data`` (``size`` from :func:`block_size`).

    ``kernel`` is :func:`~bundleopt.choice.likelihood.loglik_and_grad` or
    :func:`~bundleopt.choice.likelihood.loglik_grad_hess`; works whether or not the kernel
    takes the number of blocks to visit as a fourth argument.
    """
    n, J, K = data.X.shape
    size = block_size(n, J, max(K, 1))
    if _takes_blocks(kernel):
        return kernel(theta, data, size, -(-n // size))
    return kernel(theta, data, size)


def _takes_blocks(kernel) -> bool:
    try:
        return "blocks" in inspect.signature(kernel).parameters
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------- reading
def _open(path: str | os.PathLike) -> pq.ParquetFile:
    if not os.path.exists(path):
        raise ValueError(f"no such Parquet file: {os.fspath(path)!r}")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"cannot read {os.fspath(path)!r} as Parquet: {exc}") from exc


def scan_alternatives(path: str | os.PathLike, alt: str, batch_rows: int = 1_000_000) -> pd.Index:
    """The sorted distinct alternative ids of column ``alt``, reading that column only."""
    pf = _open(path)
    if alt not in pf.schema_arrow.names:
        raise ValueError(f"unknown column alt={alt!r}; the file has columns {pf.schema_arrow.names}")
    seen: set = set()
    for batch in pf.iter_batches(batch_size=batch_rows, columns=[alt]):
        col = batch.column(0)
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        if col.null_count:
            raise ValueError(f"id column {alt!r} has missing values")
        seen.update(pc.unique(col).to_pylist())
    if not seen:
        raise ValueError(f"the choice file {os.fspath(path)!r} is empty")
    return pd.Index(sorted(seen))


def iter_observation_tables(
    path: str | os.PathLike,
    columns: Sequence[str],
    obs: str,
    batch_rows: int = 1_000_000,
) -> Iterator[pa.Table]:
    """Arrow tables of about ``batch_rows`` rows that never split an observation.

    The rows of the last observation of a batch (its trailing run of equal ``obs`` ids)
    are held back and prepended to the next batch.
    """
    pf = _open(path)
    missing = [c for c in columns if c not in pf.schema_arrow.names]
    if missing:
        raise ValueError(f"unknown column(s) {missing}; the file has columns {pf.schema_arrow.names}")
    carry: pa.Table | None = None
    for batch in pf.iter_batches(batch_size=int(batch_rows), columns=list(dict.fromkeys(columns))):
        table = pa.Table.from_batches([batch])
        if carry is not None:
            table = pa.concat_tables([carry, table])
        if table.num_rows == 0:
            continue
        ids = table.column(obs).to_numpy()
        last = ids[-1]
        tail = len(ids)
        while tail > 0 and ids[tail - 1] == last:
            tail -= 1
        carry = table.slice(tail)
        if tail:
            yield table.slice(0, tail)
    if carry is not None and carry.num_rows:
        yield carry


def iter_observation_chunks(
    path: str | os.PathLike,
    columns: Sequence[str],
    obs: str,
    batch_rows: int = 1_000_000,
) -> Iterator[pd.DataFrame]:
    """Frames of about ``batch_rows`` rows holding whole observations (contiguous rows).

    The rows of the last observation of a batch are held back and prepended to the next
    batch, so an observation cut by a batch boundary is never split. Raises ``ValueError``
    when an observation's rows are not contiguous within a chunk.
    """
    for table in iter_observation_tables(path, columns, obs, batch_rows):
        df = table.to_pandas()
        _check_contiguous(df, obs)
        yield df


def _check_contiguous(df: pd.DataFrame, obs: str) -> None:
    codes, uniques = pd.factorize(df[obs], sort=False)
    runs = 1 + int(np.count_nonzero(codes[1:] != codes[:-1])) if len(codes) else 0
    if runs != len(uniques):
        raise ValueError(
            f"the rows of each observation ({obs!r}) must be contiguous in the file to stream it; "
            f"found {runs} runs of {len(uniques)} observations in one chunk: sort the file by {obs!r}"
        )


# ----------------------------------------------------------------------------- packing
def padded_size(n_obs: int, quantum: int = PAD_QUANTUM) -> int:
    """``n_obs`` rounded up to a multiple of ``quantum`` (the compiled chunk shape)."""
    return int(-(-max(n_obs, 1) // quantum) * quantum)


def pad_arrays(arrays: ChoiceArrays, A: np.ndarray, n_pad: int, weight: np.ndarray | None = None) -> MNLData:
    """:class:`MNLData` of ``arrays`` padded to ``n_pad`` observations of weight 0.

    Padding observations have every alternative available and zero features, so their
    log-likelihood is finite (``-log J``) and multiplied by their weight 0.
    """
    n, J, K = arrays.X.shape
    if n_pad < n:
        raise ValueError(f"n_pad={n_pad} is smaller than the {n} observations")
    X = np.zeros((n_pad, J, K))
    X[:n] = arrays.X
    avail = np.ones((n_pad, J), dtype=bool)
    avail[:n] = arrays.avail
    choice = np.zeros(n_pad, dtype=np.int32)
    choice[:n] = np.maximum(arrays.choice, 0)
    w = np.zeros(n_pad)
    w[:n] = 1.0 if weight is None else weight
    return MNLData(
        X=jnp.asarray(X),
        choice=jnp.asarray(choice),
        avail=jnp.asarray(avail),
        weight=jnp.asarray(w),
        A=jnp.asarray(A, dtype=jnp.float64),
    )


@dataclass(frozen=True)
class Chunk:
    """One packed chunk: padded data, its real observation count and ``sum_n log |avail_n|``."""

    data: MNLData
    n_obs: int
    log_n_avail: float


@dataclass(frozen=True)
class ParquetChoiceSource:
    """A long-format Parquet file read chunk by chunk, packed against fixed alternatives."""

    path: str
    obs: str
    alt: str
    choice: str
    avail: str | None
    design: tuple[DesignColumn, ...]
    alt_ids: pd.Index
    A: np.ndarray
    batch_rows: int

    def _tables(self) -> Iterator[pa.Table]:
        cols = [self.obs, self.alt, self.choice, *([self.avail] if self.avail else []),
                *dict.fromkeys(c.source for c in self.design)]
        return iter_observation_tables(self.path, cols, self.obs, self.batch_rows)

    def _pack(self, table: pa.Table) -> Chunk:
        arrays = self._pack_balanced(table)
        if arrays is None:  # general path: full validation and its error messages
            df = table.to_pandas()
            _check_contiguous(df, self.obs)
            arrays = pack_long(df, obs=self.obs, alt=self.alt, columns=list(self.design), choice=self.choice,
                               avail=self.avail, alt_ids=self.alt_ids)
        # one compiled shape for all full chunks (and the last one when it is at least half full)
        nominal = padded_size(-(-self.batch_rows // len(self.alt_ids)))
        n_pad = padded_size(arrays.n_obs)
        if 2 * arrays.n_obs >= nominal:
            n_pad = max(n_pad, nominal)
        data = pad_arrays(arrays, self.A, n_pad)
        return Chunk(data, arrays.n_obs, float(np.log(arrays.avail.sum(axis=1)).sum()))

    def _pack_balanced(self, table: pa.Table) -> ChoiceArrays | None:
        """Fast path without pandas for the common layout: every observation has one row per
        alternative, in ``alt_ids`` order, numeric ``obs`` ids strictly increasing, no
        availability column, 0/1 choices with one chosen, finite features. Returns ``None``
        (use :func:`pack_long`) when any of this does not hold."""
        J = len(self.alt_ids)
        rows = table.num_rows
        if self.avail is not None or rows % J or J < 2:
            return None
        cols = {}
        for name in dict.fromkeys([self.obs, self.alt, self.choice, *(c.source for c in self.design)]):
            col = table.column(name)
            if col.null_count or not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                                      or pa.types.is_boolean(col.type)):
                return None
            cols[name] = col.to_numpy()
        n = rows // J
        ids = cols[self.obs].reshape(n, J)
        if np.any(ids != ids[:, :1]) or (n > 1 and np.any(np.diff(ids[:, 0]) <= 0)):
            return None
        try:
            alt_ref = np.asarray(self.alt_ids, dtype=cols[self.alt].dtype)
        except (TypeError, ValueError):
            return None
        if np.any(cols[self.alt].reshape(n, J) != alt_ref[None, :]):
            return None
        chosen = cols[self.choice].reshape(n, J)
        if not np.all((chosen == 0) | (chosen == 1)) or np.any(chosen.sum(axis=1) != 1):
            return None
        X = np.empty((n, J, len(self.design)))
        for k, col in enumerate(self.design):
            vals = cols[col.source].reshape(n, J).astype(np.float64, copy=False)
            if col.alt_code is not None:
                vals = np.where(np.arange(J)[None, :] == col.alt_code, vals, 0.0)
            if not np.all(np.isfinite(vals)):
                return None
            X[:, :, k] = vals
        return ChoiceArrays(
            X=X, choice=np.argmax(chosen, axis=1).astype(np.int32), avail=np.ones((n, J), dtype=bool),
            obs_ids=pd.Index(ids[:, 0]), alt_ids=self.alt_ids,
            row_obs=np.repeat(np.arange(n), J), row_alt=np.tile(np.arange(J), n),
        )

    def chunks(self) -> Iterator[Chunk]:
        """Packed chunks, reading and packing the next one in a thread while this one is used."""
        frames = self._tables()
        pack = in_float64(self._pack)  # JAX's float64 switch is per thread
        with ThreadPoolExecutor(1) as pool:
            nxt = next(frames, None)
            fut = pool.submit(pack, nxt) if nxt is not None else None
            while fut is not None:
                chunk = fut.result()
                nxt = next(frames, None)
                fut = pool.submit(pack, nxt) if nxt is not None else None
                yield chunk


def full_batch_stats(
    theta: np.ndarray, chunks: Iterator[Chunk]
) -> tuple[float, np.ndarray, np.ndarray, int, float]:
    """Exact ``(LL, g, H, N, sum_n log|avail_n|)`` of the whole file, accumulated chunk by chunk."""
    th = jnp.asarray(theta)
    ll, g, H = 0.0, np.zeros_like(theta), np.zeros((theta.size, theta.size))
    n, log_avail = 0, 0.0
    for ch in chunks:
        cl, cg, cH = full_pass(loglik_grad_hess, th, ch.data)
        ll += float(cl)
        g += np.asarray(cg)
        H += np.asarray(cH)
        n += ch.n_obs
        log_avail += ch.log_n_avail
    return ll, g, H, n, log_avail
