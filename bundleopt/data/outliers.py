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

Functions return masks and references; :mod:`bundleopt.data.validation` decides
whether they are fatal or dropped, and reports them by product and line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_factor", "describe", "line_outliers", "list_price_outliers"]


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


def describe(product: object, column: str, value: float, ref: float, what: str, why: str = "") -> str:
    """One line: ``product 'P1': unit_price 999999 is 2e+05 x its reference price 5 (why)``."""
    ratio = value / ref if ref > 0 else float("inf")
    how = f"{ratio:.3g} x" if ratio >= 1 else f"1/{1 / ratio:.3g} of"
    return f"product {product!r}: {column} {value:.6g} is {how} {what} {ref:.6g}" + (f" ({why})" if why else "")
