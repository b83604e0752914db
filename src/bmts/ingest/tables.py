"""Whole CSV or Parquet tables (the SPEC's telemetry and capacity history), read as they are: a CSV as
text, so that each value can be checked and a bad one named by its line (`ROW`, from `read_table`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from bmts.schema import DataError, Issue

PARQUET_MAGIC = b"PAR1"
ROW = "__row"  # each record's row in the file (CSV: its line; Parquet: from 1), for errors


def is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def read_table(
    path: str | Path, columns: Sequence[str] | None = None, numbers: Sequence[str] = ()
) -> pl.DataFrame:
    frame, first_row = _read(path, columns, numbers)
    return frame.with_row_index(ROW, offset=first_row)


def _read(
    path: str | Path, columns: Sequence[str] | None, numbers: Sequence[str]
) -> tuple[pl.DataFrame, int]:
    """The table (only `columns` when given, which must exist) with each record's row in `ROW` (CSV: its
    line, after the header; Parquet: from 1); a one-line `DataError` naming the file if it is neither. A CSV's `numbers` are parsed as numbers when every value is one (the fast path for large
    files); otherwise, like every other CSV column, they stay text for the caller to name the bad value."""
    where, p = str(path), Path(path)
    wanted = list(columns) if columns is not None else None
    try:
        if is_parquet(p):
            return pl.read_parquet(p, columns=wanted), 1
        if numbers:
            try:
                typed = {name: pl.Float64 for name in numbers}
                return pl.read_csv(p, columns=wanted, infer_schema=False, schema_overrides=typed), 2
            except pl.exceptions.ComputeError:
                pass  # a value that is not a number: read as text, so that its row can be named
        return pl.read_csv(p, columns=wanted, infer_schema=False), 2
    except OSError as e:
        raise DataError(Issue(where, f"cannot read: {e.strerror or e}")) from None
    except (pl.exceptions.PolarsError, ValueError) as e:
        raise DataError(Issue(where, f"not a CSV or Parquet table: {str(e).splitlines()[0][:100]}")) from None


def text_column(frame: pl.DataFrame, name: str, where: str) -> pl.Series:
    """A `read_table` column as stripped text; a missing or empty value is refused, naming its row."""
    values = frame[name].cast(pl.String).str.strip_chars()
    empty = np.flatnonzero((values.is_null() | (values == "")).to_numpy())
    if empty.size:
        raise DataError(Issue(where, f"no {name}", row=int(frame[ROW][int(empty[0])]), column=name))
    return values


def number_column(frame: pl.DataFrame, name: str, where: str) -> pl.Series:
    """A `read_table` column as finite numbers (Float64); a missing, non-numeric, NaN or infinite value is
    refused, naming its row."""
    column = frame[name]
    values = column.cast(pl.Float64, strict=False)
    bad = values.is_null() | ~values.is_finite()
    if bool(bad.any()):
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raw, value = column[k], values[k]
        if raw is None or str(raw).strip() == "":
            message = "missing value"
        elif value is not None:  # parsed, but NaN or infinite
            message = f"not a finite number: {str(raw).strip()}"
        else:
            message = f"not a number: {raw!r}"
        raise DataError(Issue(where, message, row=int(frame[ROW][k]), column=name))
    return values
