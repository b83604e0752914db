"""BDF reading: both header styles, unit conversion, gzip/parquet, unsigned current, and bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bmts.ingest import detect, read_timeseries, write_bdf
from bmts.schema import DataError


def test_round_trip_through_every_flavour(tmp_path: Path, cell_frame: pl.DataFrame) -> None:
    for name in ("a.bdf.csv", "b.bdf.gz", "c.bdf.parquet"):
        path = write_bdf(cell_frame, tmp_path / name)
        assert detect(path).name == "bdf"
        back = read_timeseries(path)
        assert back.columns[:3] == ["test_time_second", "voltage_volt", "current_ampere"]
        np.testing.assert_allclose(back["current_ampere"].to_numpy(), cell_frame["current_ampere"].to_numpy())


def test_machine_names_and_labels_read_the_same(tmp_path: Path, cell_frame: pl.DataFrame) -> None:
    a = read_timeseries(write_bdf(cell_frame, tmp_path / "a.bdf.csv", labels=True))
    b = read_timeseries(write_bdf(cell_frame, tmp_path / "b.bdf.csv", labels=False))
    assert a.equals(b)


def test_other_units_are_converted(tmp_path: Path) -> None:
    path = tmp_path / "mv.bdf.csv"
    path.write_text("Test Time / min,Voltage / mV,Current / mA\n0,3700,-1000\n1,3690,-1000\n")
    frame = read_timeseries(path)
    assert frame["test_time_second"].to_list() == [0.0, 60.0]
    assert frame["voltage_volt"].to_list() == pytest.approx([3.7, 3.69])
    assert frame["current_ampere"].to_list() == pytest.approx([-1.0, -1.0])


def test_unknown_unit_is_refused_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.bdf.csv"
    path.write_text("Test Time / s,Voltage / furlong,Current / A\n0,1,1\n")
    with pytest.raises(DataError, match="furlong"):
        read_timeseries(path)


def test_unsigned_current_gets_its_sign_from_the_voltage(tmp_path: Path, cell_frame: pl.DataFrame) -> None:
    unsigned = cell_frame.with_columns(pl.col("current_ampere").abs())
    back = read_timeseries(write_bdf(unsigned, tmp_path / "u.bdf.csv"))
    truth = np.sign(cell_frame["current_ampere"].to_numpy())
    got = np.sign(back["current_ampere"].to_numpy())
    active = np.abs(cell_frame["current_ampere"].to_numpy()) > 0.05
    assert np.mean(got[active] == truth[active]) > 0.99


@pytest.mark.parametrize(
    ("text", "row", "message"),
    [
        ("Test Time / s,Voltage / V,Current / A\n0,3.7,-1\n1,3.6\n", 3, "expected 3 fields"),
        ("Test Time / s,Voltage / V,Current / A\n0,3.7,-1\n1,abc,-1\n", 3, "not a number"),
        ("Test Time / s,Voltage / V,Current / A\n0,3.7,-1\n1,,-1\n", 3, "missing"),
        ("Test Time / s,Voltage / V,Current / A\n500,3.7,-1\n400,3.6,-1\n", 3, "backwards"),
        (
            "Test Time / s,Voltage / V,Current / A\n0,3.7,-1\n1,3.7,-1\n2,3.7,-1\n3,3600,-1\n",
            5,
            "mixed units",
        ),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, text: str, row: int, message: str) -> None:
    path = tmp_path / "x.bdf.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        read_timeseries(path)
    assert info.value.issue.row == row


def test_time_reset_and_duplicates_are_repaired(tmp_path: Path) -> None:
    rows = "".join(f"{t},3.7,-1\n" for t in range(0, 300, 10))
    rows += "290,3.7,-1\n" + "".join(f"{t},3.6,-1\n" for t in range(0, 50, 10))
    path = tmp_path / "r.bdf.csv"
    path.write_text("Test Time / s,Voltage / V,Current / A\n" + rows)
    from bmts.ingest import open_source

    source = open_source(path)
    frame = pl.concat(list(source.frames()))
    t = frame["test_time_second"].to_numpy()
    assert np.all(np.diff(t) > 0)
    assert frame.height == 35
    assert {r.kind for r in source.repairs} == {"time_reset", "duplicate_rows"}


def test_gzip_truncated_is_refused(tmp_path: Path, cell_frame: pl.DataFrame) -> None:
    path = write_bdf(cell_frame, tmp_path / "t.bdf.gz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError):
        read_timeseries(path)
    assert gzip  # the format under test


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_text_encodings_of_lab_pcs(tmp_path: Path, encoding: str) -> None:
    text = (
        "Test Time / s,Voltage / V,Current / A,Surface Temperature T1 / °C\n0,3.7,-1,25.5\n10,3.69,-1,25.6\n"
    )
    path = tmp_path / "enc.bdf.csv"
    path.write_bytes(text.encode(encoding))
    frame = read_timeseries(path)
    assert frame["temperature_t1_celsius"].to_list() == [25.5, 25.6]
    assert frame["test_time_second"].to_list() == [0.0, 10.0]


def test_written_files_get_the_users_permissions_not_a_temporary_files(tmp_path: Path) -> None:
    import os

    from bmts.ingest.bdf_writer import atomic_path

    mask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "result.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(mask)
    assert (tmp_path / "result.json").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
