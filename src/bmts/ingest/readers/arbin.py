"""Arbin MITS Pro exports: CSV, and workbooks (XLSX, or the legacy XLS that Arbin's Excel add-in and
older MITS Pro versions write) with one or more `Channel_*` sheets.

Arbin's current is already positive while charging. `Date_Time` (lab local time, no zone in the
file) is stored as Unix time read as UTC. Several `Channel_*` sheets of one channel are the pieces
of one long test, concatenated in order; sheets of different channels are refused (one cell per file).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import fastexcel
import polars as pl

from bmts.ingest.base import Chunk
from bmts.ingest.csvio import header_fields, iter_csv, open_text_head
from bmts.schema import DataError, Issue, Repair

#: the first bytes of a workbook: XLSX (a zip archive) or XLS (an OLE2 compound document)
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _key(header: str) -> str:
    """Header spelling-insensitive key: 'Test_Time(s)', 'Test Time (s)' -> 'testtime(s)'."""
    return re.sub(r"[\s_]", "", header.lower())


#: Arbin header key -> (canonical name, scale)
COLUMNS: dict[str, tuple[str, float]] = {
    "datapoint": ("record_index", 1.0),
    "testtime(s)": ("test_time_second", 1.0),
    "steptime(s)": ("step_time_second", 1.0),
    "stepindex": ("step_id", 1.0),
    "cycleindex": ("cycle_count", 1.0),
    "current(a)": ("current_ampere", 1.0),
    "current(ma)": ("current_ampere", 1e-3),
    "voltage(v)": ("voltage_volt", 1.0),
    "chargecapacity(ah)": ("charging_capacity_ah", 1.0),
    "dischargecapacity(ah)": ("discharging_capacity_ah", 1.0),
    "chargeenergy(wh)": ("charging_energy_wh", 1.0),
    "dischargeenergy(wh)": ("discharging_energy_wh", 1.0),
    "internalresistance(ohm)": ("internal_resistance_ohm", 1.0),
    "power(w)": ("power_watt", 1.0),
    **{f"auxtemperature{i}(c)": (f"temperature_t{i}_celsius", 1.0) for i in range(1, 6)},
    **{f"temperature(c){i}": (f"temperature_t{i}_celsius", 1.0) for i in range(1, 6)},
}
DATE_KEYS = ("datetime",)
SIGNATURE = {"datapoint", "testtime(s)", "stepindex", "cycleindex", "voltage(v)"}
CHANNEL_SHEET = re.compile(r"^channel[_\s-]*(\d+)(?:-(\d+))?", re.IGNORECASE)


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    exprs: list[pl.Expr] = []
    for header in frame.columns:
        key = _key(header)
        if key in COLUMNS:
            name, scale = COLUMNS[key]
            expr = pl.col(header)
            if frame.schema[header] == pl.String:
                expr = expr.str.strip_chars().cast(pl.Float64, strict=False)
            exprs.append((expr.cast(pl.Float64) * scale).alias(name))
        elif key in DATE_KEYS:
            col = pl.col(header)
            if frame.schema[header] == pl.String:
                col = col.str.strip_chars().str.to_datetime(strict=False)
            exprs.append((col.cast(pl.Datetime("ms")).dt.epoch("ms") / 1000.0).alias("unix_time_second"))
    return frame.select(exprs)


class ArbinReader:
    """Arbin MITS Pro CSV, XLSX and XLS exports."""

    name: ClassVar[str] = "arbin"
    extensions: ClassVar[tuple[str, ...]] = (".csv", ".xlsx", ".xls")

    def sniff(self, path: Path, head: bytes) -> float:
        if head.startswith(WORKBOOK_MAGIC):
            try:
                sheets = fastexcel.read_excel(path).sheet_names
            except Exception:
                return 0.0
            return 0.9 if any(CHANNEL_SHEET.match(s) for s in sheets) else 0.0
        text = open_text_head(path, head)
        first = text.splitlines()[0] if text else ""
        keys = {_key(f.strip().strip('"')) for f in first.split(",")}
        return 0.85 if len(keys & SIGNATURE) >= 4 else 0.0

    def read(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        with open(path, "rb") as fh:
            workbook = fh.read(8).startswith(WORKBOOK_MAGIC)
        yield from (self._workbook(path) if workbook else self._csv(path))

    def _csv(self, path: Path) -> Iterator[Chunk]:
        numeric = {h for h in header_fields(path) if _key(h) in COLUMNS}
        for frame, line in iter_csv(path, numeric):
            yield Chunk(_canonical(frame), line)

    def _workbook(self, path: Path) -> Iterator[Chunk]:
        try:
            book = fastexcel.read_excel(path)
        except Exception as e:
            raise DataError(
                Issue(str(path), f"unreadable workbook: {str(e).splitlines()[0][:100]}")
            ) from None
        sheets = [s for s in book.sheet_names if CHANNEL_SHEET.match(s)]
        channels = {CHANNEL_SHEET.match(s).group(1, 2) for s in sheets}  # type: ignore[union-attr]
        if not sheets:
            raise DataError(Issue(str(path), "no Channel_* sheet in the workbook"))
        if len(channels) > 1:
            raise DataError(
                Issue(
                    str(path),
                    f"several channels in one workbook ({', '.join(sheets)}): export one cell per file",
                )
            )
        for sheet in sheets:
            try:
                frame = book.load_sheet_by_name(sheet).to_polars()
            except Exception as e:
                raise DataError(Issue(str(path), f"sheet {sheet}: {str(e).splitlines()[0][:100]}")) from None
            if not SIGNATURE & {_key(c) for c in frame.columns}:
                raise DataError(Issue(str(path), f"sheet {sheet} has no Arbin columns"))
            yield Chunk(_canonical(frame), 2)
