"""The embedded store: metadata in SQLite, time series as Parquet partitioned by battery.

Layout under the store directory::

    bmts.sqlite                                   batteries, segments
    timeseries/battery=<id>/<segment>.parquet     one file per imported source
    timeseries/.staging/                          segments being written

A segment is written to staging first and published with one SQLite transaction plus an atomic
rename, so a failed or interrupted import leaves nothing visible. Uniqueness constraints on the
source file's hash and on the content hash make imports idempotent, also under concurrent writers.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pyarrow.parquet as pq

from bmts.storage.protocols import BatteryRecord, SegmentMeta, SegmentRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS batteries (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'cell',
    chemistry TEXT,
    parent_id TEXT REFERENCES batteries(id),
    nominal_capacity_ah REAL,
    created_unix_second REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS segments (
    id TEXT PRIMARY KEY,
    battery_id TEXT NOT NULL REFERENCES batteries(id),
    source_path TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    reader TEXT NOT NULL,
    rows INTEGER NOT NULL,
    first_time_second REAL,
    last_time_second REAL,
    start_unix_second REAL,
    sequence INTEGER NOT NULL,
    repairs TEXT NOT NULL DEFAULT '[]',
    attributes TEXT NOT NULL DEFAULT '{}',
    relative_path TEXT NOT NULL,
    ingested_unix_second REAL NOT NULL,
    UNIQUE (battery_id, source_sha256),
    UNIQUE (battery_id, content_sha256)
);
CREATE INDEX IF NOT EXISTS segments_by_battery ON segments (battery_id, sequence);
"""
SCHEMA_VERSION = 1


class EmbeddedStore:
    """SQLite + Parquet store in one directory; safe for several processes at once."""

    def __init__(self, home: str | Path) -> None:
        self.home = Path(home)
        self.timeseries = self.home / "timeseries"
        (self.timeseries / ".staging").mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / "bmts.sqlite"
        with self._connect() as con:
            con.executescript(SCHEMA)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA foreign_keys=ON")
        con.row_factory = sqlite3.Row
        return con

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    # -- batteries ---------------------------------------------------------------------------
    def batteries(self) -> list[BatteryRecord]:
        with contextlib.closing(self._connect()) as con:
            rows = con.execute("SELECT * FROM batteries ORDER BY id").fetchall()
        return [_battery(r) for r in rows]

    def battery(self, battery_id: str) -> BatteryRecord | None:
        with contextlib.closing(self._connect()) as con:
            row = con.execute("SELECT * FROM batteries WHERE id = ?", (battery_id,)).fetchone()
        return _battery(row) if row else None

    # -- segments ----------------------------------------------------------------------------
    def segments(self, battery_id: str) -> list[SegmentRecord]:
        with contextlib.closing(self._connect()) as con:
            rows = con.execute("SELECT * FROM segments WHERE battery_id = ?", (battery_id,)).fetchall()
        records = [_segment(r) for r in rows]
        timed = all(r.start_unix_second is not None for r in records)
        return sorted(records, key=lambda r: (r.start_unix_second if timed else 0.0, r.sequence))

    def find_source(self, battery_id: str, source_sha256: str) -> SegmentRecord | None:
        with contextlib.closing(self._connect()) as con:
            row = con.execute(
                "SELECT * FROM segments WHERE battery_id = ? AND source_sha256 = ?",
                (battery_id, source_sha256),
            ).fetchone()
        return _segment(row) if row else None

    def begin_segment(self, battery_id: str) -> _ParquetSegmentWriter:
        return _ParquetSegmentWriter(self, battery_id)

    def segment_path(self, segment: SegmentRecord) -> Path:
        with contextlib.closing(self._connect()) as con:
            row = con.execute("SELECT relative_path FROM segments WHERE id = ?", (segment.id,)).fetchone()
        return self.home / row["relative_path"]

    def read_segment(self, segment: SegmentRecord, columns: list[str] | None = None) -> pl.DataFrame:
        return pl.read_parquet(self.segment_path(segment), columns=columns)

    def iter_segment(self, segment: SegmentRecord) -> Iterator[pl.DataFrame]:
        for batch in pq.ParquetFile(self.segment_path(segment)).iter_batches(batch_size=1 << 20):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame


class _ParquetSegmentWriter:
    def __init__(self, store: EmbeddedStore, battery_id: str) -> None:
        self.store, self.battery_id = store, battery_id
        self.id = uuid.uuid4().hex
        self.staged = store.timeseries / ".staging" / f"{self.id}.parquet"
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.staged, table.schema, compression="zstd")
        self._writer.write_table(table.cast(self._writer.schema))

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.staged.unlink(missing_ok=True)

    def commit(self, meta: SegmentMeta) -> SegmentRecord | None:
        if self._writer is None:
            raise ValueError("nothing written")
        self._writer.close()
        self._writer = None
        folder = self.store.timeseries / f"battery={quote(self.battery_id, safe='')}"
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{self.id}.parquet"
        relative = str(final.relative_to(self.store.home))
        now = time.time()
        try:
            with self.store._transaction() as con:
                con.execute(
                    "INSERT OR IGNORE INTO batteries (id, created_unix_second) VALUES (?, ?)",
                    (self.battery_id, now),
                )
                sequence = con.execute(
                    "SELECT COALESCE(MAX(sequence), 0) + 1 FROM segments WHERE battery_id = ?",
                    (self.battery_id,),
                ).fetchone()[0]
                con.execute(
                    "INSERT INTO segments (id, battery_id, source_path, source_sha256, content_sha256, reader, rows,"
                    " first_time_second, last_time_second, start_unix_second, sequence, repairs, attributes,"
                    " relative_path, ingested_unix_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self.id,
                        self.battery_id,
                        meta.source_path,
                        meta.source_sha256,
                        meta.content_sha256,
                        meta.reader,
                        meta.rows,
                        meta.first_time_second,
                        meta.last_time_second,
                        meta.start_unix_second,
                        sequence,
                        json.dumps(meta.repairs),
                        json.dumps(meta.attributes),
                        relative,
                        now,
                    ),
                )
                os.replace(self.staged, final)  # inside the transaction: a failed rename rolls back
        except sqlite3.IntegrityError:
            self.staged.unlink(missing_ok=True)
            return None
        except BaseException:
            self.staged.unlink(missing_ok=True)
            final.unlink(missing_ok=True)
            raise
        return self.store.find_source(self.battery_id, meta.source_sha256)


def _battery(row: sqlite3.Row) -> BatteryRecord:
    return BatteryRecord(
        id=row["id"],
        kind=row["kind"],
        chemistry=row["chemistry"],
        parent_id=row["parent_id"],
        nominal_capacity_ah=row["nominal_capacity_ah"],
    )


def _segment(row: sqlite3.Row) -> SegmentRecord:
    return SegmentRecord(
        id=row["id"],
        battery_id=row["battery_id"],
        source_path=row["source_path"],
        source_sha256=row["source_sha256"],
        content_sha256=row["content_sha256"],
        reader=row["reader"],
        rows=row["rows"],
        first_time_second=row["first_time_second"],
        last_time_second=row["last_time_second"],
        start_unix_second=row["start_unix_second"],
        sequence=row["sequence"],
        repairs=json.loads(row["repairs"]),
        attributes=json.loads(row["attributes"]),
    )
