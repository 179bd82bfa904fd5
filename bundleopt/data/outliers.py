"""Price outliers: one wrong value must not distort a plan in silence.

A product's **reference price** is the median of its list price and every unit
price paid for it (its list price when it sold only once: the median of two values
is their mean). A median ignores a minority of wrong values, so one line at
999,999 among prices near 5, or a list price of 1e300 on a product sold several
times, does not move it. A price is an outlier when it is more than ``factor``
times its reference or less than the reference divided by ``factor`` (default 10:
far beyond any promotion, which is rarely past 70% off, or any price change within
a data window). The list price is checked with the same rule against the median
price paid (once the outlier lines are gone).

**Quantities.** A line's quantity is an outlier when it is more than ``quantity_factor``
(default 1000) times the median quantity of its product's lines, or above
``max_quantity`` (default 1e6 units on one line). The factor is far wider than for
prices because quantities are skewed: a bulk buyer taking 200 of a product most
people buy 1 or 2 of is real data and passes; 1e9 units among lines of 1 to 5 is a
typing or export error (a barcode in the quantity column) that would make every
stock limit bind. The ceiling catches the products whose every line is absurd
(1e300 on each: their median is absurd too).

Functions return masks and references; :mod:`bundleopt.data.validation` decides
whether they are fatal or dropped, and reports them by product and line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_factor", "check_max_quantity", "describe", "line_outliers", "list_price_outliers",
           "quantity_outliers"]


def check_factor(factor: float | None) -> None:
    """``factor`` must be None (no check) or a finite number above 1."""
    if factor is not None and not (isinstance(factor, int | float) and np.isfinite(factor)
                                   and factor > 1):
        raise ValueError(f"outlier_factor must be a number > 1 or None (no check), got {factor!r}")


def line_outliers(
    product: pd.Series, price: pd.Series, list_price: pd.Series | None, factor: float
) -> tuple[pd.Series, pd.Series]:
    """(mask of outlier lines, reference price of each line's product).

    ``list_price`` is indexed by product id (None: the reference is the median paid).
    """
    parts = [pd.DataFrame({"product_id": product.to_numpy(), "p": price.to_numpy(dtype=float)})]
    if list_price is not None:
        parts.append(pd.DataFrame({"product_id": list_price.index.to_numpy(),
                                   "p": list_price.to_numpy(dtype=float)}))
    groups = pd.concat(parts, ignore_index=True).groupby("product_id")["p"]
    median, size = groups.median(), groups.size()
    if list_price is not None:  # two values: their median is their mean, so trust the list price
        few = size.index[size < 3].intersection(list_price.index)
        median[few] = list_price[few]
    ref = product.map(median).astype(float)
    with np.errstate(over="ignore", invalid="ignore"):
        mask = (price > factor * ref) | (price < ref / factor)
    return mask.fillna(False).astype(bool), ref


def list_price_outliers(
    list_price: pd.Series, product: pd.Series, price: pd.Series, factor: float
) -> tuple[pd.Series, pd.Series]:
    """(mask of outlier list prices, median price paid), both indexed like ``list_price`` (by product)."""
    paid = price.groupby(product.to_numpy()).median().reindex(list_price.index).astype(float)
    with np.errstate(over="ignore", invalid="ignore"):
        mask = (list_price > factor * paid) | (list_price < paid / factor)
    return mask.fillna(False).astype(bool), paid


def check_max_quantity(quantity_factor: float | None, max_quantity: float | None) -> None:
    """``quantity_factor`` None or a finite number > 1; ``max_quantity`` None or a finite number > 0."""
    if quantity_factor is not None and not (isinstance(quantity_factor, int | float)
                                            and not isinstance(quantity_factor, bool)
                                            and np.isfinite(quantity_factor) and quantity_factor > 1):
        raise ValueError(f"quantity_factor must be a number > 1 or None (no check), got {quantity_factor!r}")
    if max_quantity is not None and not (isinstance(max_quantity, int | float) and not isinstance(max_quantity, bool)
                                         and np.isfinite(max_quantity) and max_quantity > 0):
        raise ValueError(f"max_quantity must be a number > 0 or None (no ceiling), got {max_quantity!r}")


def quantity_outliers(
    product: pd.Series, quantity: pd.Series, factor: float | None, max_quantity: float | None
) -> tuple[pd.Series, pd.Series]:
    """(mask of outlier lines, median quantity of each line's product) (module docstring)."""
    q = quantity.astype(float)
    ref = q.groupby(product.to_numpy()).transform("median")
    mask = pd.Series(False, index=q.index)
    with np.errstate(over="ignore", invalid="ignore"):
        if factor is not None:
            mask |= q > factor * ref
        if max_quantity is not None:
            mask |= q > max_quantity
    return mask.fillna(False).astype(bool), ref


def describe(product: object, column: str, value: float, ref: float, what: str, why: str = "") -> str:
    """One line: ``product 'P1': unit_price 999999 is 2e+05 x its reference price 5 (why)``."""
    ratio = value / ref if ref > 0 else float("inf")
    how = f"{ratio:.3g} x" if ratio >= 1 else f"1/{1 / ratio:.3g} of"
    return f"product {product!r}: {column} {value:.6g} is {how} {what} {ref:.6g}" + (f" ({why})" if why else "")
