"""bmts: the Battery Management and Tracking System.

The small public API; everything else is reachable through the subpackages
(`bmts.schema`, `bmts.analytics`, `bmts.ingest`, `bmts.storage`, `bmts.pipeline`).
"""

from bmts.analytics import cycle_summary
from bmts.ingest import read_timeseries, write_bdf
from bmts.pipeline.analysis import battery_curves, battery_cycles
from bmts.pipeline.ingest import ingest_paths
from bmts.schema import DataError, Issue
from bmts.storage import open_store

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Issue",
    "__version__",
    "battery_curves",
    "battery_cycles",
    "cycle_summary",
    "ingest_paths",
    "open_store",
    "read_timeseries",
    "write_bdf",
]
