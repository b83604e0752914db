"""bmts's ECM vs the same cell model exported to PyBaMM's Thevenin ECM, on Panasonic 18650PF drive cycles.

Models are fitted as in state_estimation.py: the 25 degC C/20 OCV test plus one temperature's HPPC file
(and, for the last rows, all three HPPC files in one model). Each is exported with
`bmts cell-model export --to pybamm` (Butler-Volmer exact, and `--current-shape linear`), loaded with
`load_pybamm_parameters` and driven by the measured current of the first `--seconds` of a US06 cycle
(native 0.1 s sampling, held between samples) from the cycle's starting SOC (1 + Ah counter / 2.9677 Ah),
both models at the segment's median cell temperature. Printed: terminal-voltage RMSE against the measured
voltage, RMS difference from bmts's own forward model, and simulation wall time. The drive cycles are never
used by the fits; nothing here was tuned on them.
Usage: python benchmarks/cellmodel_export.py [--seconds 900]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import SHARED_DATA, machine_line, markdown_table
from bmts.analytics.ecm import DEFAULT_ACTIVATION_K, CellModel, simulate_voltage
from bmts.ingest import read_timeseries
from bmts.pipeline import state
from bmts.pipeline.pybamm_thevenin import export_pybamm_parameters, load_pybamm_parameters, simulate_thevenin

C_REF = 2.9677
PAN = SHARED_DATA / "panasonic_18650pf"


def segment(path: Path, seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    frame = read_timeseries(path)
    t, v, i = (frame[c].to_numpy() for c in ("test_time_second", "voltage_volt", "current_ampere"))
    keep = t - t[0] <= seconds
    temp = float(np.median(frame["temperature_t1_celsius"].to_numpy()[keep]))
    return t[keep], v[keep], i[keep], temp, 1.0 + float(frame["net_capacity_ah"][0]) / C_REF


def rms_mv(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)) * 1e3)


def compare(
    label: str, model: CellModel, drive: Path, seconds: float, work: Path, reference_c: float | None = None
) -> list[tuple[object, ...]]:
    t, v, i, temp, soc0 = segment(drive, seconds)
    state.save_model(model, work / "model.json")
    started = time.perf_counter()
    v_bmts, _ = simulate_voltage(model, t, i, soc0, temp)
    took = time.perf_counter() - started
    case = f"{label}, {drive.stem.split(' ', 1)[-1].replace('_Pan18650PF', '')} at {temp:.1f} degC"
    rows: list[tuple[object, ...]] = [(case, "bmts ECM", f"{rms_mv(v_bmts, v):.1f}", "-", f"{took:.3f}")]
    shapes = ("butler-volmer", "linear") if reference_c is None else ("butler-volmer",)
    for shape in shapes:
        out = work / f"pybamm-{shape}.json"
        doc = export_pybamm_parameters(work / "model.json", out, reference_c, shape)
        params = load_pybamm_parameters(out)
        started = time.perf_counter()
        v_pb, _ = simulate_thevenin(params, t, i, soc0, temp)
        took = time.perf_counter() - started
        ref = doc["mapping"]["ocv_offset_reference_celsius"]
        name = f"PyBaMM Thevenin export, {shape}, OCV offset at {ref:.1f} degC"
        if len(model.tables) > 1:
            name += f" (offset spread {1e3 * doc['mapping']['ocv_offset_spread_v']:.0f} mV dropped)"
        rows.append((case, name, f"{rms_mv(v_pb, v):.1f}", f"{rms_mv(v_pb, v_bmts):.1f}", f"{took:.2f}"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=900.0, help="length of each drive-cycle segment")
    a = ap.parse_args()
    print(machine_line())
    if not PAN.is_dir():
        print(f"skipped: {PAN} is not present")
        return
    ocv = next(PAN.glob("25degC/C20*/*C20 OCV*.mat"))
    pulses = {name: next(PAN.glob(f"{name}/*ulse*/*HPPC*.mat")) for name in ("25degC", "10degC", "0degC")}
    started = time.perf_counter()
    full = state.fit_cell_model(ocv, list(pulses.values()))
    fit_s = time.perf_counter() - started
    single = {
        name: CellModel(full.ocv, full.capacity_ah, [table], DEFAULT_ACTIVATION_K, notes=full.notes)
        for name, table in zip(pulses, full.tables, strict=True)
    }  # each exactly what fit_cell_model(ocv, [that HPPC file]) gives
    rows: list[tuple[object, ...]] = []
    with tempfile.TemporaryDirectory(prefix="bmts-export-") as tmp:
        work = Path(tmp)
        for name in ("25degC", "0degC"):
            drive = next(PAN.glob(f"{name}/Drive*/*US06*.mat"))
            rows += compare(f"{name} model", single[name], drive, a.seconds, work)
        drive = next(PAN.glob("0degC/Drive*/*US06*.mat"))
        rows += compare("25/10/0 degC model", full, drive, a.seconds, work, reference_c=25.0)
    print(f"\n### Cell model export to PyBaMM (first {a.seconds:.0f} s of each cycle, 0.1 s sampling)\n")
    heads = ["drive cycle", "model", "voltage RMSE mV", "RMS vs bmts ECM mV", "simulation s"]
    print(markdown_table(heads, rows))
    print(f"\nfit of the three-temperature model: {fit_s:.1f} s; PyBaMM stops at every current change")


if __name__ == "__main__":
    main()
