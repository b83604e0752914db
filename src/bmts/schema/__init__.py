"""The bmts data model: column vocabularies and the vocabulary of problems. Imports nothing of bmts."""

from bmts.schema.columns import (
    CAPACITY_HISTORY_COLUMNS,
    CURRENT_SIGN,
    CYCLE_COLUMNS,
    DISCHARGE_CURVE_COLUMNS,
    LABEL_TO_NAME,
    REQUIRED_TIMESERIES,
    TELEMETRY_COLUMNS,
    TIMESERIES,
    TIMESERIES_COLUMNS,
    Column,
    Monotonic,
)
from bmts.schema.issues import DataError, Issue, Provenance, Repair

__all__ = [
    "CAPACITY_HISTORY_COLUMNS",
    "CURRENT_SIGN",
    "CYCLE_COLUMNS",
    "DISCHARGE_CURVE_COLUMNS",
    "LABEL_TO_NAME",
    "REQUIRED_TIMESERIES",
    "TELEMETRY_COLUMNS",
    "TIMESERIES",
    "TIMESERIES_COLUMNS",
    "Column",
    "DataError",
    "Issue",
    "Monotonic",
    "Provenance",
    "Repair",
]
