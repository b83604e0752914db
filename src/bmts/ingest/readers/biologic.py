"""BioLogic EC-Lab / BT-Lab files: binary .mpr (through galvani) and .mpt text exports.

An .mpr file starts with ``BIO-LOGIC MODULAR FILE`` and holds modules ("VMP Set", "VMP data",
optionally "VMP LOG" with the start time); an .mpt starts with ``EC-Lab ASCII FILE`` (or BT-Lab),
then ``Nb header lines : N``; line N is the tab-separated column header, and numbers may use a
decimal comma.

Assumptions about sign and units:

* EC-Lab reports current positive for oxidation at the working electrode. In battery mode the
  working electrode is the cell's positive terminal, so oxidation is charging: EC-Lab's sign is
  already bmts's (+ = charge) and is kept. ``ox/red`` is not used to re-sign it.
* mA -> A and mA.h -> Ah; ``(Q-Qo)/mA.h`` is the net charge since the start (+ while charging).
* The cell voltage is ``Ecell/V`` when present (three-electrode set-ups), else ``Ewe/V``.
* When a file has no measured current column (``I/mA``, ``<I>/mA``), current is taken from the
  control value ``control/V/mA`` on galvanostatic rows (mode 1) and 0 on rest rows (mode 3), with
  a ``current_from_control`` repair; potentiostatic rows without measured current are an error.
* The start time (``Acquisition started on`` in .mpt, the LOG module in .mpr) has no time zone; it
  is read as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from bmts.ingest.base import Chunk
from bmts.schema import TIMESERIES, DataError, Issue, Repair

MPR_MAGIC = b"BIO-LOGIC MODULAR FILE"
MPT_MAGICS = (b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE")
_CONTROL, _MODE = "_control", "_mode"

#: vendor column -> (canonical or internal name, scale to SI); the first present alias wins
COLUMNS: dict[str, tuple[str, float]] = {
    "time/s": ("test_time_second", 1.0),
    "Ecell/V": ("voltage_volt", 1.0),
    "Ewe-Ece/V": ("voltage_volt", 1.0),
    "Ewe/V": ("voltage_volt", 1.0),
    "<Ewe>/V": ("voltage_volt", 1.0),
    "<Ewe/V>": ("voltage_volt", 1.0),
    "I/mA": ("current_ampere", 1e-3),
    "<I>/mA": ("current_ampere", 1e-3),
    "I/A": ("current_ampere", 1.0),
    "control/V/mA": (_CONTROL, 1e-3),
    "mode": (_MODE, 1.0),
    "(Q-Qo)/mA.h": ("net_capacity_ah", 1e-3),
    "Q charge/mA.h": ("charging_capacity_ah", 1e-3),
    "Q discharge/mA.h": ("discharging_capacity_ah", 1e-3),
    "Energy charge/W.h": ("charging_energy_wh", 1.0),
    "Energy discharge/W.h": ("discharging_energy_wh", 1.0),
    "step time/s": ("step_time_second", 1.0),
    "Temperature/°C": ("temperature_t1_celsius", 1.0),
    "P/W": ("power_watt", 1.0),
    "cycle number": ("cycle_count", 1.0),
    "Ns": ("step_id", 1.0),
}
INTEGERS = frozenset({"cycle_count", "step_id", _MODE})
REQUIRED = ("test_time_second", "voltage_volt", "current_ampere")
MODE_CV, MODE_REST = 2, 3  # EC-Lab 'mode': 1 galvanostatic, 2 potentiostatic, 3 rest
CHUNK_ROWS = 500_000
_NB_HEADER = re.compile(r"Nb header lines\s*:\s*(\d+)")
_STARTED = re.compile(r"Acquisition started on\s*:\s*(\S+ \S+)")
START_FORMATS = ("%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M:%S", "%d.%m.%Y %H:%M:%S")


def _mapping(columns: list[str], file: str, row: int | None = None) -> dict[str, tuple[str, float]]:
    """canonical -> (vendor column, scale), first alias present wins; time and voltage required."""
    out: dict[str, tuple[str, float]] = {}
    for vendor, (canon, scale) in COLUMNS.items():
        if vendor in columns and canon not in out:
            out[canon] = (vendor, scale)
    for canon, names in (("test_time_second", "time/s"), ("voltage_volt", "Ewe/V or Ecell/V")):
        if canon not in out:
            raise DataError(Issue(file, f"no {names} column", row))
    return out


@dataclass
class _Carry:
    """What one chunk hands to the next."""

    records: int = 0
    step_count: int = 0
    last_step_id: int = -1
    from_control: int = 0  # rows whose current came from the control value

    def report(self, repairs: list[Repair]) -> None:
        if self.from_control:
            detail = "no I/mA column: current = control/V/mA on CC rows, 0 on rest rows"
            repairs.append(Repair("current_from_control", detail, self.from_control))


def _canonical(
    raw: pl.DataFrame,
    mapping: dict[str, tuple[str, float]],
    start_unix: float | None,
    carry: _Carry,
    file: str,
    first_row: int,
) -> pl.DataFrame:
    """Vendor columns (already numeric) -> canonical frame."""
    out = raw.select((pl.col(v).cast(pl.Float64) * s).alias(c) for c, (v, s) in mapping.items())
    out = out.with_columns(pl.col(c).cast(pl.Int64, strict=False) for c in INTEGERS if c in out.columns)
    if "current_ampere" not in out.columns:
        out = _current_from_control(out, file, first_row)
        carry.from_control += out.height
    if start_unix is not None:
        out = out.with_columns((pl.col("test_time_second") + start_unix).alias("unix_time_second"))
    if "step_id" in out.columns:
        sid = pl.col("step_id").forward_fill().fill_null(carry.last_step_id)
        changed = (sid != sid.shift(1, fill_value=carry.last_step_id)).cast(pl.Int64)
        out = out.with_columns((changed.cum_sum() + carry.step_count).alias("step_count"))
        carry.step_count, carry.last_step_id = int(out["step_count"][-1]), int(out.select(sid.last()).item())
    index = pl.int_range(carry.records + 1, carry.records + out.height + 1)
    out = out.with_columns(index.alias("record_index"))
    carry.records += out.height
    gaps = out.select(pl.any_horizontal(pl.col(REQUIRED).is_null()).arg_true())
    if gaps.height:
        raise DataError(Issue(file, "record without time, voltage or current", first_row + gaps.item(0, 0)))
    return out.select([c for c in TIMESERIES if c in out.columns])


def _current_from_control(out: pl.DataFrame, file: str, first_row: int) -> pl.DataFrame:
    if _CONTROL not in out.columns or _MODE not in out.columns:
        raise DataError(Issue(file, "no current column (I/mA, <I>/mA, or control/V/mA with mode)"))
    cv = out[_MODE] == MODE_CV
    if cv.any():
        row = first_row + int(cv.arg_true()[0])
        raise DataError(Issue(file, "potentiostatic row and no measured current column", row, "I/mA"))
    current = pl.when(pl.col(_MODE) == MODE_REST).then(0.0).otherwise(pl.col(_CONTROL))
    return out.with_columns(current.alias("current_ampere"))


def _start_unix(text: str) -> float | None:
    found = _STARTED.search(text)
    if not found:
        return None
    for fmt in START_FORMATS:
        try:
            return datetime.strptime(found.group(1), fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


class BiologicReader:
    """BioLogic .mpr (galvani) and .mpt text exports."""

    name: ClassVar[str] = "biologic"
    extensions: ClassVar[tuple[str, ...]] = (".mpr", ".mpt")
    block_size: int = 16 << 20  # bytes of .mpt text per chunk

    def sniff(self, path: Path, head: bytes) -> float:
        if head.startswith(MPR_MAGIC) or head.startswith(MPT_MAGICS):
            return 0.95
        return 0.0

    def read(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        try:
            with open(path, "rb") as fh:
                head = fh.read(64)
        except OSError as e:
            raise DataError(Issue(str(path), f"cannot open: {e.strerror or e}")) from None
        if head.startswith(MPR_MAGIC):
            yield from self._read_mpr(path, repairs)
        elif head.startswith(MPT_MAGICS):
            yield from self._read_mpt(path, repairs)
        else:
            raise DataError(
                Issue(str(path), "not a BioLogic file (no BIO-LOGIC MODULAR FILE / EC-Lab ASCII FILE)")
            )

    def _read_mpr(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        from galvani.BioLogic import MPRfile

        file = str(path)
        try:
            with open(path, "rb") as fh:
                mpr = MPRfile(fh)
            data = mpr.data
            columns = {n: np.ascontiguousarray(data[n]) for n in data.dtype.names if n in COLUMNS}
            columns.update({n: mpr.get_flag(n) for n in mpr.flags_dict if n in COLUMNS})
        except Exception as e:  # galvani raises ValueError, AssertionError, NotImplementedError, OSError
            detail = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise DataError(
                Issue(file, f"cannot decode BioLogic .mpr: {type(e).__name__}: {detail}")
            ) from None
        raw = pl.DataFrame(columns)
        stamp = getattr(mpr, "timestamp", None)
        start = stamp.replace(tzinfo=UTC).timestamp() if isinstance(stamp, datetime) else None
        mapping = _mapping(list(columns), file)
        if raw.height == 0:
            raise DataError(Issue(file, "BioLogic .mpr holds no data points"))
        carry = _Carry()
        for offset in range(0, raw.height, CHUNK_ROWS):
            out = _canonical(raw.slice(offset, CHUNK_ROWS), mapping, start, carry, file, offset + 1)
            yield Chunk(out, offset + 1)
        carry.report(repairs)

    def _read_mpt(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        file = str(path)
        with open(path, encoding="latin-1") as fh:
            fh.readline()
            found = _NB_HEADER.search(fh.readline())
            if not found or int(found.group(1)) < 3:
                raise DataError(Issue(file, "bad 'Nb header lines : N' line", 2))
            nb = int(found.group(1))
            header = [fh.readline() for _ in range(nb - 3)]
            names = fh.readline().rstrip("\r\n").split("\t")
        mapping = _mapping(names, file, nb)
        start = _start_unix("".join(header))
        bad_rows: list[int | None] = []

        def on_invalid(row: object) -> str:
            bad_rows.append(getattr(row, "number", None))
            return "error"

        vendors = [v for v, _ in mapping.values()]
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(
                    skip_rows=nb - 1, encoding="latin-1", block_size=self.block_size, use_threads=False
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter="\t", quote_char=False, invalid_row_handler=on_invalid
                ),
                convert_options=pacsv.ConvertOptions(
                    include_columns=vendors, column_types=dict.fromkeys(vendors, pa.string())
                ),
            )
            first_row, carry = nb + 1, _Carry()
            for batch in reader:
                text = pl.from_arrow(batch)
                assert isinstance(text, pl.DataFrame)
                if text.height == 0:
                    continue
                numbers = text.select(
                    pl.col(v)
                    .str.strip_chars()
                    .str.replace(",", ".", literal=True)
                    .cast(pl.Float64, strict=False)
                    for v in vendors
                )
                for v in vendors:
                    bad = numbers[v].is_null() & (text[v].str.strip_chars() != "")
                    if bad.any():
                        i = int(bad.arg_true()[0])
                        raise DataError(Issue(file, f"not a number: {text[v][i]!r}", first_row + i, v))
                yield Chunk(_canonical(numbers, mapping, start, carry, file, first_row), first_row)
                first_row += text.height
            carry.report(repairs)
        except DataError:
            raise
        except (pa.ArrowException, OSError, ValueError) as e:
            row = bad_rows[0] if bad_rows else None
            raise DataError(Issue(file, f"malformed .mpt: {str(e).splitlines()[0]}", row)) from None
