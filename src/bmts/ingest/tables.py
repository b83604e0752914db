"""Whole CSV or Parquet tables (the SPEC's telemetry and capacity history), read as they are: a CSV as
text, so that each value can be checked and a bad one named by its line."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from bmts.schema import DataError, Issue

PARQUET_MAGIC = b"PAR1"


def is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def read_table(path: str | Path) -> tuple[pl.DataFrame, int]:
    """The table, and the row number its first record has in errors (CSV: its line, after the header;
    Parquet: 1); a one-line `DataError` naming the file if it is neither."""
    where, p = str(path), Path(path)
    try:
        if is_parquet(p):
            return pl.read_parquet(p), 1
        return pl.read_csv(p, infer_schema=False), 2
    except OSError as e:
        raise DataError(Issue(where, f"cannot read: {e.strerror or e}")) from None
    except (pl.exceptions.PolarsError, ValueError) as e:
        raise DataError(Issue(where, f"not a CSV or Parquet table: {str(e).splitlines()[0][:100]}")) from None
