"""Maccor text exports (MIMS Client / MacCor Export, tab-delimited .txt).

Layout: one to a dozen free-text header lines (``Today's Date``, ``Date of Test:``, ``Filename:``,
``Procedure:`` ...), then a column header row such as ``Rec#  Cyc#  Step  Test (Sec)  Step (Sec)
Amp-hr  Watt-hr  Amps  Volts  State  ES  DPt Time ...`` and one line per record. Test and step
time are either seconds or ``"0d 00:01:30.88"`` (days, then h:m:s); numbers may carry ``,``
thousands separators (or use a decimal comma, detected from the voltage column).

Conventions converted on import:

* Maccor exports the current *magnitude* and says in ``State``/``Md`` whether the channel is
  charging (``C``) or discharging (``D``); bmts current is ``+|I|`` on C rows and ``-|I|`` on D rows.
  Rows in other states (``R`` rest, ``O``/``S`` other/stop) keep the exported value (≈ 0).
* ``Amp-hr``/``Watt-hr`` is one counter shared by charge and discharge: it goes to
  ``charging_*`` on C rows and to ``discharging_*`` on D rows, and is left empty on other rows.
* ``DPt Time`` has no time zone; it is read as UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from bmts.ingest.base import HEAD_BYTES, Chunk
from bmts.schema import TIMESERIES, DataError, Issue, Repair

_CAPACITY, _ENERGY, _STATE, _DATETIME = "_capacity", "_energy", "_state", "_datetime"

#: vendor header (compared stripped, case-insensitive) -> (canonical or internal name, scale to SI)
COLUMNS: dict[str, tuple[str, float]] = {
    "rec#": ("record_index", 1.0),
    "rec": ("record_index", 1.0),
    "cyc#": ("cycle_count", 1.0),
    "cycle": ("cycle_count", 1.0),
    "cycle c": ("cycle_count", 1.0),
    "step": ("step_id", 1.0),
    "test (sec)": ("test_time_second", 1.0),
    "testtime": ("test_time_second", 1.0),
    "test time": ("test_time_second", 1.0),
    "step (sec)": ("step_time_second", 1.0),
    "steptime": ("step_time_second", 1.0),
    "step time": ("step_time_second", 1.0),
    "amps": ("current_ampere", 1.0),
    "current [a]": ("current_ampere", 1.0),
    "current [ma]": ("current_ampere", 1e-3),
    "volts": ("voltage_volt", 1.0),
    "voltage [v]": ("voltage_volt", 1.0),
    "amp-hr": (_CAPACITY, 1.0),
    "cap. [ah]": (_CAPACITY, 1.0),
    "cap. [mah]": (_CAPACITY, 1e-3),
    "watt-hr": (_ENERGY, 1.0),
    "ener. [wh]": (_ENERGY, 1.0),
    "ener. [mwh]": (_ENERGY, 1e-3),
    "state": (_STATE, 1.0),
    "md": (_STATE, 1.0),
    "dpt time": (_DATETIME, 1.0),
    **{f"temp {i}": (f"temperature_t{i}_celsius", 1.0) for i in range(1, 6)},
}
#: headers only Maccor writes; a header row needs two of them (plus voltage and current) to count
MACCOR_TOKENS = frozenset((
    "rec#", "cyc#", "amp-hr", "watt-hr", "amps", "volts", "dpt time", "test (sec)", "step (sec)", "testtime",
    "steptime", "cap. [ah]", "ener. [wh]", "md", "es", "cycle p", "cycle c",
))  # fmt: skip
STATE_SIGN = {"C": 1.0, "D": -1.0}
REQUIRED = ("test_time_second", "voltage_volt", "current_ampere")
INTEGERS = frozenset({"record_index", "cycle_count", "step_id"})
DURATIONS = frozenset({"test_time_second", "step_time_second"})
DATETIME_FORMATS = (
    "%m/%d/%Y %H:%M:%S%.f",
    "%m/%d/%Y %I:%M:%S %p",
    "%Y-%m-%d %H:%M:%S%.f",
    "%d.%m.%Y %H:%M:%S",
)
_DURATION_RE = r"^(?:(\d+)d\s*)?(\d+):(\d+):(\d+(?:\.\d*)?)$"
_HEADER_SCAN_LINES = 200


def _split(line: str) -> list[str]:
    return line.rstrip("\r\n").split("\t" if "\t" in line else ",")


def _header_row(lines: list[str]) -> tuple[int, list[str], str] | None:
    """(0-based line index, raw column names, delimiter) of the Maccor column header row."""
    for i, line in enumerate(lines[:_HEADER_SCAN_LINES]):
        names = _split(line)
        keys = {n.strip().lower() for n in names}
        mapped = {COLUMNS[k][0] for k in keys if k in COLUMNS}
        if len(keys & MACCOR_TOKENS) >= 2 and {"voltage_volt", "current_ampere"} <= mapped:
            return i, names, "\t" if "\t" in line else ","
    return None


def _number(expr: pl.Expr, decimal_comma: bool) -> pl.Expr:
    text = expr.str.strip_chars()
    text = (
        text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
        if decimal_comma
        else (text.str.replace_all(",", "", literal=True))
    )
    return text.cast(pl.Float64, strict=False)


def _seconds(expr: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """Seconds from a plain number or from "1d 02:03:04.5" (days optional)."""
    text = expr.str.strip_chars()
    if decimal_comma:
        text = text.str.replace(",", ".", literal=True)
    parts = text.str.extract_groups(_DURATION_RE)
    field = [parts.struct.field(str(i)).cast(pl.Float64) for i in range(1, 5)]
    clock = field[0].fill_null(0.0) * 86400 + field[1] * 3600 + field[2] * 60 + field[3]
    return pl.coalesce(_number(expr, decimal_comma), clock)


class MaccorReader:
    """Maccor MIMS text exports; current sign and capacity split from the State column."""

    name: ClassVar[str] = "maccor"
    extensions: ClassVar[tuple[str, ...]] = (".txt", ".mccr", ".maccor")
    block_size: int = 16 << 20  # bytes of text per chunk

    def sniff(self, path: Path, head: bytes) -> float:
        if b"\x00" in head[:4096]:
            return 0.0
        lines = head.decode("latin-1").splitlines()
        if len(head) == HEAD_BYTES and lines:
            lines = lines[:-1]  # the last line may be cut off
        if _header_row(lines) is not None:
            return 0.9
        return 0.4 if "Date of Test" in head[:4096].decode("latin-1") else 0.0

    def read(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        file = str(path)
        try:
            with open(path, encoding="latin-1") as fh:
                lines = [line for _, line in zip(range(_HEADER_SCAN_LINES), fh, strict=False)]
        except OSError as e:
            raise DataError(Issue(file, f"cannot open: {e.strerror or e}")) from None
        found = _header_row(lines)
        if found is None:
            raise DataError(Issue(file, "no Maccor column header row (Rec#, Amps, Volts, ...) found"))
        header_index, names, delimiter = found
        mapping: dict[str, tuple[str, float]] = {}  # canonical -> (raw vendor name, scale)
        for raw in names:
            target = COLUMNS.get(raw.strip().lower())
            if target and target[0] not in mapping:
                mapping[target[0]] = (raw, target[1])
        missing = [c for c in REQUIRED if c not in mapping]
        if missing:
            raise DataError(
                Issue(file, f"Maccor header has no column for {', '.join(missing)}", header_index + 1)
            )

        bad_rows: list[int | None] = []

        def on_invalid(row: object) -> str:
            bad_rows.append(getattr(row, "number", None))
            return "error"

        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(
                    skip_rows=header_index, encoding="latin-1", block_size=self.block_size, use_threads=False
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter, quote_char=False, invalid_row_handler=on_invalid
                ),
                convert_options=pacsv.ConvertOptions(
                    include_columns=[raw for raw, _ in mapping.values()],
                    column_types={raw: pa.string() for raw, _ in mapping.values()},
                    strings_can_be_null=False,
                ),
            )
            first_row, unparsed = header_index + 2, [0]
            decimal_comma: bool | None = None
            for batch in reader:
                raw_frame = pl.from_arrow(batch)
                assert isinstance(raw_frame, pl.DataFrame)
                if raw_frame.height == 0:
                    continue
                if decimal_comma is None:
                    volts = raw_frame[mapping["voltage_volt"][0]]
                    decimal_comma = bool(volts.str.contains(",", literal=True).any())
                frame = self._canonical(raw_frame, mapping, decimal_comma, file, first_row, unparsed)
                yield Chunk(frame, first_row)
                first_row += raw_frame.height
            if unparsed[0]:
                detail = (
                    f"{mapping[_DATETIME][0].strip()}: unrecognised date format; unix_time_second left empty"
                )
                repairs.append(Repair("unparsed_timestamp", detail, unparsed[0]))
        except DataError:
            raise
        except (pa.ArrowException, OSError, ValueError) as e:
            row = bad_rows[0] if bad_rows else None
            raise DataError(Issue(file, f"malformed Maccor export: {str(e).splitlines()[0]}", row)) from None

    def _canonical(
        self,
        raw: pl.DataFrame,
        mapping: dict[str, tuple[str, float]],
        decimal_comma: bool,
        file: str,
        first_row: int,
        unparsed: list[int],
    ) -> pl.DataFrame:
        exprs: list[pl.Expr] = []
        for canon, (vendor, scale) in mapping.items():
            src = pl.col(vendor)
            if canon == _STATE:
                exprs.append(src.str.strip_chars().str.to_uppercase().alias(canon))
            elif canon == _DATETIME:
                text = src.str.strip_chars()
                parsed = pl.coalesce([text.str.to_datetime(f, strict=False) for f in DATETIME_FORMATS])
                exprs.append(parsed.alias(canon))
            else:
                parse = _seconds if canon in DURATIONS else _number
                exprs.append((parse(src, decimal_comma) * scale).alias(canon))
        out = raw.select(exprs)
        for canon, (vendor, _) in mapping.items():  # a non-empty cell that did not parse is an error
            if canon in (_STATE, _DATETIME):
                continue
            empty = raw[vendor].str.strip_chars() == ""
            bad = out[canon].is_null() & (~empty | (canon in REQUIRED))
            if bad.any():
                i = int(bad.arg_true()[0])
                value = raw[vendor][i]
                raise DataError(Issue(file, f"not a number: {value!r}", first_row + i, vendor.strip()))
        if _DATETIME in mapping:
            given = raw[mapping[_DATETIME][0]].str.strip_chars() != ""
            unparsed[0] += int((out[_DATETIME].is_null() & given).sum())  # counted into one repair
            out = out.with_columns((pl.col(_DATETIME).dt.epoch("us") / 1e6).alias("unix_time_second"))
        out = self._signed(out).with_columns(
            [pl.col(c).cast(pl.Int64, strict=False) for c in INTEGERS if c in out.columns]
        )
        return out.select([c for c in TIMESERIES if c in out.columns])

    @staticmethod
    def _signed(frame: pl.DataFrame) -> pl.DataFrame:
        """Current sign and charge/discharge counters from the State column."""
        if _STATE not in frame.columns:
            return frame
        sign = pl.col(_STATE).replace_strict(STATE_SIGN, default=None, return_dtype=pl.Float64)
        exprs = [
            pl.coalesce(pl.col("current_ampere").abs() * sign, pl.col("current_ampere")).alias(
                "current_ampere"
            )
        ]
        for internal, prefix, unit in ((_CAPACITY, "capacity", "ah"), (_ENERGY, "energy", "wh")):
            if internal in frame.columns:
                for state, kind in (("C", "charging"), ("D", "discharging")):
                    value = pl.when(pl.col(_STATE) == state).then(pl.col(internal).abs())
                    exprs.append(value.alias(f"{kind}_{prefix}_{unit}"))
        return frame.with_columns(exprs)
