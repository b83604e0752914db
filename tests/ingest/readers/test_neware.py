"""NewareReader on .nda (version 29) and .ndax files built byte by byte as NewareNDA decodes them."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from bmts.ingest.readers.neware import NewareReader, canonical
from bmts.schema import DataError, Repair

START = datetime(2024, 3, 1, 10, 0, 0)
STATUS = {"Rest": 4, "CC_Chg": 1, "CC_DChg": 2}
RANGE = 1000  # NewareNDA's multiplier for this range is 0.1: raw current = mA * 10, raw charge = mAs * 10
DT = 10
#: (status, current mA, duration s): two cycles of charge / discharge with rests
PROFILE = [
    ("Rest", 0, 60),
    ("CC_Chg", 1000, 1800),
    ("Rest", 0, 300),
    ("CC_DChg", -2000, 900),
    ("CC_Chg", 1000, 600),
    ("CC_DChg", -2000, 300),
]


def _samples() -> list[dict[str, Any]]:
    """One record every DT s; Neware's Time and capacity counters restart at every step."""
    rows, t0, index = [], 0.0, 1
    for step, (status, ma, duration) in enumerate(PROFILE, start=1):
        for n in range(1, duration // DT + 1):
            tau = n * DT
            v = 3.7 + 0.0004 * ma * tau / 3600 + 0.00005 * ma
            cap = abs(ma) * tau / 3600
            rows.append(
                dict(
                    index=index,
                    step=step,
                    status=status,
                    tau=tau,
                    t=t0 + tau,
                    ma=ma,
                    v=v,
                    cap=cap,
                    temp=25.0 + 0.5 * (ma != 0),
                )
            )
            index += 1
        t0 += duration
    return rows


def _record_fields(r: dict, stored_ma: float) -> tuple[int, int, int, int, list[int], tuple[int, ...]]:
    q = lambda mah: round(mah * 3600 / 0.1)  # noqa: E731
    chg, dchg = (r["cap"], 0.0) if r["ma"] > 0 else (0.0, r["cap"] if r["ma"] < 0 else 0.0)
    ts = START + timedelta(seconds=r["t"])
    return (
        round(r["tau"] * 1000),  # step time, ms
        round(r["v"] * 10000),  # 0.1 mV
        round(stored_ma * 10),
        STATUS[r["status"]],
        [q(chg), q(dchg), q(chg * r["v"]), q(dchg * r["v"])],
        (ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second),
    )


def build_nda(rows: list[dict], stored_sign: bool = True) -> bytes:
    """NDA version 29: 'NEWARE' magic, version byte at 14, then 86-byte data (0x55) and aux (0x65) records."""
    header = bytearray(1024)
    header[0:6], header[14] = b"NEWARE", 29
    data, aux = [], []
    for r in rows:
        time_ms, volt, cur, status, caps, date = _record_fields(r, r["ma"] if stored_sign else abs(r["ma"]))
        rec = bytearray(86)
        rec[0:2] = b"\x55\x00"
        struct.pack_into("<IIHB", rec, 2, r["index"], 0, r["step"], status)
        struct.pack_into("<Qii", rec, 14, time_ms, volt, cur)
        struct.pack_into("<qqqq", rec, 38, *caps)
        struct.pack_into("<HBBBBB", rec, 70, *date)
        struct.pack_into("<i", rec, 78, RANGE)
        data.append(bytes(rec))
        a = bytearray(86)
        a[0] = 0x65
        struct.pack_into("<BI", a, 1, 1, r["index"])  # aux channel 1
        struct.pack_into("<h", a, 34, round(r["temp"] * 10))
        aux.append(bytes(a))
    # the parser locates the data by two consecutive data records, so aux records start after the second
    body = (
        data[0] + data[1] + aux[0] + aux[1] + b"".join(d + a for d, a in zip(data[2:], aux[2:], strict=True))
    )
    return bytes(header) + body


def build_ndax(rows: list[dict]) -> bytes:
    """A zip holding data.ndc, ndc version 2 / file type 1: 94-byte records after a 517-byte header."""
    ndc = bytearray(517)
    ndc[0], ndc[2] = 1, 2
    for r in rows:
        time_ms, volt, cur, status, caps, date = _record_fields(r, r["ma"])
        rec = bytearray(94)
        rec[0:8] = b"\x55\x00\x5e\x00\xa7\x3c\x00\x00"  # record marker, identical in every record
        struct.pack_into("<IIBB", rec, 8, r["index"], 0, r["step"], status)
        struct.pack_into("<Qii", rec, 23, time_ms, volt, cur)
        struct.pack_into("<qqqq", rec, 43, *caps)
        struct.pack_into("<HBBBBB", rec, 75, *date)
        struct.pack_into("<i", rec, 82, RANGE)
        ndc += rec
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(
            "VersionInfo.xml",
            '<?xml version="1.0"?><root><config><ZwjVersion SvrVer="8.0" '
            'CurrClientVer="8.0" ZwjVersion="1" MainXwjVer="1"/></config></root>',
        )
        zf.writestr("data.ndc", bytes(ndc))
    return buffer.getvalue()


def _read(path: Path) -> tuple[pl.DataFrame, list[Repair]]:
    repairs: list[Repair] = []
    frame = pl.concat([c.frame for c in NewareReader().read(path, repairs)])
    return frame, repairs


@pytest.fixture
def nda(tmp_path: Path) -> Path:
    path = tmp_path / "cell.nda"
    path.write_bytes(build_nda(_samples()))
    return path


def _integral_ah(step: pl.DataFrame) -> float:
    t, i = step["test_time_second"].to_numpy(), step["current_ampere"].to_numpy()
    return float(np.sum((i[1:] + i[:-1]) / 2 * np.diff(t))) / 3600


def test_nda_units_sign_time_and_temperature(nda: Path) -> None:
    frame, repairs = _read(nda)
    rows = _samples()
    assert frame.height == len(rows) and repairs == []
    t = frame["test_time_second"].to_numpy()
    assert np.all(np.diff(t) > 0)  # step times rebuilt into one increasing test time
    assert t.tolist() == pytest.approx([r["t"] for r in rows])
    assert frame["step_time_second"].to_list() == pytest.approx([r["tau"] for r in rows])
    discharge = frame.filter(pl.col("step_count") == 4)
    assert discharge["current_ampere"].to_list() == pytest.approx([-2.0] * discharge.height)  # -2000 mA
    assert frame.filter(pl.col("step_count") == 2)["current_ampere"].min() == pytest.approx(1.0)
    assert frame["temperature_t1_celsius"].to_list() == pytest.approx([r["temp"] for r in rows])
    unix0 = START.replace(tzinfo=UTC).timestamp()
    assert (frame["unix_time_second"] - frame["test_time_second"]).to_list() == pytest.approx(
        [unix0] * len(rows)
    )
    assert frame["cycle_count"].unique().sort().to_list() == [
        1,
        2,
    ]  # new cycle at the charge after a discharge
    assert frame["record_index"].to_list() == [r["index"] for r in rows]


@pytest.mark.parametrize("step", [2, 4, 5, 6])
def test_nda_current_integral_matches_capacity_counter(nda: Path, step: int) -> None:
    frame, _ = _read(nda)
    s = frame.filter(pl.col("step_count") == step)
    counter = "charging_capacity_ah" if s["current_ampere"][0] > 0 else "discharging_capacity_ah"
    counted = s[counter][-1] - s[counter][0]  # mAh -> Ah
    assert abs(_integral_ah(s)) == pytest.approx(counted, rel=0.005)
    assert np.sign(_integral_ah(s)) == np.sign(s["current_ampere"][0])


def test_nda_with_unsigned_discharge_current_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "unsigned.nda"
    path.write_bytes(build_nda(_samples(), stored_sign=False))
    frame, repairs = _read(path)
    assert [(r.kind, r.rows) for r in repairs] == [("current_sign", 90 + 30)]
    assert frame.filter(pl.col("step_count") == 4)["current_ampere"].max() == pytest.approx(-2.0)


def test_ndax(tmp_path: Path) -> None:
    path = tmp_path / "cell.ndax"
    path.write_bytes(build_ndax(_samples()))
    frame, _ = _read(path)
    assert frame.height == len(_samples())
    assert np.all(np.diff(frame["test_time_second"].to_numpy()) > 0)
    s = frame.filter(pl.col("step_count") == 4)
    assert s["current_ampere"].to_list() == pytest.approx([-2.0] * s.height)
    assert abs(_integral_ah(s)) == pytest.approx(
        s["discharging_capacity_ah"][-1] - s["discharging_capacity_ah"][0], rel=0.005
    )


def test_time_that_never_restarts_is_kept_as_test_time() -> None:
    raw = pl.DataFrame(
        {
            "Index": [1, 2, 3, 4],
            "Cycle": [1, 1, 1, 1],
            "Step": [1, 1, 2, 2],
            "Step_Index": [1, 1, 2, 2],
            "Status": ["CC_Chg", "CC_Chg", "CC_DChg", "CC_DChg"],
            "Time": [10.0, 20.0, 30.0, 40.0],
            "Voltage": [3.9, 4.0, 3.8, 3.7],
            "Current(mA)": [500.0, 500.0, -500.0, -500.0],
        }
    )
    out = canonical(raw, "x.nda", [])
    assert out["test_time_second"].to_list() == [10.0, 20.0, 30.0, 40.0]
    assert "step_time_second" not in out.columns
    assert out["current_ampere"].to_list() == [0.5, 0.5, -0.5, -0.5]


def test_garbage_is_a_data_error_not_a_crash(tmp_path: Path) -> None:
    cases = {
        "noise.nda": os.urandom(5000),
        "magic_noise.nda": b"NEWARE" + os.urandom(5000),
        "no_records.nda": b"NEWARE" + bytes(8) + bytes([29]) + bytes(2000),
        "empty.nda": b"",
        "other.ndax": b"PK\x03\x04" + os.urandom(300),
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(DataError) as err:
            _read(path)
        assert name in str(err.value) and "\n" not in str(err.value), name


def test_sniff(tmp_path: Path, nda: Path) -> None:
    reader = NewareReader()
    ndax = tmp_path / "cell.ndax"
    ndax.write_bytes(build_ndax(_samples()[:5]))
    assert reader.sniff(nda, nda.read_bytes()[:65536]) > 0.9
    assert reader.sniff(ndax, ndax.read_bytes()[:65536]) > 0.9
    plain_zip = tmp_path / "book.xlsx"
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    others = {
        "maccor.txt": b"Today's Date\t04/15/2019\nRec#\tCyc#\tStep\tTest (Sec)\tAmps\tVolts\tState\n"
        b"1\t0\t1\t0\t0\t3.4\tR\n",
        "cell.mpt": b"EC-Lab ASCII FILE\r\nNb header lines : 3\r\n",
        "cell.mpr": b"BIO-LOGIC MODULAR FILE\x1a" + bytes(100),
        "noise.nda": os.urandom(4096),
    }
    for name, head in others.items():
        path = tmp_path / name
        path.write_bytes(head)
        assert reader.sniff(path, head) == 0.0, name
    assert reader.sniff(plain_zip, plain_zip.read_bytes()) == 0.0
