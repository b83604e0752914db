"""Streaming validation and repair of canonical chunks, whatever reader produced them.

Checks, chunk by chunk with state carried across chunks (so memory stays bounded):
required columns present and numeric, no missing values in them, time never runs backwards
(a restart of the time counter is repaired by an offset; any other backward step is an error),
exact duplicate rows dropped, and no 1000x jumps in voltage that betray mixed units.
Every repair is recorded. A content hash of the accepted rows identifies the data itself, so the
same measurements imported from two differently packed files are recognised as one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from bmts.ingest.base import Chunk
from bmts.schema import REQUIRED_TIMESERIES, TIMESERIES, DataError, Issue, Repair

#: a backward jump in time to below this many seconds (or below half the previous time) is a counter restart
RESET_TIME_SECOND = 120.0


@dataclass
class Summary:
    """What was accepted from one source."""

    rows: int = 0
    columns: list[str] = field(default_factory=list)
    first_time_second: float | None = None
    last_time_second: float | None = None
    start_unix_second: float | None = None
    content_sha256: str = ""


def _row_of(chunk: Chunk, index: int | np.integer) -> int | None:
    return None if chunk.first_row is None else chunk.first_row + int(index)


def _cast(chunk: Chunk, file: str) -> pl.DataFrame:
    """Canonical columns cast to their schema dtype; DataError naming the first bad value."""
    frame = chunk.frame
    exprs = []
    for name in frame.columns:
        col = TIMESERIES.get(name)
        if col is None:
            continue
        target = pl.Float64 if col.dtype == "float64" else pl.Int64
        if frame.schema[name] == target:
            continue
        if frame.schema[name] == pl.String:
            bad = frame.select(
                pl.col(name).str.strip_chars().cast(pl.Float64, strict=False).is_null()
                & pl.col(name).is_not_null()
                & (pl.col(name).str.strip_chars() != "")
            )
            hits = np.flatnonzero(bad.to_series().to_numpy())
            if hits.size:
                value = frame[name][int(hits[0])]
                raise DataError(
                    Issue(file, f"not a number: {str(value)[:30]!r}", _row_of(chunk, hits[0]), name)
                )
            exprs.append(pl.col(name).str.strip_chars().cast(pl.Float64, strict=False).cast(target))
        else:
            exprs.append(pl.col(name).cast(pl.Float64).cast(target, strict=False))
    return frame.with_columns(exprs) if exprs else frame


class Normalizer:
    """Validates and repairs the chunks of one source; iterate `run(chunks)` to get clean frames."""

    def __init__(self, file: str, repairs: list[Repair]) -> None:
        self.file = file
        self.repairs = repairs
        self.summary = Summary()
        self._hash = hashlib.sha256()
        self._time_offset = 0.0
        self._last_time: float | None = None
        self._last_row: tuple[object, ...] | None = None
        self._resets = 0
        self._duplicates = 0
        self._typical_voltage: float | None = None

    def run(self, chunks: Iterable[Chunk]) -> Iterator[pl.DataFrame]:
        for chunk in chunks:
            if chunk.frame.height == 0:
                continue
            frame = self._check(chunk)
            if frame.height:
                yield frame
        self._finish()

    def _check(self, chunk: Chunk) -> pl.DataFrame:
        file = self.file
        if not self.summary.columns:
            missing = [c for c in REQUIRED_TIMESERIES if c not in chunk.frame.columns]
            if missing:
                raise DataError(
                    Issue(
                        file,
                        f"required column missing: {', '.join(missing)} "
                        f"(found: {', '.join(chunk.frame.columns)[:120]})",
                    )
                )
            self.summary.columns = list(chunk.frame.columns)
        elif chunk.frame.columns != self.summary.columns:
            raise DataError(Issue(file, "columns change within the file", _row_of(chunk, 0)))
        frame = _cast(chunk, file)
        for name in REQUIRED_TIMESERIES:
            values = frame[name].to_numpy()
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                raise DataError(Issue(file, "missing or non-finite value", _row_of(chunk, bad[0]), name))
        frame = self._repair_time(frame, chunk)
        frame = self._drop_duplicates(frame)
        self._check_units(frame, chunk)
        self._account(frame)
        return frame

    def _repair_time(self, frame: pl.DataFrame, chunk: Chunk) -> pl.DataFrame:
        t = frame["test_time_second"].to_numpy().astype(np.float64, copy=True)
        prev = np.concatenate([[self._last_time if self._last_time is not None else t[0]], t[:-1]])
        back = np.flatnonzero(t < prev)
        offset = np.zeros_like(t)
        for i in back:
            previous = prev[i] if i == 0 else t[i - 1]
            if t[i] < RESET_TIME_SECOND or t[i] < 0.5 * previous:
                offset[i:] += previous - t[i] + _typical_step(t)
                self._resets += 1
            else:
                raise DataError(
                    Issue(
                        self.file,
                        f"time runs backwards ({t[i]:g} s after {previous:g} s)",
                        _row_of(chunk, i),
                        "test_time_second",
                    )
                )
        t = t + offset + self._time_offset
        self._time_offset += float(offset[-1])
        self._last_time = float(t[-1]) - self._time_offset
        return frame.with_columns(pl.Series("test_time_second", t))

    def _drop_duplicates(self, frame: pl.DataFrame) -> pl.DataFrame:
        same = frame.select(pl.all().eq_missing(pl.all().shift(1))).select(pl.all_horizontal(pl.all()))
        mask = same.to_series().fill_null(False).to_numpy().copy()
        first = tuple(frame.row(0))
        if self._last_row is not None and first == self._last_row:
            mask[0] = True
        self._last_row = tuple(frame.row(frame.height - 1))
        dropped = int(mask.sum())
        if dropped:
            self._duplicates += dropped
            frame = frame.filter(pl.Series(~mask))
        return frame

    def _check_units(self, frame: pl.DataFrame, chunk: Chunk) -> None:
        v = np.abs(frame["voltage_volt"].to_numpy())
        if self._typical_voltage is None:
            self._typical_voltage = float(np.median(v))
        typical = self._typical_voltage
        if typical > 0.05:
            odd = np.flatnonzero((v > 100 * typical) | ((v < typical / 100) & (v > 0)))
            if odd.size:
                raise DataError(
                    Issue(
                        self.file,
                        f"voltage {v[odd[0]]:g} V beside typical {typical:.3g} V: mixed units?",
                        _row_of(chunk, odd[0]),
                        "voltage_volt",
                    )
                )

    def _account(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        s = self.summary
        if s.first_time_second is None:
            s.first_time_second = float(frame["test_time_second"][0])
            if "unix_time_second" in frame.columns:
                unix = frame["unix_time_second"].drop_nulls()
                s.start_unix_second = float(unix[0]) if unix.len() else None
        s.last_time_second = float(frame["test_time_second"][-1])
        s.rows += frame.height
        # row-major, so the hash depends on the rows and not on how the file was cut into chunks
        rows = np.column_stack([frame[name].to_numpy().astype(np.float64) for name in REQUIRED_TIMESERIES])
        self._hash.update(np.ascontiguousarray(rows).tobytes())

    def _finish(self) -> None:
        if self.summary.rows == 0:
            raise DataError(Issue(self.file, "no data rows"))
        self.summary.content_sha256 = self._hash.hexdigest()
        if self._resets:
            self.repairs.append(
                Repair("time_reset", "time counter restarted; later rows offset to continue", self._resets)
            )
        if self._duplicates:
            self.repairs.append(Repair("duplicate_rows", "exact duplicate rows dropped", self._duplicates))


def _typical_step(t: np.ndarray) -> float:
    d = np.diff(t)
    d = d[d > 0]
    return float(np.median(d)) if d.size else 1.0
