"""The state-estimation part of `bmts demo`: characterise a lab cell (and export its model for PyBaMM),
track its SOC on a drive cycle logged by a BMS and, cell by cell, on a pack's telemetry, and estimate every
fleet cell's SOH from its full cycles and from charge windows alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from bmts.analytics.ecm import CellModel
from bmts.analytics.soc import SocConfig, SocFilter, coulomb_count
from bmts.analytics.soh import Window
from bmts.ingest import read_timeseries, write_bdf
from bmts.pipeline import soh_state, state, telemetry_state
from bmts.pipeline.analysis import battery_frame
from bmts.pipeline.pybamm_thevenin import export_pybamm_parameters
from bmts.pipeline.sample_lab import DRIVE_REST_S, PACK_CELLS, pack_telemetry, true_cell_model, write_lab
from bmts.schema import DataError
from bmts.storage import Store


@dataclass(frozen=True)
class StateReport:
    model_path: Path
    pybamm_path: Path  # the same model as a PyBaMM Thevenin parameter set
    temperatures_celsius: tuple[float, ...]
    soc_rmse_percent: float
    coulomb_counting_rmse_percent: float
    soc_file_by_file_rmse_percent: float  # the same drive as three telemetry files and a saved filter state
    soc_wrong_start_rmse_percent: float  # cut where driving starts, guessed 30 points low: the first 10 min
    #: cut where driving starts, the true SOC given: as a +-10-point guess, and declared known to a point
    soc_known_start_rmse_percent: tuple[float, float]
    current_offset_read_a: float  # the BMS current sensor's offset as the filter read it at the drive's rest
    #: per cell of a pack's telemetry file (pack_id, cell_id rows): with the model's capacity, and with the
    #: cell's own (--capacities, as `bmts soh` gives it)
    pack_soc_rmse_percent: dict[str, tuple[float, float]]
    soh: pl.DataFrame  # battery_id, SOH ± std: full cycles, charge windows, windows on reference cells


def run_state_demo(
    store: Store, folder: Path, cell_ids: Sequence[str], nominal_ah: Sequence[float]
) -> StateReport:
    """`bmts cell-model fit`, `bmts soc` and `bmts soh` on the demo's data, scored where the truth is known:
    SOH from the cells' stored time series and from their charge windows alone, written as field files."""
    lab = write_lab(folder / "lab")
    model = state.fit_cell_model(lab.ocv, list(lab.pulses))
    model_path = state.save_model(model, folder / "lab" / "cell-model.json")
    pybamm_path = folder / "lab" / "cell-model.pybamm.json"
    export_pybamm_parameters(model_path, pybamm_path)
    drive = read_timeseries(lab.drive)
    trace, _ = state.soc_of_frame(drive, model, lab.drive_initial_soc, where=str(lab.drive))
    counted = coulomb_count(
        drive["test_time_second"].to_numpy(),
        drive["current_ampere"].to_numpy(),
        model.capacity_ah,
        lab.drive_initial_soc,
    )
    by_file = _soc_file_by_file(drive, model, folder / "field", lab.drive_initial_soc)
    wrong_start = _wrong_start_first_minutes(drive, model, lab.drive_true_soc, str(lab.drive))
    known_start = _known_start(drive, model, lab.drive_true_soc, str(lab.drive))
    at_rest = drive.filter(pl.col("test_time_second") < DRIVE_REST_S)
    offset_read = (
        SocFilter(model, lab.drive_initial_soc)
        .update(*(at_rest[c].to_numpy() for c in ("test_time_second", "voltage_volt", "current_ampere")))
        .current_offset_a
    )
    pack = _pack_soc(model, folder / "field" / "pack-1.telemetry.csv")
    rows = []
    frames = {cell_id: battery_frame(store, cell_id) for cell_id in cell_ids}
    references = {c: _reference_rows(frames[c], c, n) for c, n in zip(cell_ids, nominal_ah, strict=True)}
    for cell_id, nominal in zip(cell_ids, nominal_ah, strict=True):
        frame = frames[cell_id]
        full = soh_state.soh_from_frame(frame, nominal, cell_id).tail(1)
        windows = _charge_windows(frame, folder / "field" / f"{cell_id}.windows.bdf.parquet")
        partial = soh_state.soh_table([windows], nominal).tail(1)
        # the same windows calibrated on the other cells' full cycles (a lab's reference cells)
        others = [ref for other, ref in references.items() if other != cell_id]
        ref_soh, ref_std = _referenced(others, windows, nominal)
        rows.append(
            {
                "battery_id": cell_id,
                "cycle": int(full["cycle"][0]),
                "soh_full_cycles": round(float(full["soh"][0]), 3),
                "soh_full_std": round(float(full["soh_std"][0]), 3),
                "soh_charge_windows": round(float(partial["soh"][0]), 3),
                "soh_windows_std": round(float(partial["soh_std"][0]), 3),
                "soh_windows_referenced": ref_soh,
                "soh_referenced_std": ref_std,
            }
        )
    return StateReport(
        model_path,
        pybamm_path,
        tuple(t.temperature_celsius for t in model.tables),
        _rmse_percent(trace["soc"].to_numpy(), lab.drive_true_soc),
        _rmse_percent(counted, lab.drive_true_soc),
        _rmse_percent(by_file, lab.drive_true_soc),
        wrong_start,
        known_start,
        offset_read,
        pack,
        pl.DataFrame(rows),
    )


def _pack_soc(model: CellModel, path: Path) -> dict[str, tuple[float, float]]:
    """`bmts soc` on a pack's telemetry, with the model's capacity and with each cell's own (the true ones,
    written as the capacity history `bmts soh` would give): each cell's RMSE against its true SOC."""
    cell = true_cell_model()
    frame, truth = pack_telemetry(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    history = path.with_name("pack-1.capacities.csv")
    pl.DataFrame(
        {
            "battery_id": list(PACK_CELLS),
            "cycle": [1] * len(PACK_CELLS),
            "capacity_ah": [cell.capacity_ah * fade for _, fade in PACK_CELLS.values()],
        }
    ).write_csv(history)
    runs = [
        telemetry_state.soc_of_telemetry(path, model, capacities=caps)[0]
        for caps in (None, telemetry_state.latest_capacities(history))
    ]
    return {
        cell: (
            _rmse_percent(runs[0].filter(pl.col("cell_id") == cell)["soc"].to_numpy(), soc),
            _rmse_percent(runs[1].filter(pl.col("cell_id") == cell)["soc"].to_numpy(), soc),
        )
        for cell, soc in truth.items()
    }


def _soc_file_by_file(drive: pl.DataFrame, model: CellModel, folder: Path, initial_soc: float) -> np.ndarray:
    """`bmts soc --state` on the drive cut into three files, as a telemetry gateway writes them: each
    restarts its test time, Unix time runs on, the filter state is carried from file to file."""
    t = drive["test_time_second"].to_numpy()
    cuts = np.searchsorted(t, np.linspace(t[0], t[-1], 4)[1:-1])
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / "drive.soc-state.json"
    saved.unlink(missing_ok=True)
    socs = []
    for k, (a, b) in enumerate(zip(np.r_[0, cuts], np.r_[cuts, t.size], strict=True)):
        part = drive.slice(int(a), int(b - a))
        part = part.with_columns(
            pl.Series("unix_time_second", 1.7e9 + t[a:b]), pl.Series("test_time_second", t[a:b] - t[a])
        )
        path = write_bdf(part, folder / f"drive-part{k + 1}.bdf.parquet")
        trace, _, soc_state = state.soc_trace_resumed(path, model, saved, initial_soc if k == 0 else None)
        state.save_soc_state(saved, soc_state)
        socs.append(trace["soc"].to_numpy())
    return np.concatenate(socs)


def _wrong_start_first_minutes(
    drive: pl.DataFrame, model: CellModel, true_soc: np.ndarray, where: str
) -> float:
    """`bmts soc --initial-soc` 30 points below the truth on the drive cut where driving starts (no rest
    voltage to start from): the RMSE (%) over the first 10 minutes, where the start check acts."""
    k = _driving_starts(drive, model)
    cut = drive.slice(k)
    guess = max(float(true_soc[k]) - 0.3, 0.0)
    trace, _ = state.soc_of_frame(cut, model, guess, where=where)
    t = cut["test_time_second"].to_numpy()
    first = t - t[0] < 600.0
    return _rmse_percent(trace["soc"].to_numpy()[first], true_soc[k:][first])


def _known_start(
    drive: pl.DataFrame, model: CellModel, true_soc: np.ndarray, where: str
) -> tuple[float, float]:
    """The drive cut where driving starts, the true SOC given (`--initial-soc`): the RMSE (%) with it taken as
    a guess, and declared known to a point (`--initial-soc-std 0.01`)."""
    k = _driving_starts(drive, model)
    cut = drive.slice(k)
    guess, known = (
        state.soc_of_frame(cut, model, float(true_soc[k]), SocConfig(initial_soc_std=std), where)[0]["soc"]
        for std in (SocConfig().initial_soc_std, 0.01)
    )
    return _rmse_percent(guess.to_numpy(), true_soc[k:]), _rmse_percent(known.to_numpy(), true_soc[k:])


def _driving_starts(drive: pl.DataFrame, model: CellModel) -> int:
    i = drive["current_ampere"].to_numpy()
    return int(np.argmax(np.abs(i) > 0.02 * model.capacity_ah))


def _reference_rows(frame: pl.DataFrame, cell_id: str, nominal: float) -> pl.DataFrame | None:
    """The cell's training rows as a reference for the others (None: too few cycles, `--cycles 4`)."""
    try:
        return soh_state.reference_rows(cell_id, frame, nominal, Window())
    except DataError:
        return None


def _referenced(others: list[pl.DataFrame | None], windows: Path, nominal: float) -> tuple[float, float]:
    """The last cycle's SOH (and std) from the cell's windows calibrated on the other cells (NaN: none,
    or one that cannot be a reference)."""
    if not others or any(rows is None for rows in others):
        return float("nan"), float("nan")
    calibration = soh_state.calibration_from_rows([rows for rows in others if rows is not None])
    table = soh_state.soh_from_frame(soh_state.stitched([windows]), nominal, str(windows), None, calibration)
    return round(float(table["soh"][-1]), 3), round(float(table["soh_std"][-1]), 3)


def _charge_windows(frame: pl.DataFrame, out: Path) -> Path:
    """What a vehicle's BMS sees of a cell that is never fully cycled: the charging samples inside the
    SOH window only, with the battery-wide cycle number as the cycle counter."""
    if out.exists():
        return out
    window = Window()
    inside = frame.filter(
        (pl.col("current_ampere") > 0) & pl.col("voltage_volt").is_between(window.v_low, window.v_high)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = ["test_time_second", "voltage_volt", "current_ampere", pl.col("cycle").alias("cycle_count")]
    return write_bdf(inside.select(columns), out)


def _rmse_percent(estimate: np.ndarray, truth: np.ndarray) -> float:
    return round(float(np.sqrt(np.mean((estimate - truth) ** 2))) * 100, 3)
