"""Tables bundleopt reads: schemas, loading, validation with a cleaning report, choice data."""

from bundleopt.data.choice_data import build_choice_data
from bundleopt.data.dates import DateFormatError, parse_dates
from bundleopt.data.io import load_catalog, load_sessions, load_transactions, read_table
from bundleopt.data.schemas import CATALOG, NO_PURCHASE, SESSIONS, TRANSACTIONS, Column, Schema
from bundleopt.data.validation import (
    CleaningReport,
    DataValidationError,
    ValidatedData,
    validate,
    validate_catalog,
    validate_sessions,
    validate_transactions,
)

__all__ = [
    "CATALOG",
    "NO_PURCHASE",
    "SESSIONS",
    "TRANSACTIONS",
    "CleaningReport",
    "Column",
    "DateFormatError",
    "DataValidationError",
    "Schema",
    "ValidatedData",
    "build_choice_data",
    "load_catalog",
    "load_sessions",
    "load_transactions",
    "parse_dates",
    "read_table",
    "validate",
    "validate_catalog",
    "validate_sessions",
    "validate_transactions",
]
