"""Capacity history (SPEC input): CSV or Parquet `battery_id, cycle, capacity_ah` (other columns allowed),
as `bmts soh` writes it. Read and checked; a one-line error names the row and column of a bad value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from bmts.ingest.tables import read_table
from bmts.schema import CAPACITY_HISTORY_COLUMNS, DataError, Issue

REQUIRED = tuple(c.name for c in CAPACITY_HISTORY_COLUMNS if c.required)


def read_capacity_history(path: str | Path) -> pl.DataFrame:
    """`battery_id, cycle, capacity_ah` of every row, in file order."""
    where = str(path)
    frame, first_row = read_table(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        found = ", ".join(frame.columns)
        raise DataError(Issue(where, f"a capacity history needs column {missing[0]} (found: {found})"))
    ids = frame["battery_id"].cast(pl.String).str.strip_chars()
    empty = np.flatnonzero((ids.is_null() | (ids == "")).to_numpy())
    if empty.size:
        raise DataError(Issue(where, "no battery_id", row=int(empty[0]) + first_row, column="battery_id"))
    columns = {"battery_id": ids}
    for name, dtype in (("cycle", pl.Int64), ("capacity_ah", pl.Float64)):
        raw = frame[name]
        values = raw.cast(pl.Float64, strict=False)
        bad = values.is_null() | ~values.is_finite() | (values <= 0 if name == "capacity_ah" else values < 0)
        if bool(bad.any()):
            k = int(np.flatnonzero(bad.to_numpy())[0])
            what = "a positive number" if name == "capacity_ah" else "a cycle number"
            raise DataError(Issue(where, f"{raw[k]!r} is not {what}", row=k + first_row, column=name))
        columns[name] = values.cast(dtype)
    return pl.DataFrame(columns)


def latest_capacities(history: pl.DataFrame) -> dict[str, float]:
    """Each battery's capacity at its last cycle."""
    last = history.sort("cycle", maintain_order=True).group_by("battery_id", maintain_order=True).last()
    return dict(zip(last["battery_id"].to_list(), last["capacity_ah"].to_list(), strict=True))
