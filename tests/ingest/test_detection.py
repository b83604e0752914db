from __future__ import annotations

import os
from pathlib import Path

import pytest

from bmts.ingest import detect, registered_readers
from bmts.schema import DataError

BUILT_IN = {"bdf", "arbin", "maccor", "neware", "biologic", "nasa_pcoe", "panasonic_mat"}


def test_every_built_in_reader_is_registered_as_a_plugin() -> None:
    assert set(registered_readers()) >= BUILT_IN


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty file"),
        ("noise.csv", os.urandom(2048), "unknown format"),
        ("noise.nda", os.urandom(2048), "unknown format"),
        ("csv.xlsx", b"Test Time / s,Voltage / V,Current / A\n0,3.7,-1\n", "rename"),
    ],
)
def test_unrecognised_content_is_refused(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        detect(path)


def test_arbin_csv_is_detected_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "export.txt.csv"
    path.write_text(
        "Data_Point,Test_Time(s),Date_Time,Step_Index,Cycle_Index,Current(A),Voltage(V)\n"
        "1,0,2020-01-01 00:00:00,1,1,0,3.5\n2,1,2020-01-01 00:00:01,2,1,1.0,3.6\n"
    )
    assert detect(path).name == "arbin"


def test_every_registered_reader_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "readers.md").read_text()
    for name in registered_readers():
        assert f"### `{name}`" in doc, name
