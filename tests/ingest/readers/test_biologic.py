"""BiologicReader on .mpr files built byte by byte (the module layout galvani parses) and .mpt text."""

from __future__ import annotations

import itertools
import os
import struct
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bmts.ingest.readers.biologic import BiologicReader
from bmts.schema import DataError, Repair

START = datetime(2024, 3, 1, 10, 0, 0)
START_UNIX = START.replace(tzinfo=UTC).timestamp()
DT = 10.0
#: (mode, current mA, duration s): rest, CC charge, rest, CC discharge
PROFILE = [(3, 0.0, 60.0), (1, 100.0, 1800.0), (3, 0.0, 300.0), (1, -200.0, 900.0)]


def _samples(profile: list[tuple[int, float, float]] = PROFILE) -> list[dict[str, float]]:
    """One sample every DT seconds; charge counters are the exact integral of the current."""
    rows, t0, q, qc, qd = [], 0.0, 0.0, 0.0, 0.0
    for ns, (mode, ma, duration) in enumerate(profile):
        n = int(duration / DT)
        for k in range(n):
            t = t0 + k * DT
            if k:
                dq = ma * DT / 3600.0
                q += dq
                qc, qd = (qc + dq, qd) if dq > 0 else (qc, qd - dq)
            v = 3.6 + 0.0005 * q + 0.001 * ma
            rows.append(dict(mode=mode, oxred=int(ma > 0), ns=ns, t=t, ma=ma, v=v, q=q, qc=qc, qd=qd, cyc=0))
        t0 += n * DT
    return rows


# ---- .mpr ---------------------------------------------------------------------------------------

MPR_MAGIC = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\x00\x00\x00\x00"
#: galvani column IDs: flags (mode, ox/red, error, control changes, Ns changes, counter inc.),
#: Ns, time/s, control/V/mA, Ewe/V, dq/mA.h, I/mA, (Q-Qo)/mA.h, cycle number, Q charge, Q discharge
COL_IDS = [1, 2, 3, 21, 31, 65, 131, 4, 5, 6, 7, 8, 13, 24, 498, 499]
RECORD = np.dtype(
    [
        ("flags", "u1"),
        ("Ns", "<u2"),
        ("time/s", "<f8"),
        ("control/V/mA", "<f4"),
        ("Ewe/V", "<f4"),
        ("dq/mA.h", "<f8"),
        ("I/mA", "<f4"),
        ("(Q-Qo)/mA.h", "<f8"),
        ("cycle number", "<f8"),
        ("Q charge/mA.h", "<f8"),
        ("Q discharge/mA.h", "<f8"),
    ]
)


def _module(short: bytes, long: bytes, data: bytes, version: int, date: bytes = b"03/01/24") -> bytes:
    """MODULE + v1 header: shortname S10, longname S25, length u4, version u4, date S8."""
    return b"MODULE" + short.ljust(10) + long.ljust(25) + struct.pack("<II", len(data), version) + date + data


def _ole(when: datetime) -> float:
    return (when - datetime(1899, 12, 30)).total_seconds() / 86400.0


def build_mpr(rows: list[dict[str, float]], *, with_current: bool = True, with_log: bool = True) -> bytes:
    ids = COL_IDS if with_current else [c for c in COL_IDS if c != 8]
    dtype = RECORD if with_current else np.dtype([f for f in RECORD.descr if f[0] != "I/mA"])
    records = np.zeros(len(rows), dtype=dtype)
    for i, r in enumerate(rows):
        records[i]["flags"] = int(r["mode"]) | (int(r["oxred"]) << 2)
        records[i]["Ns"], records[i]["time/s"], records[i]["Ewe/V"] = r["ns"], r["t"], r["v"]
        records[i]["control/V/mA"] = r["ma"] if r["mode"] != 2 else r["v"]
        records[i]["(Q-Qo)/mA.h"], records[i]["cycle number"] = r["q"], r["cyc"]
        records[i]["Q charge/mA.h"], records[i]["Q discharge/mA.h"] = r["qc"], r["qd"]
        if with_current:
            records[i]["I/mA"] = r["ma"]
    head = struct.pack("<IB", len(rows), len(ids)) + struct.pack(f"<{len(ids)}H", *ids)
    data_module = head.ljust(405, b"\x00") + records.tobytes()  # version 2: 405 header bytes
    settings = b"\x0aGalvanostatic Cycling with Potential Limitation".ljust(600, b"\x00")
    out = MPR_MAGIC + _module(b"VMP Set", b"VMP settings", settings, 0)
    out += _module(b"VMP data", b"VMP data", data_module, 2)
    if with_log:
        log = bytearray(600)
        struct.pack_into("<d", log, 465, _ole(START))
        out += _module(b"VMP LOG", b"VMP LOG", bytes(log), 0)
    return out


def _read(path: Path) -> tuple[pl.DataFrame, list[Repair]]:
    repairs: list[Repair] = []
    chunks = list(BiologicReader().read(path, repairs))
    return pl.concat([c.frame for c in chunks]), repairs


@pytest.fixture
def mpr(tmp_path: Path) -> Path:
    path = tmp_path / "cell.mpr"
    path.write_bytes(build_mpr(_samples()))
    return path


def test_galvani_parses_the_built_file(mpr: Path) -> None:
    from galvani.BioLogic import MPRfile

    with open(mpr, "rb") as fh:
        parsed = MPRfile(fh)
    assert len(parsed.data) == len(_samples())
    assert parsed.timestamp == START


def test_mpr_units_sign_and_time(mpr: Path) -> None:
    frame, repairs = _read(mpr)
    rows = _samples()
    assert frame.height == len(rows) and repairs == []
    assert np.all(np.diff(frame["test_time_second"].to_numpy()) > 0)  # strictly increasing
    charge = frame.filter(pl.col("step_id") == 1)
    discharge = frame.filter(pl.col("step_id") == 3)
    assert charge["current_ampere"].to_list() == pytest.approx([0.100] * charge.height)  # 100 mA -> 0.1 A
    assert discharge["current_ampere"].to_list() == pytest.approx([-0.200] * discharge.height)
    assert frame["voltage_volt"][0] == pytest.approx(rows[0]["v"], abs=1e-6)
    assert frame["unix_time_second"][0] == pytest.approx(START_UNIX)
    assert frame["step_count"].to_list()[-1] == 4  # four steps executed
    assert frame["record_index"].to_list() == list(range(1, frame.height + 1))


@pytest.mark.parametrize("step", [1, 3])
def test_mpr_current_integral_matches_the_files_charge_counter(mpr: Path, step: int) -> None:
    frame, _ = _read(mpr)
    s = frame.filter(pl.col("step_id") == step)
    t, i = s["test_time_second"].to_numpy(), s["current_ampere"].to_numpy()
    integral_ah = float(np.sum((i[1:] + i[:-1]) / 2 * np.diff(t))) / 3600
    counter_ah = s["net_capacity_ah"][-1] - s["net_capacity_ah"][0]  # (Q-Qo) mA.h -> Ah
    assert integral_ah == pytest.approx(counter_ah, rel=0.005)
    gauge = "charging_capacity_ah" if step == 1 else "discharging_capacity_ah"
    assert abs(integral_ah) == pytest.approx(s[gauge][-1] - s[gauge][0], rel=0.005)


def test_mpr_without_current_column_uses_control_in_cc_mode(tmp_path: Path) -> None:
    path = tmp_path / "nocurrent.mpr"
    path.write_bytes(build_mpr(_samples(), with_current=False, with_log=False))
    frame, repairs = _read(path)
    assert [r.kind for r in repairs] == ["current_from_control"]
    assert frame.filter(pl.col("step_id") == 3)["current_ampere"].to_list() == pytest.approx([-0.2] * 90)
    assert frame.filter(pl.col("step_id") == 0)["current_ampere"].to_list() == [0.0] * 6
    assert "unix_time_second" not in frame.columns  # no LOG module, no start time


def test_mpr_without_current_and_cv_rows_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cv.mpr"
    path.write_bytes(build_mpr(_samples([(1, 100.0, 60.0), (2, 20.0, 60.0)]), with_current=False))
    with pytest.raises(DataError, match="potentiostatic"):
        _read(path)


def test_corrupt_mpr_is_a_data_error(tmp_path: Path, mpr: Path) -> None:
    bad = tmp_path / "bad.mpr"
    bad.write_bytes(mpr.read_bytes()[:700])  # cut inside the data module
    with pytest.raises(DataError, match=r"bad\.mpr.*cannot decode BioLogic \.mpr"):
        _read(bad)
    odd = tmp_path / "odd.mpr"
    odd.write_bytes(MPR_MAGIC + os.urandom(300))
    with pytest.raises(DataError, match=r"odd\.mpr"):
        _read(odd)


# ---- .mpt ---------------------------------------------------------------------------------------

MPT_COLUMNS = [
    "mode",
    "ox/red",
    "error",
    "control changes",
    "Ns changes",
    "counter inc.",
    "Ns",
    "time/s",
    "control/V/mA",
    "Ewe/V",
    "I/mA",
    "dQ/C",
    "(Q-Qo)/mA.h",
    "Q charge/mA.h",
    "Q discharge/mA.h",
    "cycle number",
    "P/W",
    "Temperature/°C",
]


def build_mpt(rows: list[dict[str, float]], decimal_comma: bool = False) -> bytes:
    comments = [
        "",
        "Galvanostatic Cycling with Potential Limitation",
        "",
        "Run on channel : 1 (SN 1234)",
        "Acquisition started on : 03/01/2024 10:00:00.000",
        "Saved on :",
        "Electrode material : NMC",
        "Mass of active material : 0.001 mg",
        "Battery capacity : 100.000 mA.h",
    ]
    lines = [
        "EC-Lab ASCII FILE",
        f"Nb header lines : {len(comments) + 3}",
        *comments,
        "\t".join(MPT_COLUMNS) + "\t",
    ]
    for r in rows:
        values = [
            int(r["mode"]),
            int(r["oxred"]),
            0,
            0,
            0,
            0,
            int(r["ns"]),
            f"{r['t']:.6E}",
            f"{r['ma']:.7f}",
            f"{r['v']:.7f}",
            f"{r['ma']:.7E}",
            f"{r['q'] * 3.6:.6E}",
            f"{r['q']:.7E}",
            f"{r['qc']:.7E}",
            f"{r['qd']:.7E}",
            f"{r['cyc']:.0f}",
            f"{r['v'] * r['ma'] / 1000:.6E}",
            "25.000",
        ]
        text = "\t".join(str(v) for v in values) + "\t"
        lines.append(text.replace(".", ",") if decimal_comma else text)
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


@pytest.mark.parametrize("decimal_comma", [False, True])
def test_mpt_text_export(tmp_path: Path, decimal_comma: bool) -> None:
    path = tmp_path / "cell.mpt"
    path.write_bytes(build_mpt(_samples(), decimal_comma))
    frame, _ = _read(path)
    assert frame.height == len(_samples())
    discharge = frame.filter(pl.col("step_id") == 3)
    assert discharge["current_ampere"].to_list() == pytest.approx([-0.2] * discharge.height)
    assert (discharge["power_watt"] < 0).all()  # discharging power is negative like the current
    assert frame["temperature_t1_celsius"][0] == 25.0
    assert frame["unix_time_second"][10] == pytest.approx(START_UNIX + 100.0)
    t, i = discharge["test_time_second"].to_numpy(), discharge["current_ampere"].to_numpy()
    integral_ah = float(np.sum((i[1:] + i[:-1]) / 2 * np.diff(t))) / 3600
    counter_ah = discharge["net_capacity_ah"][-1] - discharge["net_capacity_ah"][0]
    assert integral_ah == pytest.approx(counter_ah, rel=0.005)


def test_mpt_chunks_keep_row_numbers_and_step_count(tmp_path: Path) -> None:
    path = tmp_path / "cell.mpt"
    path.write_bytes(build_mpt(_samples()))
    reader = BiologicReader()
    reader.block_size = 4096  # force many chunks
    chunks = list(reader.read(path, []))
    assert len(chunks) > 3
    assert chunks[0].first_row == 13  # 12 header lines, data from line 13
    for a, b in itertools.pairwise(chunks):
        assert a.first_row is not None and b.first_row == a.first_row + a.frame.height
    whole = pl.concat([c.frame for c in chunks])
    assert whole["step_count"].to_list() == (whole["step_id"] + 1).to_list()
    assert whole["record_index"].to_list() == list(range(1, whole.height + 1))


def test_mpt_bad_number_names_line_and_column(tmp_path: Path) -> None:
    lines = build_mpt(_samples()).decode("latin-1").split("\r\n")
    fields = lines[20].split("\t")
    fields[9] = "3.7x"
    lines[20] = "\t".join(fields)
    path = tmp_path / "bad.mpt"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    with pytest.raises(DataError) as err:
        _read(path)
    assert err.value.issue.row == 21 and err.value.issue.column == "Ewe/V"


def test_sniff(tmp_path: Path, mpr: Path) -> None:
    reader = BiologicReader()
    mpt = tmp_path / "x.mpt"
    mpt.write_bytes(build_mpt(_samples()[:5]))
    assert reader.sniff(mpr, mpr.read_bytes()[:65536]) > 0.9
    assert reader.sniff(mpt, mpt.read_bytes()) > 0.9
    others = {
        "maccor.txt": b"Today's Date\t04/15/2019\nRec#\tCyc#\tStep\tTest (Sec)\tAmps\tVolts\tState\n"
        b"1\t0\t1\t0\t0\t3.4\tR\n",
        "arbin.csv": b"Data_Point,Test_Time(s),Step_Index,Cycle_Index,Current(A),Voltage(V)\n1,0,1,1,0,3.4\n",
        "cell.nda": b"NEWARE" + bytes(200),
        "cell.ndax": b"PK\x03\x04" + bytes(200),
        "noise.mpr": os.urandom(4096),
        "empty.mpt": b"",
    }
    for name, head in others.items():
        path = tmp_path / name
        path.write_bytes(head)
        assert reader.sniff(path, head) == 0.0, name
