"""Pack telemetry (SPEC input): read, checked and split per cell; bad rows named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bmts.ingest.telemetry import is_telemetry, read_telemetry
from bmts.schema import DataError, Repair

HEADER = "pack_id,cell_id,unix_time_second,voltage_volt,current_ampere,temperature_celsius,soc_bms"


def _rows(n: int = 4) -> list[str]:
    """Two cells' samples, interleaved by time as a BMS logs them; an extra column the SPEC allows."""
    return [
        f"p1,{cell},{1_700_000_000 + k},{3.70 - 0.01 * k + 0.1 * c:.3f},-2.0,{25 + c},0.5"
        for k in range(n)
        for c, cell in enumerate(("c1", "c2"))
    ]


def _csv(tmp_path: Path, rows: list[str], name: str = "pack.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_cells_are_split_in_order_with_their_own_test_time(tmp_path: Path) -> None:
    cells = read_telemetry(_csv(tmp_path, _rows()))
    assert [(c.pack_id, c.cell_id) for c in cells] == [("p1", "c1"), ("p1", "c2")]
    frame = cells[1].frame
    assert frame.columns == [
        "test_time_second",
        "unix_time_second",
        "voltage_volt",
        "current_ampere",
        "temperature_t1_celsius",
    ]
    assert frame["test_time_second"].to_list() == [0.0, 1.0, 2.0, 3.0]
    assert frame["voltage_volt"].to_list() == pytest.approx([3.80, 3.79, 3.78, 3.77])
    assert frame["temperature_t1_celsius"].to_list() == [26.0] * 4


def test_parquet_reads_as_csv_does(tmp_path: Path) -> None:
    csv_path = _csv(tmp_path, _rows())
    parquet_path = tmp_path / "pack.parquet"
    pl.read_csv(csv_path).write_parquet(parquet_path)
    assert is_telemetry(parquet_path)
    for a, b in zip(read_telemetry(csv_path), read_telemetry(parquet_path), strict=True):
        assert a.cell_id == b.cell_id
        assert a.frame.equals(b.frame)


def test_one_cells_file_is_not_telemetry(tmp_path: Path) -> None:
    path = tmp_path / "cell.bdf.csv"
    path.write_text("Test Time / s,Voltage / V,Current / A\n0,3.7,0\n1,3.7,0\n")
    assert not is_telemetry(path)
    assert is_telemetry(_csv(tmp_path, _rows()))
    assert not is_telemetry(tmp_path / "missing.csv")


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "pack.csv"
    path.write_text("pack_id,cell_id,unix_time_second,voltage_volt,current_ampere\np1,c1,0,3.7,0\n")
    with pytest.raises(DataError) as e:
        read_telemetry(path)
    assert e.value.issue.column == "temperature_celsius"
    assert "pack.csv" in str(e.value)


@pytest.mark.parametrize(
    ("line", "value", "column", "message"),
    [
        (5, "3.7x", "voltage_volt", "not a number: '3.7x'"),
        (4, "", "current_ampere", "missing value"),
        (6, "nan", "temperature_celsius", "not a finite number: nan"),
        (7, "inf", "unix_time_second", "not a finite number: inf"),
    ],
)
def test_a_bad_value_is_named_by_its_line(
    tmp_path: Path, line: int, value: str, column: str, message: str
) -> None:
    rows = _rows()
    fields = rows[line - 2].split(",")
    fields[HEADER.split(",").index(column)] = value
    rows[line - 2] = ",".join(fields)
    with pytest.raises(DataError) as e:
        read_telemetry(_csv(tmp_path, rows))
    assert (e.value.issue.row, e.value.issue.column) == (line, column)
    assert message in e.value.issue.message


def test_a_cell_whose_time_goes_back_is_refused_naming_both_rows(tmp_path: Path) -> None:
    rows = _rows()
    rows[4], rows[6] = rows[6], rows[4]  # c1's samples 3 and 4 swapped (lines 6 and 8)
    with pytest.raises(DataError) as e:
        read_telemetry(_csv(tmp_path, rows))
    assert e.value.issue.row == 8
    assert "cell c1" in e.value.issue.message and "earlier than" in e.value.issue.message
    assert "(row 6)" in e.value.issue.message


def test_a_resent_row_is_dropped_and_a_conflicting_one_refused(tmp_path: Path) -> None:
    rows = _rows()
    repairs: list[Repair] = []
    cells = read_telemetry(_csv(tmp_path, [*rows[:3], rows[2], *rows[3:]]), repairs)
    assert cells[0].frame.height == 4
    assert [(r.kind, r.rows) for r in repairs] == [("duplicate_rows", 1)]
    conflicting = rows[2].replace("3.690", "3.600")
    with pytest.raises(DataError) as e:
        read_telemetry(_csv(tmp_path, [*rows[:3], conflicting, *rows[3:]]))
    assert e.value.issue.row == 5 and "the same time as" in e.value.issue.message


def test_a_row_without_a_cell_id_is_refused(tmp_path: Path) -> None:
    rows = _rows()
    rows[3] = rows[3].replace(",c2,", ",,")
    with pytest.raises(DataError) as e:
        read_telemetry(_csv(tmp_path, rows))
    assert (e.value.issue.row, e.value.issue.column) == (5, "cell_id")


def test_many_cells_keep_every_sample(tmp_path: Path) -> None:
    n, cells = 200, 12
    t = np.repeat(np.arange(n, dtype=float), cells)
    frame = pl.DataFrame(
        {
            "pack_id": ["p"] * t.size,
            "cell_id": [f"c{k:02d}" for k in range(cells)] * n,
            "unix_time_second": 1.7e9 + t,
            "voltage_volt": 3.7 - 1e-4 * t,
            "current_ampere": np.full(t.size, -1.0),
            "temperature_celsius": np.full(t.size, 20.0),
        }
    )
    frame.write_parquet(tmp_path / "fleet.parquet")
    found = read_telemetry(tmp_path / "fleet.parquet")
    assert len(found) == cells and sum(c.frame.height for c in found) == n * cells
