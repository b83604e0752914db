"""Ingestion: bytes of cycler files in, validated canonical time series out. Never touches storage."""

from bmts.ingest.base import Chunk, Reader, detect, registered_readers
from bmts.ingest.bdf_writer import write_bdf
from bmts.ingest.source import Source, open_source, read_timeseries

__all__ = [
    "Chunk",
    "Reader",
    "Source",
    "detect",
    "open_source",
    "read_timeseries",
    "registered_readers",
    "write_bdf",
]
