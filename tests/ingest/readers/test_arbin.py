"""Arbin workbooks (bmts.ingest.readers.arbin): XLSX and the legacy XLS read to the same canonical frame."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import xlwt

from bmts.ingest import detect, read_timeseries
from bmts.schema import DataError

HEADER = ["Data_Point", "Test_Time(s)", "Date_Time", "Step_Index", "Cycle_Index", "Current(A)", "Voltage(V)"]


def rows(n: int = 40, start: int = 0) -> list[list[object]]:
    """A rest, then a 1.1 A discharge, logged every 30 s at the end of each interval (as Arbin does)."""
    t0 = datetime(2010, 10, 8, 14, 29, 15)
    out: list[list[object]] = []
    for k in range(start, start + n):
        discharging = k >= 10
        out.append(
            [k + 1, 30.0 * (k + 1), t0 + timedelta(seconds=30 * (k + 1)), 7 if discharging else 6, 1,
             -1.1 if discharging else 0.0, 4.1 - 0.01 * max(k - 9, 0)]
        )  # fmt: skip
    return out


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "Info"  # type: ignore[union-attr]
    for name, data in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(HEADER)
        for row in data:
            sheet.append(row)
    book.save(path)
    return path


def write_xls(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = xlwt.Workbook()
    book.add_sheet("Info").write(0, 0, "Arbin")
    dates = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    for name, data in sheets.items():
        sheet = book.add_sheet(name)
        for j, head in enumerate(HEADER):
            sheet.write(0, j, head)
        for i, row in enumerate(data, start=1):
            for j, value in enumerate(row):
                sheet.write(i, j, value, dates if isinstance(value, datetime) else xlwt.Style.default_style)
    book.save(str(path))
    return path


WRITERS = {"xlsx": write_xlsx, "xls": write_xls}


@pytest.mark.parametrize("suffix", WRITERS)
def test_a_workbook_reads_as_one_series_across_its_channel_sheets(tmp_path: Path, suffix: str) -> None:
    sheets = {"Channel_1-008": rows(), "Channel_1-008_2": rows(20, 40)}
    path = WRITERS[suffix](tmp_path / f"cell.{suffix}", sheets)
    assert detect(path).name == "arbin"
    frame = read_timeseries(path)
    assert frame.height == 60
    assert np.allclose(frame["test_time_second"].to_numpy(), 30.0 * np.arange(1, 61))
    assert frame["current_ampere"].min() == pytest.approx(-1.1)
    # Date_Time is the lab's local time, no zone in the file: read as UTC
    assert frame["unix_time_second"][0] == datetime(2010, 10, 8, 14, 29, 45, tzinfo=UTC).timestamp()


def test_xls_and_xlsx_of_the_same_rows_are_the_same_frame(tmp_path: Path) -> None:
    sheets = {"Channel_1-003": rows()}
    a = read_timeseries(write_xlsx(tmp_path / "a.xlsx", sheets))
    b = read_timeseries(write_xls(tmp_path / "b.xls", sheets))
    assert a.columns == b.columns
    for column in a.columns:
        assert np.allclose(a[column].to_numpy(), b[column].to_numpy(), equal_nan=True), column


@pytest.mark.parametrize("suffix", WRITERS)
def test_a_workbook_of_two_channels_is_refused(tmp_path: Path, suffix: str) -> None:
    path = WRITERS[suffix](tmp_path / f"two.{suffix}", {"Channel_1-003": rows(), "Channel_2-004": rows()})
    with pytest.raises(DataError, match="several channels in one workbook"):
        read_timeseries(path)


def test_a_workbook_without_channel_sheets_is_not_arbin(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "other.xls", {"Sheet1": rows()})
    with pytest.raises(DataError, match="unknown format"):
        detect(path)
