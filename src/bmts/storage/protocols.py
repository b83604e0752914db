"""The small interfaces the rest of bmts uses to keep time series and their metadata.

The embedded store (SQLite + partitioned Parquet) is the default; other back ends implement the
same protocols.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl


@dataclass(frozen=True)
class BatteryRecord:
    id: str
    kind: str = "cell"
    chemistry: str | None = None
    parent_id: str | None = None
    nominal_capacity_ah: float | None = None


@dataclass(frozen=True, kw_only=True)
class SegmentMeta:
    """What the ingest use case knows about a segment it is about to commit."""

    source_path: str
    source_sha256: str
    content_sha256: str
    reader: str
    rows: int
    first_time_second: float | None
    last_time_second: float | None
    start_unix_second: float | None
    repairs: list[dict[str, object]] = field(default_factory=list)
    attributes: dict[str, float] = field(default_factory=dict)  # e.g. the data set's end-of-discharge voltage


@dataclass(frozen=True, kw_only=True)
class SegmentRecord(SegmentMeta):
    """One imported file's worth of time series for one battery, as stored."""

    id: str
    battery_id: str
    sequence: int
    relative_path: str = ""


class SegmentWriter(Protocol):
    """Staged, all-or-nothing write of one segment."""

    def write(self, frame: pl.DataFrame) -> None: ...

    def commit(self, meta: SegmentMeta) -> SegmentRecord | None:
        """Publish the segment; None (and nothing kept) if the same data is already stored."""
        ...

    def abort(self) -> None: ...


class Store(Protocol):
    """Time series and metadata of batteries."""

    def batteries(self) -> list[BatteryRecord]: ...

    def battery(self, battery_id: str) -> BatteryRecord | None: ...

    def segments(self, battery_id: str) -> list[SegmentRecord]:
        """Segments of a battery in import order."""
        ...

    def find_source(self, battery_id: str, source_sha256: str) -> SegmentRecord | None: ...

    def begin_segment(self, battery_id: str) -> SegmentWriter: ...

    def segment_columns(self, segment: SegmentRecord) -> list[str]: ...

    def read_segment(self, segment: SegmentRecord, columns: list[str] | None = None) -> pl.DataFrame: ...

    def iter_segment(self, segment: SegmentRecord) -> Iterator[pl.DataFrame]: ...
