"""Panasonic 18650PF data set (Kollmeyer, U. Wisconsin): MATLAB v5 files holding a struct `meas`.

Fields TimeStamp, Time (s), Voltage (V), Current (A, charge > 0 as bmts), Ah and Wh (the cycler's
net counters, reset at the start of each file), Power, Battery_Temp_degC, Chamber_Temp_degC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
import scipy.io

from bmts.ingest.base import Chunk
from bmts.schema import DataError, Issue, Repair

MAT_MAGIC = b"MATLAB 5.0 MAT-file"
#: struct field -> canonical name
FIELDS = {
    "Time": "test_time_second",
    "Voltage": "voltage_volt",
    "Current": "current_ampere",
    "Ah": "net_capacity_ah",
    "Wh": "net_energy_wh",
    "Power": "power_watt",
    "Battery_Temp_degC": "temperature_t1_celsius",
    "Chamber_Temp_degC": "ambient_temperature_celsius",
}
TIMESTAMP_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p")


def _unix(stamp: str) -> float | None:
    for fmt in TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(stamp.strip(), fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


class PanasonicMatReader:
    """`meas` structs of the Panasonic 18650PF data set."""

    name: ClassVar[str] = "panasonic_mat"
    extensions: ClassVar[tuple[str, ...]] = (".mat",)

    def sniff(self, path: Path, head: bytes) -> float:
        if not head.startswith(MAT_MAGIC):
            return 0.0
        return 0.9 if b"meas" in head[:4096] or b"Battery_Temp" in head else 0.5

    def read(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        try:
            content = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
        except Exception as e:
            raise DataError(
                Issue(str(path), f"unreadable MAT file: {str(e).splitlines()[0][:100]}")
            ) from None
        meas = content.get("meas")
        if meas is None or not hasattr(meas, "_fieldnames"):
            raise DataError(Issue(str(path), "MAT file without a 'meas' struct (not Panasonic 18650PF data)"))
        missing = [f for f in ("Time", "Voltage", "Current") if f not in meas._fieldnames]
        if missing:
            raise DataError(Issue(str(path), f"'meas' lacks field(s) {', '.join(missing)}"))
        n = np.atleast_1d(meas.Time).size
        columns: dict[str, np.ndarray] = {}
        for field, name in FIELDS.items():
            if field in meas._fieldnames:
                values = np.atleast_1d(np.asarray(getattr(meas, field), dtype=np.float64))
                if values.size != n:
                    raise DataError(
                        Issue(
                            str(path), f"field {field} has {values.size} values, Time has {n}", column=field
                        )
                    )
                columns[name] = values
        stamps = np.atleast_1d(getattr(meas, "TimeStamp", np.array([])))
        if stamps.size == n and n:
            start = _unix(str(stamps[0]))
            if start is not None:
                columns["unix_time_second"] = (
                    start + columns["test_time_second"] - columns["test_time_second"][0]
                )
        yield Chunk(pl.DataFrame(columns), 1)
