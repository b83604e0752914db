"""Writing result tables where the user asked: a CSV or Parquet file, JSON or the terminal."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

from bmts.ingest.bdf_writer import write_frame


def write_table(
    table: pl.DataFrame,
    output: Path | None,
    as_json: bool,
    console: Console,
    terminal_columns: dict[str, str] | None = None,
) -> None:
    """Atomically write `table` to `output` (.parquet or CSV), or print it (the `terminal_columns`
    subset, renamed, when given: wide tables do not fit a terminal)."""
    if output is not None:
        write_frame(table, output)
        console.print(f"wrote {table.height} rows to {output}", markup=False)
    elif as_json:
        console.print(table.write_json(), markup=False, highlight=False, soft_wrap=True)
    else:
        if terminal_columns:
            table = table.select(
                [pl.col(k).alias(v) for k, v in terminal_columns.items() if k in table.columns]
            )
        console.print(rich_table(table))


def rich_table(table: pl.DataFrame) -> Table:
    """A terminal table with compact numbers and short headers."""
    view = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in table.columns:
        view.add_column(name, justify="left" if table.schema[name] == pl.String else "right", no_wrap=True)
    for row in table.iter_rows():
        view.add_row(*(_fmt(v) for v in row))
    return view


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.6g}"
    return str(value)
