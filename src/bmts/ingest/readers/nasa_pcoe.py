"""NASA Ames PCoE battery ageing data (B0005 ...), one CSV per discharge as in the public CSV conversion.

Columns `voltage, current, temperature, current_load, voltage_load, discharge_time, ic`; the cell
current is already negative while discharging (bmts convention). The discharge number k in the file
name `dis_<k>_cap_<Ah>.csv` is the cycler's discharge counter and becomes `cycle_count`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import polars as pl

from bmts.ingest.base import Chunk
from bmts.ingest.csvio import iter_csv, open_text_head
from bmts.schema import Repair

#: NASA column -> canonical name
COLUMNS = {
    "discharge_time": "test_time_second",
    "voltage": "voltage_volt",
    "current": "current_ampere",
    "temperature": "temperature_t1_celsius",
}
SIGNATURE = ("voltage", "current", "temperature", "current_load", "voltage_load")
RATED_END_OF_DISCHARGE_VOLT = 2.7
DISCHARGE_NUMBER = re.compile(r"dis_(\d+)_", re.IGNORECASE)


class NasaPcoeReader:
    """NASA PCoE discharge CSV files."""

    name: ClassVar[str] = "nasa_pcoe"
    extensions: ClassVar[tuple[str, ...]] = (".csv",)

    def sniff(self, path: Path, head: bytes) -> float:
        text = open_text_head(path, head)
        first = [f.strip() for f in (text.splitlines()[0] if text else "").split(",")]
        return (
            0.9
            if all(s in first for s in SIGNATURE) and any(t in first for t in ("discharge_time", "time"))
            else 0.0
        )

    def attributes(self, path: Path) -> dict[str, float]:
        """NASA's capacity figure is 'battery capacity (Ahr) for discharge till 2.7V' (data set README),
        although some cells were discharged further (deep discharge); see bmts.analytics.cycles."""
        return {"end_of_discharge_voltage_volt": RATED_END_OF_DISCHARGE_VOLT}

    def read(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        m = DISCHARGE_NUMBER.search(path.name)
        numeric = {*COLUMNS, "time", "current_load", "voltage_load", "ic"}
        for frame, line in iter_csv(path, numeric):
            renamed = {k: v for k, v in COLUMNS.items() if k in frame.columns}
            if "discharge_time" not in frame.columns and "time" in frame.columns:
                renamed["time"] = "test_time_second"
            out = frame.select([pl.col(k).alias(v) for k, v in renamed.items()])
            if m:
                out = out.with_columns(pl.lit(int(m.group(1)), dtype=pl.Int64).alias("cycle_count"))
            yield Chunk(out, line)
