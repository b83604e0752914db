"""Capacity history (SPEC input): CSV or Parquet `battery_id, cycle, capacity_ah` (other columns allowed),
as `bmts soh` writes it. Read and checked; a one-line error names the row and column of a bad value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from bmts.ingest.tables import ROW, number_column, read_table, text_column
from bmts.schema import CAPACITY_HISTORY_COLUMNS, DataError, Issue

REQUIRED = tuple(c.name for c in CAPACITY_HISTORY_COLUMNS if c.required)


def read_capacity_history(path: str | Path) -> pl.DataFrame:
    """`battery_id, cycle, capacity_ah` of every row, in file order."""
    where = str(path)
    frame = read_table(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        found = ", ".join(c for c in frame.columns if c != ROW)
        raise DataError(Issue(where, f"a capacity history needs column {missing[0]} (found: {found})"))
    battery_id = text_column(frame, "battery_id", where)
    cycle = number_column(frame, "cycle", where)
    capacity = number_column(frame, "capacity_ah", where)
    for name, bad, what in (
        ("cycle", cycle < 0, "a cycle number"),
        ("capacity_ah", capacity <= 0, "a positive number"),
    ):
        if bool(bad.any()):
            k = int(np.flatnonzero(bad.to_numpy())[0])
            message = f"{frame[name][k]!r} is not {what}"
            raise DataError(Issue(where, message, row=int(frame[ROW][k]), column=name))
    return pl.DataFrame({"battery_id": battery_id, "cycle": cycle.cast(pl.Int64), "capacity_ah": capacity})


def latest_capacities(history: pl.DataFrame) -> dict[str, float]:
    """Each battery's capacity at its last cycle."""
    last = history.sort("cycle", maintain_order=True).group_by("battery_id", maintain_order=True).last()
    return dict(zip(last["battery_id"].to_list(), last["capacity_ah"].to_list(), strict=True))
