"""Validation and cleaning of catalogs, transactions and sessions, with a report.

Nothing is dropped silently: every removed row is counted in a
:class:`CleaningReport` with the reason, the column and a sample, and the
removed rows themselves are kept in ``report.rejected``.

Policy (``errors`` argument):

===========================  ==========================  ===========================
problem                      ``errors="raise"`` (default) ``errors="drop"``
===========================  ==========================  ===========================
missing required column      fatal                        fatal
same column name twice       fatal                        fatal
not a DataFrame / no rows    fatal                        fatal
catalog: conflicting         fatal                        fatal
duplicate product ids
dates in mixed or ambiguous  fatal (say ``date_format=``  fatal
formats, epoch numbers of    or ``dayfirst=``)
no plausible unit
exact duplicate lines        dropped and reported         dropped and reported
order id of more than one    fatal                        rows rejected, reported;
customer or spanning more                                 fatal when they are more
than a day (ids restarting)                               than half of the lines
missing (NaN / empty) id     fatal                        rows rejected, reported
timestamp missing or         fatal                        rows rejected, reported
unparseable, or outside
``date_range`` (1990 to
tomorrow by default)
infinite number (overflow)   fatal                        rows rejected, reported
price <= 0 or not a number   fatal                        rows rejected, reported
quantity <= 0 / not number   fatal                        rows rejected, reported
catalog: cost < 0, missing   fatal                        product rejected, reported;
or not a number                                           its lines reported as
                                                          ``bad_catalog_row`` naming
                                                          the product, column, value
catalog: stock < 0, not a    fatal                        the cell cleared (no
number or infinite                                        limit), reported; the
(missing stock = no limit)                                product and its lines kept
unknown product id           fatal                        rows rejected, reported
price outlier: a line's      fatal                        the line rejected, reported
unit price above ``f`` times                              by product
or below ``1/f`` of its
product's reference price
list price outlier (same     fatal                        product and its lines
rule against the median                                   rejected, reported
price paid)
cost above every price       fatal                        product and its lines
(``unit_cost >= list_price``                              rejected, reported
and ``>=`` every price paid)
quantity outlier: above      fatal                        the line rejected, reported
``quantity_factor`` (1000)                                by product
times its product's median
quantity, or above
``max_quantity`` (1e6)
catalog product never sold   noted (counted), left out    noted (counted), left out
sessions: a visit's order    noted (counted), left out    noted (counted), left out
id in no kept line           of the choice data           of the choice data
all rows rejected            fatal                        fatal
===========================  ==========================  ===========================

**Outliers.** A product's reference price is the median of its list price and
every unit price paid for it (a median: robust to a minority of wrong values,
and to a wrong list price when the product sold more than once; a product sold
once is compared with its list price). A line whose
unit price is more than ``outlier_factor`` (default 10) times its product's
reference, or less than the reference divided by it, is an outlier: far beyond
any promotion or price change (promotions are rarely past 70% off). The list
price is then checked with the same factor against the median price paid. One
wrong value, such as a unit price of 999,999 among prices near 5 or a list
price of 1e300, would otherwise flip a fitted price coefficient or overflow the
preference weights ``exp(beta p)``. ``outlier_factor=None`` turns the check off.

Fatal problems raise :class:`DataValidationError` (a ``ValueError``) whose
message names the table, the column, the number of rows and a sample of them.

Code: the report and the error in :mod:`bundleopt.data.cleaning`, the row checks in
:mod:`bundleopt.data.row_checks`, each table in :mod:`bundleopt.data.validate_tables`;
this module adds the checks across tables (:func:`validate`) and re-exports the rest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bundleopt.data.cleaning import (
    CleaningEntry,
    CleaningReport,
    DataValidationError,
    Errors,
    ValidatedData,
)
from bundleopt.data.outliers import describe, list_price_outliers
from bundleopt.data.row_checks import _fail, _nonempty, as_id
from bundleopt.data.validate_tables import (
    validate_catalog,
    validate_sessions,
    validate_transactions,
)

__all__ = ["CleaningEntry", "CleaningReport", "DataValidationError", "Errors", "ValidatedData", "as_id", "products_without_margin", "validate", "validate_catalog", "validate_sessions",
           "validate_transactions"]


def products_without_margin(catalog: pd.DataFrame, transactions: pd.DataFrame) -> pd.Index:
    """Products whose unit cost is at or above every price seen: the list price and every price paid.

    Such a product cannot be sold at a profit at any level of a price ladder built
    from observed prices. Both frames must be validated already.
    """
    max_paid = transactions.groupby("product_id")["unit_price"].max()
    cat = catalog.set_index("product_id")
    top = np.fmax(cat["list_price"], max_paid.reindex(cat.index))
    return cat.index[(cat["unit_cost"] >= top).to_numpy()]


def validate(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    sessions: pd.DataFrame | None = None,
    errors: Errors = "raise",
    date_format: str | None = None,
    dayfirst: bool | None = None,
    outlier_factor: float | None = 10.0,
    date_range: tuple[str | None, str | None] = ("1990-01-01", None),
    quantity_factor: float | None = 1000.0,
    max_quantity: float | None = 1e6,
) -> ValidatedData:
    """Validate catalog, transactions (and sessions) together; see the module docstring for the policy.

    Adds the cross-table checks: lines of a product whose catalog row was rejected
    (reported with the product, column and value, not as unknown), unknown product
    ids, price outliers (lines, then list prices), products whose cost is above
    every price on the ladder (list price and prices paid), and catalog products
    that never sold (noted: no data to model their demand, so no plan offers them).
    ``date_format`` / ``dayfirst``: how to read the timestamps
    (:func:`bundleopt.data.dates.parse_dates`; detected when None). ``date_range``: first
    and last plausible day (None as the last: tomorrow); rows dated outside are
    ``implausible_timestamp`` (a mistyped year, Excel's 1900-01-00, a date to come).
    ``quantity_factor`` / ``max_quantity``: the quantity outlier rule (module docstring).
    Visits naming an order that no kept line has are noted (``unknown_order``).
    """
    cat, report = validate_catalog(catalog, errors=errors)
    tx, tx_report = validate_transactions(
        transactions, cat, errors=errors, date_format=date_format, dayfirst=dayfirst,
        outlier_factor=outlier_factor, rejected_products=_rejected_products(report), date_range=date_range,
        quantity_factor=quantity_factor, max_quantity=max_quantity)
    report = report.merge(tx_report)
    if outlier_factor is not None:
        cat, tx = _drop_list_price_outliers(cat, tx, outlier_factor, errors, report)
    bad = products_without_margin(cat, tx)
    if len(bad):
        mask = cat["product_id"].isin(bad)
        what = "unit_cost at or above the list price and every price paid (no profitable price)"
        if errors == "raise":
            _fail("catalog", "unit_cost", what, cat, mask)
        report.add("catalog", "cost_above_prices", "unit_cost", cat[mask])
        line_mask = tx["product_id"].isin(bad)
        report.add("transactions", "cost_above_prices", "product_id", tx[line_mask])
        cat = cat[~mask].reset_index(drop=True)
        tx = tx[~line_mask].reset_index(drop=True)
        _nonempty(cat, "catalog", report)
        _nonempty(tx, "transactions", report)
        report.n_rows_out.update(catalog=len(cat), transactions=len(tx))
    unsold = ~cat["product_id"].isin(set(tx["product_id"]))
    if unsold.any():
        ids = cat.loc[unsold, "product_id"].tolist()
        report.add("catalog", "never_sold", "product_id", cat[unsold], action="noted",
                   detail=f"{len(ids)} catalog product(s) without a sale (no data to model their "
                   f"demand; no plan offers them): {ids[:10]}")
    ses = None
    if sessions is not None:
        ses, ses_report = validate_sessions(sessions, errors=errors, date_format=date_format,
                                            dayfirst=dayfirst, date_range=date_range)
        report = report.merge(ses_report)
        _note_unknown_session_orders(ses, tx, report)
    return ValidatedData(tx, cat, report, ses)


def _note_unknown_session_orders(ses: pd.DataFrame, tx: pd.DataFrame, report: CleaningReport,
                                 sample: int = 3) -> None:
    """Note (``unknown_order``) the visits whose ``order_id`` is in no kept transaction line.

    Such a visit ended in an order, so it is not a no-purchase; its order has no lines to
    say what was bought, so it is no purchase occasion either: it is left out of the
    choice data. Many of them mean the two files do not match (ids written differently,
    different periods) and the no-purchase share is overstated.
    """
    named = ses["order_id"].notna()
    unknown = named & ~ses["order_id"].isin(set(tx["order_id"]))
    if not unknown.any():
        return
    ids = ses.loc[unknown, "order_id"].drop_duplicates()
    rejected = report.rejected.get("transactions")
    dropped = set(as_id(rejected["order_id"]).dropna()) if rejected is not None and "order_id" in rejected else set()
    cleaned = int(ids.isin(dropped).sum())
    report.add("sessions", "unknown_order", "order_id", ses[unknown], action="noted",
               detail=f"{int(unknown.sum())} of {int(named.sum())} visit(s) with an order name {len(ids)} "
               f"order id(s) in no transaction line, e.g. {ids.head(sample).tolist()}"
               + (f" ({cleaned} of them orders whose lines were all dropped above)" if cleaned else "")
               + ": left out of the choice data (neither a purchase, with no lines to say what was "
               "bought, nor a visit without one); check that both files name orders the same way")


def _rejected_products(report: CleaningReport) -> dict[str, str]:
    """Product id -> ``"<column> <value> (<reason>)"`` for each catalog row the report rejected."""
    rows = report.rejected.get("catalog")
    if rows is None or "product_id" not in rows:
        return {}
    column = {e.reason: e.column for e in report.entries
              if e.table == "catalog" and e.action == "dropped"}
    out: dict[str, str] = {}
    for pid, (_, row) in zip(as_id(rows["product_id"]), rows.iterrows(), strict=True):
        col = column.get(row["reason"], "")
        if pd.isna(pid) or row["reason"] == "duplicate" or col not in row:
            continue
        out.setdefault(pid, f"{col} {row[col]!r}: {row['reason']}")
    return out


def _drop_list_price_outliers(
    cat: pd.DataFrame, tx: pd.DataFrame, factor: float, errors: Errors, report: CleaningReport
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raise on, or drop with their lines (reported per product), list prices far from the prices paid."""
    lp = cat.set_index("product_id")["list_price"]
    mask, paid = list_price_outliers(lp, tx["product_id"], tx["unit_price"], factor)
    if not mask.any():
        return cat, tx
    what, why = "its median price paid", f"outlier factor {factor:g}"
    first = mask.index[mask.to_numpy()][0]
    if errors == "raise":
        raise DataValidationError(
            f"catalog: {int(mask.sum())} list price outlier(s), e.g. "
            + describe(first, "list_price", lp[first], paid[first], what, why)
            + "; fix the value or run with errors='drop' to leave such products out",
            table="catalog", column="list_price")
    for pid in mask.index[mask.to_numpy()]:
        detail = describe(pid, "list_price", lp[pid], paid[pid], what, why)
        report.add("catalog", "list_price_outlier", "list_price", cat[cat["product_id"].eq(pid)],
                   detail=detail)
        report.add("transactions", "list_price_outlier", "product_id", tx[tx["product_id"].eq(pid)],
                   detail=detail + "; the product's lines left out with it")
    bad = set(mask.index[mask.to_numpy()])
    cat = cat[~cat["product_id"].isin(bad)].reset_index(drop=True)
    tx = tx[~tx["product_id"].isin(bad)].reset_index(drop=True)
    _nonempty(cat, "catalog", report)
    _nonempty(tx, "transactions", report)
    report.n_rows_out.update(catalog=len(cat), transactions=len(tx))
    return cat, tx
