"""Battery Data Format (BDF) reader: `.bdf`, `.bdf.csv`, `.bdf.gz`, `.bdf.parquet` (and plain CSV/Parquet
whose header uses BDF preferred labels or machine-readable names).

Headers may carry other units of a known quantity ('Voltage / mV'); values are converted to the BDF
unit. A current column without a single negative value while the voltage falls under load is
treated as unsigned (|I|) and its sign is recovered step by step from the voltage response; the
repair is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from bmts.analytics.direction import signed_current, step_boundaries
from bmts.ingest.base import Chunk
from bmts.ingest.csvio import header_fields, iter_csv, open_text_head
from bmts.ingest.tables import PARQUET_MAGIC
from bmts.ingest.units import UnitError, resolve_header
from bmts.schema import REQUIRED_TIMESERIES, DataError, Issue, Repair


def _mapping(path: Path, fields: list[str]) -> dict[str, tuple[str, float, float]]:
    """header field -> (canonical name, scale, offset) for the fields in the BDF vocabulary."""
    mapping: dict[str, tuple[str, float, float]] = {}
    seen: dict[str, str] = {}
    for field in fields:
        try:
            resolved = resolve_header(field)
        except UnitError as e:
            raise DataError(Issue(str(path), str(e), column=field)) from None
        if resolved is None:
            continue
        if resolved[0] in seen:
            raise DataError(
                Issue(
                    str(path),
                    f"two columns for {resolved[0]}: {seen[resolved[0]]!r} and {field!r}",
                    column=field,
                )
            )
        seen[resolved[0]] = field
        mapping[field] = resolved
    return mapping


def _canonical(frame: pl.DataFrame, mapping: dict[str, tuple[str, float, float]]) -> pl.DataFrame:
    exprs = []
    for field in frame.columns:
        if field in mapping:
            name, scale, offset = mapping[field]
            expr = pl.col(field)
            if frame.schema[field] == pl.String:
                expr = expr.str.strip_chars().cast(pl.Float64, strict=False)
            if scale != 1.0 or offset != 0.0:
                expr = expr.cast(pl.Float64) * scale + offset
            exprs.append(expr.alias(name))
        elif frame.schema[field].is_numeric():
            exprs.append(pl.col(field).cast(pl.Float64))
        else:
            exprs.append(pl.col(field).cast(pl.String))
    return frame.select(exprs)


class _UnsignedCurrent:
    """Streaming sign recovery: holds back the last (possibly unfinished) step of each block."""

    def __init__(self, first: pl.DataFrame) -> None:
        v = first["voltage_volt"].to_numpy()
        self.window = (float(np.nanmin(v)), float(np.nanmax(v)))
        self.pending: pl.DataFrame | None = None
        self.pending_row: int | None = None

    @staticmethod
    def applies(first: pl.DataFrame) -> bool:
        i = first["current_ampere"].to_numpy()
        if i.size < 3 or np.nanmin(i) < 0 or np.nanmax(i) <= 0:
            return False
        signed = signed_current(first["voltage_volt"].to_numpy(), i, _steps(first))
        return bool(np.any(signed < 0))

    def feed(self, chunk: Chunk) -> Chunk | None:
        """Signed rows of every finished step so far; the last step waits for the next block."""
        frame, row = chunk.frame, chunk.first_row
        if self.pending is not None:
            frame, row = pl.concat([self.pending, frame]), self.pending_row
        current = np.abs(frame["current_ampere"].to_numpy())
        labels = step_boundaries(current, _steps(frame), 1e-3 * (float(np.nanmax(current)) or 1.0))
        keep = int(np.searchsorted(labels, labels[-1]))
        self.pending, self.pending_row = frame.slice(keep), None if row is None else row + keep
        return self._signed(frame.head(keep), row) if keep else None

    def flush(self) -> Chunk | None:
        pending, self.pending = self.pending, None
        return self._signed(pending, self.pending_row) if pending is not None and pending.height else None

    def _signed(self, frame: pl.DataFrame, row: int | None) -> Chunk:
        signed = signed_current(
            frame["voltage_volt"].to_numpy(), frame["current_ampere"].to_numpy(), _steps(frame), self.window
        )
        return Chunk(frame.with_columns(pl.Series("current_ampere", signed)), row)


def _steps(frame: pl.DataFrame) -> np.ndarray | None:
    for name in ("step_count", "step_id"):
        if name in frame.columns:
            return frame[name].fill_null(-1).to_numpy()
    return None


class BdfReader:
    """Battery Data Format time series (CSV, gzipped CSV or Parquet)."""

    name: ClassVar[str] = "bdf"
    extensions: ClassVar[tuple[str, ...]] = (
        ".bdf",
        ".bdf.csv",
        ".bdf.gz",
        ".bdf.csv.gz",
        ".bdf.parquet",
        ".csv",
        ".csv.gz",
        ".parquet",
    )

    def sniff(self, path: Path, head: bytes) -> float:
        if head.startswith(PARQUET_MAGIC):
            try:
                names = pq.read_schema(path).names
            except Exception:
                return 0.0
            return self._score(names)
        text = open_text_head(path, head)
        if not text or "\x00" in text[:4096]:
            return 0.0
        first = text.splitlines()[0] if text.splitlines() else ""
        return self._score([f.strip().strip('"') for f in first.split(",")])

    @staticmethod
    def _score(fields: list[str]) -> float:
        try:
            names = {r[0] for f in fields if (r := resolve_header(f)) is not None}
        except UnitError:
            return 0.9  # a BDF header with a bad unit: ours to refuse with a precise message
        if not names:
            return 0.0
        core = len(names & set(REQUIRED_TIMESERIES))
        return 0.3 + 0.2 * core if core else 0.25

    def read(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        with open(path, "rb") as fh:
            head = fh.read(4)
        chunks = self._parquet(path) if head.startswith(PARQUET_MAGIC) else self._csv(path)
        fixer: _UnsignedCurrent | None = None
        for i, chunk in enumerate(chunks):
            if i == 0 and "current_ampere" in chunk.frame.columns and _UnsignedCurrent.applies(chunk.frame):
                fixer = _UnsignedCurrent(chunk.frame)
                repairs.append(
                    Repair(
                        "current_sign",
                        "current column is unsigned; the sign of each step "
                        "was recovered from the voltage response (rising = charge)",
                    )
                )
            done = chunk if fixer is None else fixer.feed(chunk)
            if done is not None:
                yield done
        tail = fixer.flush() if fixer is not None else None
        if tail is not None:
            yield tail

    def _csv(self, path: Path) -> Iterator[Chunk]:
        fields = header_fields(path)
        mapping = _mapping(path, fields)
        numeric = set(mapping)
        for frame, line in iter_csv(path, numeric):
            yield Chunk(_canonical(frame, mapping), line)

    def _parquet(self, path: Path) -> Iterator[Chunk]:
        try:
            pf = pq.ParquetFile(path)
        except Exception as e:
            raise DataError(Issue(str(path), f"unreadable Parquet: {str(e).splitlines()[0][:100]}")) from None
        mapping = _mapping(path, pf.schema_arrow.names)
        row = 1
        for batch in pf.iter_batches(batch_size=1 << 20):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield Chunk(_canonical(frame, mapping), row)
            row += frame.height
