"""Capacity history (SPEC input, `bmts soh` output): read and checked; the latest capacity per battery."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bmts.ingest.capacity_history import latest_capacities, read_capacity_history
from bmts.schema import DataError


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "soh.csv"
    path.write_text("battery_id,cycle,capacity_ah,soh\n" + body)
    return path


def test_the_last_cycle_gives_each_battery_its_capacity(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,2,2.40,0.96\nb,1,2.50,1.0\na,1,2.45,0.98\na,3,2.38,0.95\n")
    history = read_capacity_history(path)
    assert history.columns == ["battery_id", "cycle", "capacity_ah"] and history.height == 4
    assert latest_capacities(history) == {"a": 2.38, "b": 2.50}
    parquet = tmp_path / "soh.parquet"
    pl.read_csv(path).write_parquet(parquet)
    assert read_capacity_history(parquet).equals(history)


@pytest.mark.parametrize(
    ("body", "row", "column"),
    [
        ("a,1,2.4,1\na,2,-2.3,1\n", 3, "capacity_ah"),
        ("a,1,2.4,1\n,2,2.3,1\n", 3, "battery_id"),
        ("a,x,2.4,1\n", 2, "cycle"),
        ("a,1,,1\n", 2, "capacity_ah"),
    ],
)
def test_a_bad_row_is_named(tmp_path: Path, body: str, row: int, column: str) -> None:
    with pytest.raises(DataError) as e:
        read_capacity_history(_csv(tmp_path, body))
    assert (e.value.issue.row, e.value.issue.column) == (row, column)


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    path.write_text("cell,capacity_ah\na,2.4\n")
    with pytest.raises(DataError, match="needs column battery_id"):
        read_capacity_history(path)
