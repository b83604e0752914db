"""MaccorReader on MIMS text exports written in the tests (two header variants seen in the wild)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bmts.ingest.readers.maccor import MaccorReader
from bmts.schema import DataError, Repair

START = datetime(2019, 3, 25, 16, 31, 45)
#: (state, current magnitude A, duration s, logging interval s): long rest, charge, rest, discharge
PROFILE = [("R", 0.0, 90000, 3600), ("C", 1.0, 1800, 10), ("R", 0.0, 300, 30), ("D", 2.0, 900, 10)]


def _samples() -> list[dict]:
    """Records as Maccor logs them: current magnitude + State, Amp-hr/Watt-hr restarting each step."""
    rows, t0, rec = [], 0, 1
    for step, (state, amps, duration, every) in enumerate(PROFILE, start=1):
        sign = {"C": 1, "D": -1}.get(state, 0)
        for tau in range(0 if step == 1 else every, duration + 1, every):
            volts = 3.6 + sign * (0.2 + 0.3 * tau / duration)
            rows.append(
                dict(
                    rec=rec,
                    step=step,
                    t=t0 + tau,
                    tau=tau,
                    ah=amps * tau / 3600,
                    wh=amps * tau / 3600 * volts,
                    amps=amps,
                    volts=volts,
                    state=state,
                )
            )
            rec += 1
        t0 += duration
    return rows


def _clock(seconds: float) -> str:
    days, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"  {int(days)}d {int(h):02d}:{int(m):02d}:{s:g}"


def export_mims(rows: list[dict]) -> str:
    """Three header lines, TestTime as 'Nd hh:mm:ss', Aux columns with unit columns, trailing tab."""
    lines = [
        "Today's Date:\t14 December 2020\tDate of Test:\t25 March 2019, 4:31:45 PM",
        "Filename:\tNMC_Validation_25deg_01\tTester Channel:\t1",
        "Procedure:\tNMC_Validation.000\tDescription:\t",
        "Rec#\tCyc#\tStep\tTestTime\tStepTime\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\tES\tDPt Time\t"
        "ACImp/Ohms\tDCIR/Ohms\tAux #1\t Units\t",
    ]
    for r in rows:
        stamp = (START + timedelta(seconds=r["t"])).strftime("%m/%d/%Y %H:%M:%S")
        lines.append(
            f"{r['rec']}\t0\t{r['step']}\t{_clock(r['t'])}\t{_clock(r['tau'])}\t{r['ah']:.5f}\t{r['wh']:.5f}\t"
            f"{r['amps']:.5f}\t{r['volts']:.5f}\t{r['state']}\t1\t{stamp}\t0.00000\t0.00000\t24.91\t C  \t"
        )
    return "\r\n".join(lines) + "\r\n"


def export_seconds(rows: list[dict], decimal_comma: bool = False) -> str:
    """One header line, 'Test (Sec)' in seconds with thousands separators, 12 h clock, Temp 1."""
    lines = [
        "Today's Date 04/15/2019\tDate of Test: 03/25/2019\tFilename: C:\\Data\\MIMS\\Backup\\cell-104.001\t"
        "Procedure: Form.000\tComment/Barcode: NMC811 vs graphite, 3.0-4.3V",
        "Rec#\tCyc#\tStep\tTest (Sec)\tStep (Sec)\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\tES\tDPt Time\tTemp 1",
    ]
    for r in rows:
        stamp = (START + timedelta(seconds=r["t"])).strftime("%m/%d/%Y %I:%M:%S %p").replace(" 0", " ")
        test = f"{r['t']:,.2f}"
        fields = [
            r["rec"],
            0,
            r["step"],
            test,
            f"{r['tau']:.2f}",
            f"{r['ah']:.6f}",
            f"{r['wh']:.6f}",
            f"{r['amps']:.4f}",
            f"{r['volts']:.4f}",
            r["state"],
            1,
            stamp,
            "25.10",
        ]
        line = "\t".join(str(f) for f in fields)
        if decimal_comma:
            line = line.replace(",", "").replace(".", ",")
        lines.append(line)
    return "\n".join(lines) + "\n"


def _read(path: Path, reader: MaccorReader | None = None) -> tuple[pl.DataFrame, list[Repair]]:
    repairs: list[Repair] = []
    chunks = list((reader or MaccorReader()).read(path, repairs))
    return pl.concat([c.frame for c in chunks]), repairs


def _write(tmp_path: Path, text: str, name: str = "cell.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    return path


def _integral_ah(step: pl.DataFrame) -> float:
    t, i = step["test_time_second"].to_numpy(), step["current_ampere"].to_numpy()
    return float(np.sum((i[1:] + i[:-1]) / 2 * np.diff(t))) / 3600


@pytest.mark.parametrize("variant", ["mims", "seconds", "decimal_comma"])
def test_sign_capacity_split_and_time(tmp_path: Path, variant: str) -> None:
    rows = _samples()
    text = {"mims": export_mims, "seconds": export_seconds}.get(variant, lambda r: export_seconds(r, True))(
        rows
    )
    frame, repairs = _read(_write(tmp_path, text))
    assert frame.height == len(rows) and repairs == []
    t = frame["test_time_second"].to_numpy()
    assert t.tolist() == pytest.approx([r["t"] for r in rows])  # incl. '1d 01:00:00' and '90,000.00'
    assert np.all(np.diff(t) > 0)
    charge, discharge = (frame.filter(pl.col("step_id") == k) for k in (2, 4))
    assert charge["current_ampere"].to_list() == pytest.approx([1.0] * charge.height)
    assert discharge["current_ampere"].to_list() == pytest.approx([-2.0] * discharge.height)
    assert frame.filter(pl.col("step_id") == 3)["current_ampere"].to_list() == [0.0] * 10
    # the integral of the signed current over a step equals Maccor's own Amp-hr counter
    counted = charge["charging_capacity_ah"][-1] - charge["charging_capacity_ah"][0]
    assert _integral_ah(charge) == pytest.approx(counted, rel=0.005)
    counted = discharge["discharging_capacity_ah"][-1] - discharge["discharging_capacity_ah"][0]
    assert -_integral_ah(discharge) == pytest.approx(counted, rel=0.005)
    assert charge["discharging_capacity_ah"].null_count() == charge.height
    assert discharge["charging_capacity_ah"].null_count() == discharge.height
    assert discharge["discharging_energy_wh"][-1] == pytest.approx(rows[-1]["wh"], rel=1e-3)
    unix0 = START.replace(tzinfo=UTC).timestamp()
    assert (frame["unix_time_second"] - frame["test_time_second"]).to_list() == pytest.approx(
        [unix0] * len(rows)
    )
    assert frame["record_index"].to_list() == [r["rec"] for r in rows]


def test_chunks_carry_file_line_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, export_mims(_samples()))
    reader = MaccorReader()
    reader.block_size = 4096
    chunks = list(reader.read(path, []))
    assert len(chunks) > 3
    for chunk in chunks:  # 4 header lines: record n is on line n + 4
        assert chunk.first_row == chunk.frame["record_index"][0] + 4
    assert pl.concat([c.frame for c in chunks]).height == len(_samples())


def test_temperature_column(tmp_path: Path) -> None:
    frame, _ = _read(_write(tmp_path, export_seconds(_samples())))
    assert frame["temperature_t1_celsius"].unique().to_list() == [25.1]


def test_bad_value_names_line_and_column(tmp_path: Path) -> None:
    lines = export_seconds(_samples()).split("\n")
    fields = lines[30].split("\t")
    fields[7] = "1.0O00"
    lines[30] = "\t".join(fields)
    path = _write(tmp_path, "\n".join(lines))
    with pytest.raises(DataError) as err:
        _read(path)
    assert (err.value.issue.row, err.value.issue.column) == (31, "Amps")
    assert "cell.txt" in str(err.value)


def test_ragged_row_is_a_data_error_with_its_line(tmp_path: Path) -> None:
    lines = export_seconds(_samples()).split("\n")
    lines[40] = "\t".join(lines[40].split("\t")[:5])
    with pytest.raises(DataError) as err:
        _read(_write(tmp_path, "\n".join(lines)))
    assert err.value.issue.row == 41


def test_missing_header_and_missing_current(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no Maccor column header"):
        _read(_write(tmp_path, "Today's Date\t04/15/2019\nsome\tother\ttable\n1\t2\t3\n"))
    with pytest.raises(DataError, match="no Maccor column header"):
        _read(_write(tmp_path, "Rec#\tCyc#\tStep\tTest (Sec)\tVolts\n1\t0\t1\t0\t3.4\n"))


def test_sniff(tmp_path: Path) -> None:
    reader = MaccorReader()
    for text in (export_mims(_samples()[:3]), export_seconds(_samples()[:3])):
        assert reader.sniff(tmp_path / "x.txt", text.encode("latin-1")) >= 0.9
    others = {
        "cell.mpt": b"EC-Lab ASCII FILE\r\nNb header lines : 4\r\n\r\nmode\ttime/s\tEwe/V\tI/mA\r\n"
        b"1\t0\t3.4\t0\r\n",
        "cell.mpr": b"BIO-LOGIC MODULAR FILE\x1a" + bytes(100),
        "cell.nda": b"NEWARE" + bytes(200),
        "cell.ndax": b"PK\x03\x04" + bytes(200),
        "arbin.csv": b"Data_Point,Test_Time(s),Step_Index,Cycle_Index,Current(A),Voltage(V)\n1,0,1,1,0,3.4\n",
        "generic.csv": b"Time,Voltage,Current,State\n0,3.4,0,R\n",
        "noise.txt": os.urandom(4096),
    }
    for name, head in others.items():
        assert reader.sniff(tmp_path / name, head) == 0.0, name
