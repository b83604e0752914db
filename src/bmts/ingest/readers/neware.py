"""Neware BTS binary files (.nda, .ndax) through the NewareNDA library.

NewareNDA decodes the records into a pandas frame (``Index, Cycle, Step, Step_Index, Status, Time,
Voltage, Current(mA), Charge_Capacity(mAh), Discharge_Capacity(mAh), Charge_Energy(mWh),
Discharge_Energy(mWh), Timestamp`` and auxiliary ``T1``, ``T2`` ... in degC); this module maps it to
canonical columns. The format is chosen from the content (``NEWARE`` magic for .nda, a zip holding
``data.ndc`` for .ndax), not from the file name.

Conventions converted on import:

* mA, mAh and mWh are scaled to A, Ah and Wh.
* Neware stores discharge current as negative. The status string is authoritative: on ``*_Chg``
  rows current is made ``+|I|`` and on ``*_DChg`` rows ``-|I|``; rows whose stored sign disagreed
  are counted in a ``current_sign`` repair.
* Neware's ``Time`` restarts at every step (step time). Test time is rebuilt by adding the end
  times of all previous steps (steps follow each other without gaps); if ``Time`` never restarts
  at a step change it is already test time and is kept as such.
* ``Charge_Capacity``/``Discharge_Capacity`` are Neware's own counters (they restart each step).
* ``Timestamp`` is read as UTC when the file carries no time zone (.nda version 29).
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from bmts.ingest.base import Chunk
from bmts.schema import TIMESERIES, DataError, Issue, Repair

NDA_MAGIC = b"NEWARE"
ZIP_MAGIC = b"PK\x03\x04"
NDAX_MARKERS = frozenset({"data.ndc", "TestInfo.xml", "VersionInfo.xml", "Step.xml"})
_TIME, _STATUS, _TIMESTAMP = "_time", "_status", "_timestamp"

#: NewareNDA column -> (canonical or internal name, scale to SI)
COLUMNS: dict[str, tuple[str, float]] = {
    "Index": ("record_index", 1.0),
    "Cycle": ("cycle_count", 1.0),
    "Step": ("step_count", 1.0),
    "Step_Index": ("step_id", 1.0),
    "Status": (_STATUS, 1.0),
    "Time": (_TIME, 1.0),
    "Voltage": ("voltage_volt", 1.0),
    "Current(mA)": ("current_ampere", 1e-3),
    "Charge_Capacity(mAh)": ("charging_capacity_ah", 1e-3),
    "Discharge_Capacity(mAh)": ("discharging_capacity_ah", 1e-3),
    "Charge_Energy(mWh)": ("charging_energy_wh", 1e-3),
    "Discharge_Energy(mWh)": ("discharging_energy_wh", 1e-3),
    "Timestamp": (_TIMESTAMP, 1.0),
    **{f"T{i}": (f"temperature_t{i}_celsius", 1.0) for i in range(1, 6)},
}
#: status suffix -> current sign (CC_Chg, CCCV_Chg, CP_Chg ... / CC_DChg, CR_DChg, CPCV_DChg ...)
STATUS_SIGN = {"_DChg": -1.0, "_Chg": 1.0}
REQUIRED = ("Time", "Voltage", "Current(mA)")
INTEGERS = frozenset({"record_index", "cycle_count", "step_count", "step_id"})
CHUNK_ROWS = 500_000


def _kind(head: bytes, path: Path) -> str | None:
    """'nda', 'ndax' or None, from the content."""
    if head.startswith(NDA_MAGIC):
        return "nda"
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as zf:
                names = {n.rsplit("/", 1)[-1] for n in zf.namelist()}
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "data.ndc" in names or (names & NDAX_MARKERS and any(n.endswith(".ndc") for n in names)):
            return "ndax"
    return None


def _load(path: Path, kind: str) -> Any:
    """The pandas frame NewareNDA decodes; library errors become DataError."""
    from NewareNDA.NewareNDA import read_nda
    from NewareNDA.NewareNDAx import read_ndax

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library's pandas deprecation noise
            if kind == "nda":
                return read_nda(str(path), software_cycle_number=True, cycle_mode="chg")
            return read_ndax(str(path), software_cycle_number=True, cycle_mode="chg")
    except Exception as e:  # the library raises ValueError, KeyError, struct.error, EOFError ...
        detail = str(e).splitlines()[0] if str(e) else ""
        raise DataError(
            Issue(str(path), f"cannot decode Neware .{kind} file: {type(e).__name__}: {detail}")
        ) from None


def _test_time(frame: pl.DataFrame) -> pl.DataFrame:
    """test_time_second (and step_time_second) from Neware's per-step Time."""
    step = pl.col("step_count") if "step_count" in frame.columns else pl.col("step_id")
    t = pl.col(_TIME)
    new_step = step != step.shift(1)
    if frame.height and frame.select((new_step & (t < t.shift(1))).any()).item():
        last_of_step = (step != step.shift(-1)).fill_null(True)
        offset = pl.when(last_of_step).then(t).otherwise(0.0).cum_sum().shift(1).fill_null(0.0)
        return frame.with_columns((t + offset).alias("test_time_second"), t.alias("step_time_second"))
    return frame.with_columns(t.alias("test_time_second"))  # already test time; step time unknown


def canonical(raw: pl.DataFrame, file: str, repairs: list[Repair]) -> pl.DataFrame:
    """Map a frame with NewareNDA's columns to canonical names, units and current sign."""
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise DataError(Issue(file, f"Neware data has no {', '.join(missing)} column"))
    exprs = []
    for vendor, (canon, scale) in COLUMNS.items():
        if vendor not in raw.columns:
            continue
        col = pl.col(vendor)
        if canon == _STATUS:
            exprs.append(col.cast(pl.String).alias(canon))
        elif canon == _TIMESTAMP:
            exprs.append((col.dt.epoch("us") / 1e6).alias("unix_time_second"))
        else:
            exprs.append((col.cast(pl.Float64) * scale).alias(canon))
    out = raw.select(exprs)
    gaps = out.select(pl.any_horizontal(pl.col("voltage_volt", "current_ampere", _TIME).is_null()).arg_true())
    if gaps.height:
        raise DataError(Issue(file, "record without time, voltage or current", int(gaps.item(0, 0)) + 1))
    if _STATUS in out.columns:
        sign = pl.lit(None, dtype=pl.Float64)
        for suffix, value in STATUS_SIGN.items():
            sign = pl.when(pl.col(_STATUS).str.ends_with(suffix)).then(value).otherwise(sign)
        current = pl.col("current_ampere")
        flipped = int(out.select(((current * sign) < 0).sum()).item())
        if flipped:
            repairs.append(
                Repair("current_sign", "current sign set from the Neware status (Chg +, DChg -)", flipped)
            )
        out = out.with_columns(pl.coalesce(current.abs() * sign, current).alias("current_ampere"))
    out = _test_time(out).with_columns(
        [pl.col(c).cast(pl.Int64, strict=False) for c in INTEGERS if c in out.columns]
    )
    return out.select([c for c in TIMESERIES if c in out.columns])


class NewareReader:
    """Neware .nda (versions 29 and 130) and .ndax, as far as NewareNDA decodes them."""

    name: ClassVar[str] = "neware"
    extensions: ClassVar[tuple[str, ...]] = (".nda", ".ndax")

    def sniff(self, path: Path, head: bytes) -> float:
        return 0.95 if _kind(head, path) else 0.0

    def read(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        file = str(path)
        try:
            with open(path, "rb") as fh:
                head = fh.read(16)
        except OSError as e:
            raise DataError(Issue(file, f"cannot open: {e.strerror or e}")) from None
        kind = _kind(head, path)
        if kind is None:
            raise DataError(Issue(file, "not a Neware .nda/.ndax file (no NEWARE magic, not an .ndax zip)"))
        library_log = logging.getLogger("newarenda")
        if not library_log.handlers:  # its errors surface as DataError, not as stray stderr lines
            library_log.addHandler(logging.NullHandler())
        df = _load(path, kind)
        if len(df) == 0:
            raise DataError(Issue(file, f"Neware .{kind} file holds no data records"))
        wanted = [c for c in COLUMNS if c in df.columns]
        try:
            raw = pl.from_pandas(df[wanted])
        except Exception as e:
            raise DataError(Issue(file, f"cannot convert Neware data: {type(e).__name__}: {e}")) from None
        frame = canonical(raw, file, repairs)
        for start in range(0, frame.height, CHUNK_ROWS):
            yield Chunk(frame.slice(start, CHUNK_ROWS), start + 1)
