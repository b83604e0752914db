"""Pack / fleet telemetry (SPEC input): a long CSV or Parquet table, one row per cell per sample, with
`pack_id, cell_id, unix_time_second, voltage_volt, current_ampere, temperature_celsius` (other columns
allowed). Read, checked and split into one canonical time series per cell; never touches storage.

Rows of different cells may interleave; within a cell, time must increase in file order. A row repeated
exactly (a re-sent BMS message) is dropped and reported as a repair; two different readings of one cell at
one time are refused, as is any missing or non-numeric value in the required columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from bmts.ingest.csvio import header_fields
from bmts.ingest.tables import ROW, is_parquet, number_column, read_table, text_column
from bmts.schema import TELEMETRY_COLUMNS, DataError, Issue, Repair

KEYS = ("pack_id", "cell_id")
REQUIRED = tuple(c.name for c in TELEMETRY_COLUMNS if c.required)
NUMERIC = tuple(c.name for c in TELEMETRY_COLUMNS if c.required and c.dtype == "float64")


class CellSeries(NamedTuple):
    """One cell's samples as a canonical time series (test time from the cell's first sample)."""

    pack_id: str
    cell_id: str
    #: test_time_second, unix_time_second, voltage_volt, current_ampere, temperature_t1_celsius
    frame: pl.DataFrame


def header(path: str | Path) -> list[str]:
    """Column names of a CSV (possibly gzipped) or Parquet file; empty if it is neither or unreadable."""
    p = Path(path)
    try:
        names = pq.read_schema(p).names if is_parquet(p) else header_fields(p)
    except (OSError, ValueError):
        return []
    return [name.strip() for name in names]


def is_telemetry(path: str | Path) -> bool:
    """Whether a file is pack telemetry (its header names `pack_id` and `cell_id`) rather than one cell's."""
    names = header(path)
    return all(k in names for k in KEYS)


def read_telemetry(path: str | Path, repairs: list[Repair] | None = None) -> list[CellSeries]:
    """Every cell's samples of a telemetry file, in order of first appearance; a one-line `DataError`
    naming the file, row and column for anything that cannot be accepted."""
    where = str(path)
    names = header(path)
    missing = [c for c in REQUIRED if c not in names]
    if names and missing:
        raise DataError(
            Issue(
                where, f"telemetry needs column {missing[0]} (found: {', '.join(names)})", column=missing[0]
            )
        )
    frame = read_table(path, REQUIRED, NUMERIC)
    frame = frame.with_columns([number_column(frame, name, where) for name in NUMERIC])
    frame = frame.with_columns([text_column(frame, key, where) for key in KEYS])
    cells, dropped = [], 0
    for part in frame.partition_by(list(KEYS), maintain_order=True):
        if bool((part["unix_time_second"].diff() <= 0).any()):  # out of order here: a repeat, or refused
            kept = part.unique(subset=list(REQUIRED), keep="first", maintain_order=True)
            part, dropped = kept, dropped + part.height - kept.height
        cells.append(_cell(part, where))
    if dropped and repairs is not None:
        repairs.append(Repair("duplicate_rows", "telemetry rows repeated exactly were dropped", dropped))
    return cells


def _cell(part: pl.DataFrame, where: str) -> CellSeries:
    pack, cell = str(part["pack_id"][0]), str(part["cell_id"][0])
    t = part["unix_time_second"].to_numpy()
    back = np.flatnonzero(np.diff(t) <= 0)
    if back.size:
        k = int(back[0]) + 1
        how = "the same time as" if t[k] == t[k - 1] else "earlier than"
        raise DataError(
            Issue(
                where,
                f"pack {pack} cell {cell}: a sample at {how} this cell's previous one (row {part[ROW][k - 1]})",
                row=int(part[ROW][k]),
                column="unix_time_second",
            )
        )
    frame = pl.DataFrame(
        {
            "test_time_second": t - t[0],
            "unix_time_second": t,
            "voltage_volt": part["voltage_volt"],
            "current_ampere": part["current_ampere"],
            "temperature_t1_celsius": part["temperature_celsius"],
        }
    )
    return CellSeries(pack, cell, frame)
