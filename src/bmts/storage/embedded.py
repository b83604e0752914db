"""The store: metadata in a SQL database (SQLite embedded, or PostgreSQL), time series as Parquet.

Layout of the embedded store directory::

    bmts.sqlite                                   batteries, ledger, segments (Alembic-managed)
    timeseries/battery=<id>/<segment>.parquet     one file per imported source
    timeseries/.staging/                          segments being written

A segment is written to staging first and published with one database transaction plus an atomic
rename, so a failed or interrupted import leaves nothing visible. Unique keys on the source file's
hash and on the content hash make imports idempotent, also under concurrent writers.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bmts.storage import tables as t
from bmts.storage.database import create_engine, migrate
from bmts.storage.protocols import BatteryRecord, SegmentMeta, SegmentRecord


class EmbeddedStore:
    """Batteries and their time series: a database for metadata, a directory for Parquet files."""

    def __init__(self, home: str | Path, database_url: str | None = None) -> None:
        self.home = Path(home)
        self.timeseries = self.home / "timeseries"
        (self.timeseries / ".staging").mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or f"sqlite:///{self.home / 'bmts.sqlite'}"
        self.engine: Engine = create_engine(self.database_url)
        migrate(self.engine)

    # -- batteries ---------------------------------------------------------------------------
    def batteries(self) -> list[BatteryRecord]:
        with self.engine.connect() as con:
            rows = con.execute(_battery_query().order_by(t.batteries.c.id)).mappings().all()
        return [_battery(r) for r in rows]

    def battery(self, battery_id: str) -> BatteryRecord | None:
        with self.engine.connect() as con:
            row = con.execute(_battery_query().where(t.batteries.c.id == battery_id)).mappings().first()
        return _battery(row) if row else None

    # -- segments ----------------------------------------------------------------------------
    def segments(self, battery_id: str) -> list[SegmentRecord]:
        with self.engine.connect() as con:
            rows = (
                con.execute(sa.select(t.segments).where(t.segments.c.battery_id == battery_id))
                .mappings()
                .all()
            )
        return sorted((_segment(r) for r in rows), key=lambda r: r.sequence)

    def find_source(self, battery_id: str, source_sha256: str) -> SegmentRecord | None:
        query = sa.select(t.segments).where(
            t.segments.c.battery_id == battery_id, t.segments.c.source_sha256 == source_sha256
        )
        with self.engine.connect() as con:
            row = con.execute(query).mappings().first()
        return _segment(row) if row else None

    def begin_segment(self, battery_id: str) -> _ParquetSegmentWriter:
        return _ParquetSegmentWriter(self, battery_id)

    def segment_path(self, segment: SegmentRecord) -> Path:
        return self.home / segment.relative_path

    def segment_columns(self, segment: SegmentRecord) -> list[str]:
        return list(pq.read_schema(self.segment_path(segment)).names)

    def read_segment(self, segment: SegmentRecord, columns: list[str] | None = None) -> pl.DataFrame:
        return pl.read_parquet(self.segment_path(segment), columns=columns)

    def iter_segment(self, segment: SegmentRecord) -> Iterator[pl.DataFrame]:
        for batch in pq.ParquetFile(self.segment_path(segment)).iter_batches(batch_size=1 << 20):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame


class _ParquetSegmentWriter:
    """Writes blocks to a staged Parquet file on a background thread, so encoding and compressing one
    block overlaps with parsing the next; at most `PENDING` blocks wait, which keeps memory bounded."""

    PENDING = 2

    def __init__(self, store: EmbeddedStore, battery_id: str) -> None:
        self.store, self.battery_id = store, battery_id
        self.id = uuid.uuid4().hex
        self.staged = store.timeseries / ".staging" / f"{self.id}.parquet"
        self._writer: pq.ParquetWriter | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bmts-parquet")
        self._pending: deque[Future[None]] = deque()

    def _write_table(self, table: pa.Table) -> None:
        if self._writer is None:
            # zstd level 1 without dictionary pages: measured fastest and smallest for cycler data
            self._writer = pq.ParquetWriter(
                self.staged, table.schema, compression="zstd", compression_level=1, use_dictionary=False
            )
        self._writer.write_table(table.cast(self._writer.schema))

    def write(self, frame: pl.DataFrame) -> None:
        while len(self._pending) >= self.PENDING:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._write_table, frame.to_arrow()))

    def _finish(self) -> bool:
        """Wait for the queued blocks and close the file; True if anything was written."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True)
            written = self._writer is not None
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        return written

    def abort(self) -> None:
        try:
            self._finish()
        finally:
            self.staged.unlink(missing_ok=True)

    def commit(self, meta: SegmentMeta) -> SegmentRecord | None:
        try:
            written = self._finish()
        except BaseException:
            self.staged.unlink(missing_ok=True)
            raise
        if not written:
            raise ValueError("nothing written")
        folder = self.store.timeseries / f"battery={quote(self.battery_id, safe='')}"
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{self.id}.parquet"
        now = time.time()
        try:
            with self.store.engine.begin() as con:
                exists = con.execute(
                    sa.select(t.batteries.c.id).where(t.batteries.c.id == self.battery_id)
                ).first()
                if exists is None:
                    con.execute(sa.insert(t.batteries).values(id=self.battery_id, created_unix_second=now))
                sequence = con.execute(
                    sa.select(sa.func.coalesce(sa.func.max(t.segments.c.sequence), 0) + 1).where(
                        t.segments.c.battery_id == self.battery_id
                    )
                ).scalar_one()
                con.execute(
                    sa.insert(t.segments).values(
                        id=self.id,
                        battery_id=self.battery_id,
                        source_path=meta.source_path,
                        source_sha256=meta.source_sha256,
                        content_sha256=meta.content_sha256,
                        reader=meta.reader,
                        rows=meta.rows,
                        first_time_second=meta.first_time_second,
                        last_time_second=meta.last_time_second,
                        start_unix_second=meta.start_unix_second,
                        sequence=sequence,
                        repairs=json.dumps(meta.repairs),
                        attributes=json.dumps(meta.attributes),
                        relative_path=str(final.relative_to(self.store.home)),
                        ingested_unix_second=now,
                    )
                )
                os.replace(self.staged, final)  # inside the transaction: a failed rename rolls back
        except sa.exc.IntegrityError:
            self.staged.unlink(missing_ok=True)
            return None
        except BaseException:
            self.staged.unlink(missing_ok=True)
            final.unlink(missing_ok=True)
            raise
        return self.store.find_source(self.battery_id, meta.source_sha256)


def _battery_query() -> sa.Select:
    """Batteries with their current parent (the open genealogy link, if any)."""
    link = t.battery_links
    current = sa.and_(link.c.child_id == t.batteries.c.id, link.c.valid_to.is_(None))
    return sa.select(t.batteries, link.c.parent_id).select_from(t.batteries.outerjoin(link, current))


def _battery(row: sa.RowMapping) -> BatteryRecord:
    return BatteryRecord(
        id=row["id"],
        kind=row["kind"],
        chemistry=row["chemistry"],
        parent_id=row["parent_id"],
        nominal_capacity_ah=row["nominal_capacity_ah"],
    )


def _segment(row: sa.RowMapping) -> SegmentRecord:
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
        relative_path=row["relative_path"],
    )
