"""Whole CSV or Parquet tables (the SPEC's telemetry and capacity history), read as they are: a CSV as
text, so that each value can be checked and a bad one named by its line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from bmts.schema import DataError, Issue

PARQUET_MAGIC = b"PAR1"


def is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def read_table(
    path: str | Path, columns: Sequence[str] | None = None, numbers: Sequence[str] = ()
) -> tuple[pl.DataFrame, int]:
    """The table (only `columns` when given, which must exist), and the row number its first record has in
    errors (CSV: its line, after the header; Parquet: 1); a one-line `DataError` naming the file if it is
    neither. A CSV's `numbers` are parsed as numbers when every value is one (the fast path for large
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
