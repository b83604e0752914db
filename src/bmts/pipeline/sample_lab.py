"""A characterisation lab for one sample cell, for the demo and for tests that must run anywhere.

A known "true" cell model (the sample fleet's OCV, R0 + two RC pairs that vary with SOC, two
temperatures) is put through the tests a cell engineer runs: a C/20 discharge/charge (OCV), an HPPC
pulse test at 25 °C and at 5 °C, and a drive cycle at 15 °C logged by a BMS with a current-sensor
offset and gain error and voltage noise; and another drive through a pack of three such cells of their
own start SOC and capacity, logged as SPEC telemetry. The true SOC of every drive is known, so
`bmts cell-model fit` and `bmts soc` can be scored on them. Deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from bmts.analytics.ecm import CellModel, EcmTable, simulate_voltage
from bmts.analytics.ocv import OcvCurve
from bmts.ingest import write_bdf
from bmts.pipeline.sample_data import ocv

CAPACITY_AH = 2.5
#: the BMS's sensor errors on the drive cycle (a typical Hall sensor and ADC)
CURRENT_OFFSET_A, CURRENT_GAIN, VOLTAGE_NOISE_V = 0.03, 1.01, 0.002
DRIVE_TEMPERATURE_CELSIUS = 15.0
DRIVE_REST_S = 600.0  # the drive file's rest before driving


def true_cell_model() -> CellModel:
    """The lab cell: resistances rise towards empty and in the cold (Arrhenius, 3000 K)."""
    soc = np.linspace(0.0, 1.0, 11)
    grid = np.linspace(0.0, 1.0, 401)
    curve = OcvCurve(grid, ocv(grid), np.zeros(grid.size), CAPACITY_AH)
    tables = []
    for temp in (5.0, 25.0):
        cold = float(np.exp(3000.0 * (1 / (temp + 273.15) - 1 / 298.15)))
        low_soc = 1.0 + 0.8 * np.exp(-8 * soc)
        params = {
            "r0_ohm": 0.030 * cold * low_soc,
            "r1_ohm": 0.012 * cold * low_soc,
            "tau1_s": np.full(soc.size, 3.0),
            "r2_ohm": 0.018 * cold * low_soc,
            "tau2_s": np.full(soc.size, 90.0),
            "bv_scale_a": np.full(soc.size, 1e3),
            "ocv_offset_v": np.zeros(soc.size),
        }
        tables.append(EcmTable(temp, temp, soc, params))
    return CellModel(curve, CAPACITY_AH, tables, 3000.0)


def c20_test(model: CellModel) -> pl.DataFrame:
    """Full at rest, C/20 discharge to empty, an hour's rest, C/20 charge to full (60 s logging)."""
    i_c20 = model.capacity_ah / 20
    n = int(20 * 3600 / 60)
    i = np.concatenate([np.zeros(10), np.full(n, -i_c20), np.zeros(60), np.full(n, i_c20), np.zeros(10)])
    t = np.arange(i.size) * 60.0
    v, _ = simulate_voltage(model, t, i, 1.0, 25.0)
    return _frame(t, v, i, 25.0)


def hppc_current(capacity_ah: float, levels: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """An HPPC profile from full: a 10-min rest, then at each SOC level 10 s discharge pulses of
    0.5/1/2/4 C (0.1 s logging) each with a 10-min rest (1 s logging), then a C/2 discharge of 10 % of
    capacity and a 30-min rest. Time and current arrays."""
    t_parts, i_parts, now = [np.arange(0, 600.0, 1.0)], [np.zeros(600)], 600.0
    for _ in range(levels):
        for c in (0.5, 1, 2, 4):
            tp = now + np.arange(0.1, 10.0 + 1e-9, 0.1)
            tr = tp[-1] + np.arange(1.0, 601.0, 1.0)
            t_parts += [tp, tr]
            i_parts += [np.full(tp.size, -c * capacity_ah), np.zeros(tr.size)]
            now = float(tr[-1])
        td = now + np.arange(1.0, 721.0, 1.0)
        tr = td[-1] + np.arange(1.0, 1801.0, 1.0)
        t_parts += [td, tr]
        i_parts += [np.full(td.size, -0.5 * capacity_ah), np.zeros(tr.size)]
        now = float(tr[-1])
    return np.concatenate(t_parts), np.concatenate(i_parts)


def hppc_test(model: CellModel, temperature_celsius: float, levels: int = 9) -> pl.DataFrame:
    """The HPPC test of `hppc_current` on the cell at one temperature."""
    t, i = hppc_current(model.capacity_ah, levels)
    v, _ = simulate_voltage(model, t, i, 1.0, temperature_celsius)
    return _frame(t, v, i, temperature_celsius)


def drive_cycle(
    model: CellModel, seconds: float = 5400.0, initial_soc: float = 0.9, seed: int = 0
) -> tuple[pl.DataFrame, np.ndarray]:
    """Ten minutes of rest (long enough for the filter to read the current sensor's offset), then random
    5-30 s segments between -3C and +1C (mean about -0.4C), 1 s logging, as the BMS measures it; and the
    true SOC per sample."""
    rng = np.random.default_rng(seed)
    t, i = _drive_current(model.capacity_ah, seconds, rng)
    v, soc = simulate_voltage(model, t, i, initial_soc, DRIVE_TEMPERATURE_CELSIUS)
    measured_v = v + rng.normal(0.0, VOLTAGE_NOISE_V, v.size)
    measured_i = CURRENT_GAIN * i + CURRENT_OFFSET_A
    return _frame(t, measured_v, measured_i, DRIVE_TEMPERATURE_CELSIUS), soc


def _drive_current(
    capacity_ah: float, seconds: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, seconds, 1.0)
    edges = np.cumsum(rng.uniform(5, 30, int(seconds / 5)))
    i = np.clip(rng.normal(-0.4, 1.0, edges.size), -3, 1)[np.searchsorted(edges, t)] * capacity_ah
    i[t < DRIVE_REST_S] = 0.0
    return t, i


#: the sample pack's series cells: each its own start SOC (they drift apart) and remaining capacity
PACK_CELLS = {"cell-1": (0.92, 1.00), "cell-2": (0.88, 0.98), "cell-3": (0.84, 0.96)}
PACK_START_UNIX_S = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def pack_telemetry(
    model: CellModel, seconds: float = 3600.0, seed: int = 1
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """A pack's BMS log as SPEC telemetry (`pack_id, cell_id, unix_time_second, ...`, rows of all cells
    interleaved by time): series cells share the pack current, measured by one sensor with the drive
    cycle's offset and gain error; each has its own start SOC, capacity and voltage noise. And the true
    SOC per cell."""
    rng = np.random.default_rng(seed)
    t, i = _drive_current(model.capacity_ah, seconds, rng)
    parts, truth = [], {}
    for cell_id, (initial_soc, fade) in PACK_CELLS.items():
        cell = replace(model, capacity_ah=model.capacity_ah * fade)
        v, truth[cell_id] = simulate_voltage(cell, t, i, initial_soc, DRIVE_TEMPERATURE_CELSIUS)
        parts.append(
            pl.DataFrame(
                {
                    "pack_id": "pack-1",
                    "cell_id": cell_id,
                    "unix_time_second": PACK_START_UNIX_S + t,
                    "voltage_volt": np.round(v + rng.normal(0.0, VOLTAGE_NOISE_V, v.size), 5),
                    "current_ampere": np.round(CURRENT_GAIN * i + CURRENT_OFFSET_A, 5),
                    "temperature_celsius": np.full(t.size, DRIVE_TEMPERATURE_CELSIUS),
                }
            )
        )
    return pl.concat(parts).sort("unix_time_second", maintain_order=True), truth


def _frame(t: np.ndarray, v: np.ndarray, i: np.ndarray, temperature_celsius: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "test_time_second": t,
            "voltage_volt": np.round(v, 5),
            "current_ampere": np.round(i, 5),
            "temperature_t1_celsius": np.full(t.size, temperature_celsius),
        }
    )


@dataclass(frozen=True)
class LabFiles:
    ocv: Path
    pulses: tuple[Path, ...]
    drive: Path
    drive_true_soc: np.ndarray
    drive_initial_soc: float


def write_lab(folder: Path, seed: int = 0) -> LabFiles:
    """Write the lab's tests as BDF files in `folder` (kept when already there: same bytes each time)."""
    folder.mkdir(parents=True, exist_ok=True)
    model = true_cell_model()
    drive, truth = drive_cycle(model, seed=seed)
    tests = {
        "lab-c20-ocv.bdf.csv": lambda: c20_test(model),
        "lab-hppc-25degC.bdf.parquet": lambda: hppc_test(model, 25.0),
        "lab-hppc-5degC.bdf.parquet": lambda: hppc_test(model, 5.0),
        "lab-drive-15degC.bdf.csv": lambda: drive,
    }
    for name, make in tests.items():
        if not (folder / name).exists():
            write_bdf(make(), folder / name)
    ocv_path, hot, cold, drive_path = (folder / name for name in tests)
    return LabFiles(ocv_path, (hot, cold), drive_path, truth, 0.9)
