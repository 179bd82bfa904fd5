"""Double precision (float64) for the choice models' JAX work, scoped to it, not to the process.

The fits drive a Newton decrement to ``1e-12`` per unit weight and invert Hessians for
standard errors; in float32 (JAX's default, about 7 digits) neither is possible. So every
fit and prediction runs inside :func:`float64`, and importing :mod:`bundleopt.choice`
leaves the rest of the process (a user's own JAX code) in its own precision.

JAX keeps the switch per thread: work handed to another thread needs its own scope
(``pool.submit(in_float64(fn), ...)``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def float64() -> AbstractContextManager[Any]:
    """A context in which JAX creates and computes float64 arrays (``jax.enable_x64(True)``;
    ``jax.experimental.enable_x64()`` on JAX releases before ``jax.enable_x64``)."""
    import jax

    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # pragma: no cover - older JAX
        from jax.experimental import enable_x64

        return enable_x64(True)
    return enable(True)


def in_float64(fn: F) -> F:
    """``fn`` run inside :func:`float64` (for functions returning values, not generators)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with float64():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
