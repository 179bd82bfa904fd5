"""Checks of single argument values shared by the public API (Scenario, Constraints,
solve's options): a user's mistake ends in one ValueError that names the argument and
says what it must be, never in a numpy TypeError or in a value read another way
(``"no"`` taken as True, ``True`` taken as 1, ``"10"`` as a number).
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def number(name: str, value: object, *, integer: bool = False) -> float:
    """``value`` as a finite float (an int when ``integer``), or a ValueError naming ``name``.

    Accepted: Python and numpy ints and floats (a 0-d numpy array too). Refused: bools
    (``True`` is not 1 second or 1 thread), strings, None, NaN, ±inf, and, when
    ``integer``, a number with a fractional part.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        kind = "a whole number" if integer else "a number"
        raise ValueError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if integer:
        if x != int(x):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        return int(x)
    return x


def flag(name: str, value: object) -> bool:
    """``value`` as a bool: only ``True``/``False`` (numpy's too); ``"no"`` or 1 are refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
