"""SOC per temperature on the Panasonic 18650PF drive cycles, and a cold stress check.

`own` (default): each temperature's model from the 25 degC C/20 OCV test and that temperature's `5 pulse`
HPPC and dis5 files, as the acceptance check fits it; the cases are the acceptance check's (A: BMS-grade
sensors, seed 1, started at the true SOC; B: exact sensors, cut at the start of driving, started 30 points
low, scored after 10 min). `stress`: the 0 degC drive cycles scored with a model fitted on the 25 and
10 degC files only (the 0 degC pulse tests withheld, resistances Arrhenius-extrapolated below 10 degC) —
the closest proxy the data has for an unseen colder temperature; `stress25`: the 10 degC cycles with the
25 degC model alone (one table: the default activation temperatures); `warm`: the 10 and 25 degC cycles with
the 0 degC model alone (a cold one-table model driven 10-25 K warmer). The drive cycles are never fitted.
Usage: python benchmarks/soc_cold.py [--mode own|stress|stress25|warm] [--temps 25degC 10degC] [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from _common import SHARED_DATA, bms_sensors, machine_line, markdown_table, rmse_pct, within_two_sigma_pct
from bmts.analytics.ecm import CellModel
from bmts.analytics.soc import SocConfig, estimate_soc
from bmts.ingest import read_timeseries
from bmts.pipeline import state

C_REF = 2.9677
PAN = SHARED_DATA / "panasonic_18650pf"
TEMPS = ("25degC", "10degC", "0degC")


def characterisation(tdir: Path) -> list[Path]:
    """The acceptance check's files of one temperature: the `5 pulse` HPPC test and the dis5 discharges."""
    return sorted(tdir.glob("*pulse*/*5*ulse*HPPC*.mat"))[:1] + sorted(tdir.glob("*pulse*/*dis5*.mat"))[:1]


def drives(tdir: Path) -> list[Path]:
    return [d for d in sorted(tdir.glob("Drive*/*.mat")) if "LA92_NN" not in d.name]


def load_drive(drive: Path) -> tuple[str, tuple[np.ndarray, ...], tuple[np.ndarray, ...], float]:
    """(case, (t, v, i, cell temperature, true SOC), (BMS current, BMS voltage), start of driving): the
    BMS-grade sensors (offset 20-50 mA, gain error 0.5-1.5 %, 2 mV noise) drawn per cycle, seed 1."""
    f = read_timeseries(drive)
    t, v, i = (f[c].to_numpy() for c in ("test_time_second", "voltage_volt", "current_ampere"))
    temp = f["temperature_t1_celsius"].to_numpy()
    truth = 1 + f["net_capacity_ah"].to_numpy() / C_REF
    case = drive.stem.split(" ", 1)[-1].replace("_Pan18650PF", "")
    return case, (t, v, i, temp, truth), bms_sensors(case, 1, i, v), float(t[np.argmax(np.abs(i) > 0.05)])


def score(
    model: CellModel, drive: Path, config: SocConfig | None
) -> tuple[str, float, float, float, float, float]:
    """(case, A RMSE, B RMSE after 600 s, B RMSE in the first 600 s, throughput samples/s of case A, % of case
    A's samples within 2 soc_std)."""
    case, (t, v, i, temp, truth), (i_b, v_b), t0 = load_drive(drive)
    k = t >= t0
    started = time.perf_counter()
    est = estimate_soc(t, v_b, i_b, model, temp, 1.0, config)
    rate = t.size / (time.perf_counter() - started)
    b = estimate_soc(t[k] - t0, v[k], i[k], model, temp[k], 0.7, config)
    late = (t[k] - t0) >= 600
    cover = within_two_sigma_pct(est.soc[k], est.soc_std[k], truth[k])
    b_late, b_first = (rmse_pct(b.soc[s], truth[k][s]) for s in (late, ~late))
    return case, rmse_pct(est.soc[k], truth[k]), b_late, b_first, rate, cover


def run(
    mode: str, temps: list[str], config: SocConfig | None = None
) -> list[tuple[str, str, float, float, float]]:
    ocv = next(PAN.glob("25degC/C20*/*C20 OCV*.mat"))
    if mode == "stress":
        model = state.fit_cell_model(ocv, characterisation(PAN / "25degC") + characterisation(PAN / "10degC"))
        plan = [("0degC", model)]
    elif mode == "stress25":
        plan = [("10degC", state.fit_cell_model(ocv, characterisation(PAN / "25degC")))]
    elif mode == "warm":
        cold = state.fit_cell_model(ocv, characterisation(PAN / "0degC"))
        plan = [("10degC", cold), ("25degC", cold)]
    else:
        plan = [(name, state.fit_cell_model(ocv, characterisation(PAN / name))) for name in temps]
    rows, out, rates = [], [], []
    for name, model in plan:
        for drive in drives(PAN / name):
            case, a, b, b_first, rate, cover = score(model, drive, config)
            rows.append((name, case, f"{a:.2f}", f"{b:.2f}", f"{b_first:.2f}", f"{cover:.0f}"))
            out.append((name, case, a, b, b_first))
            rates.append(rate)
    heads = ["temperature", "cycle", "A: BMS sensors", "B: 30 points wrong, > 10 min", "B: first 10 min",
             "A within 2 soc_std %"]  # fmt: skip
    print(markdown_table(heads, rows))
    summary = []
    for name in dict.fromkeys(r[0] for r in out):
        a = np.array([r[2] for r in out if r[0] == name])
        b = np.array([r[3] for r in out if r[0] == name])
        first = np.array([r[4] for r in out if r[0] == name])
        summary.append(
            (name, len(a), f"{a.mean():.2f} / {a.max():.2f}", f"{b.mean():.2f} / {b.max():.2f}",
             f"{first.mean():.2f} / {first.max():.2f}")
        )  # fmt: skip
    print()
    heads = ["temperature", "cycles", "A mean / worst", "B mean / worst", "B first 10 min mean / worst"]
    print(markdown_table(heads, summary))
    print(f"\nmedian filter throughput {np.median(rates) / 1e6:.2f} Msamples/s (case A, one core)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("own", "stress", "stress25", "warm"), default="own")
    ap.add_argument("--temps", nargs="+", default=list(TEMPS))
    ap.add_argument("--quick", action="store_true", help="mode own at 25 degC only")
    a = ap.parse_args()
    if a.quick:
        a.mode, a.temps = "own", ["25degC"]
    print(machine_line())
    if not PAN.is_dir():
        raise SystemExit(f"{PAN} is not present")
    print(f"\n### SOC, Panasonic 18650PF, mode {a.mode} (RMSE, % SOC)\n")
    run(a.mode, a.temps)


if __name__ == "__main__":
    main()
