"""SOH use cases over files: capacity and resistance SOH from full cycles, and from partial windows
(calibrated on the first cycles, or on reference cells' full cycles)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from bmts.analytics import cycle_summary
from bmts.analytics.soh import Window, resistance_soh, soh_from_full_cycles, soh_from_windows, window_features
from bmts.analytics.soh_reference import MIN_CYCLES, WindowCapacityModel, feature_matrix, training_rows
from bmts.pipeline.analysis import battery_frame, declared_end_of_discharge
from bmts.pipeline.ingest import expand_paths, ingest_file
from bmts.pipeline.state import signals
from bmts.schema import DataError, Issue
from bmts.storage import EmbeddedStore


def _battery_id(paths: list[Path]) -> str:
    if len(paths) == 1:
        name = paths[0].name
        for suffix in (".parquet", ".gz", ".csv", ".bdf", ".xlsx", ".mat"):
            name = name.removesuffix(suffix)
        return name
    parents = {p.parent.resolve() for p in paths}
    return parents.pop().name if len(parents) == 1 else paths[0].stem


def stitched(paths: list[Path]) -> pl.DataFrame:
    """The files as one battery, exactly as `bmts ingest` + `bmts cycles` see them: files in measurement
    order, the same measurements in two files counted once, battery-wide cycle numbers."""
    with tempfile.TemporaryDirectory(prefix="bmts-soh-") as home:
        store = EmbeddedStore(home)
        for path in paths:
            ingest_file(store, path, "battery")
        frame = battery_frame(store, "battery")
        store.engine.dispose()
    return frame


def soh_table(
    paths: Sequence[str | Path],
    nominal_ah: float,
    window_v: tuple[float, float] = (3.8, 4.1),
    references: Sequence[str | Path] = (),
) -> pl.DataFrame:
    """`battery_id, cycle, capacity_ah, soh` (+ uncertainty, method, resistance) from full cycles where the
    data has discharges, else from partial charge windows (default 3.8-4.1 V); the windows calibrated on
    `references` (each a file or folder of one fully cycled cell of the same type) when given."""
    window = soh_window(nominal_ah, window_v)
    files = expand_paths(paths)
    if not files:
        raise DataError(Issue(" ".join(map(str, paths)) or "soh", "no files to read"))
    calibration = window_calibration(references, nominal_ah, window) if references else None
    table = soh_from_frame(stitched(files), nominal_ah, str(files[0]), window, calibration)
    return table.select(pl.lit(_battery_id(files)).alias("battery_id"), pl.all())


def soh_window(nominal_ah: float, window_v: tuple[float, float]) -> Window:
    """The charge window, once `bmts soh`'s inputs are checked."""
    if not nominal_ah > 0:
        raise DataError(Issue("--nominal-capacity-ah", f"must be positive, got {nominal_ah}"))
    if not 0 < window_v[0] < window_v[1]:
        raise DataError(Issue("--window-v", f"needs 0 < LOW < HIGH, got {window_v[0]:g} {window_v[1]:g}"))
    return Window(*window_v)


def _full_cycles(
    frame: pl.DataFrame, arrays: tuple[np.ndarray, np.ndarray, np.ndarray], nominal_ah: float
) -> pl.DataFrame:
    """The full cycles of a stitched frame (its `_arrays`) that discharged at least a tenth of nominal."""
    t, v, i = arrays
    declared = declared_end_of_discharge(frame)
    full = soh_from_full_cycles(
        t, i, frame["cycle"].to_numpy(), nominal_ah, voltage_v=v, end_of_discharge_v=declared
    )
    return full.filter(pl.col("capacity_ah") >= 0.1 * nominal_ah)


def window_calibration(
    references: Sequence[str | Path], nominal_ah: float, window: Window
) -> WindowCapacityModel:
    """The partial-window model (`soh_reference`) fitted on reference cells: each reference is one cell's
    file or folder, cycled fully, whose full cycles give the capacity its windows are learned against."""
    frames = []
    for ref in references:
        files = expand_paths([ref]) if Path(ref).exists() else []
        if not files:
            raise DataError(Issue(f"--reference {ref}", "no such file or folder, or no files in it"))
        frames.append((f"--reference {ref}", stitched(files)))
    return calibration_from_frames(frames, nominal_ah, window)


def calibration_from_frames(
    frames: Sequence[tuple[str, pl.DataFrame]], nominal_ah: float, window: Window
) -> WindowCapacityModel:
    """`window_calibration` on stitched frames, each named for its errors."""
    return calibration_from_rows(
        [reference_rows(where, frame, nominal_ah, window) for where, frame in frames]
    )


def reference_rows(where: str, frame: pl.DataFrame, nominal_ah: float, window: Window) -> pl.DataFrame:
    """One reference cell's training rows for the window model: its windows' features against its full
    cycles' capacities (computed once per cell, however many cells it then calibrates)."""
    arrays = signals(frame, where)
    features = window_features(*arrays, frame["cycle"].to_numpy(), window)
    found = training_rows(features, _full_cycles(frame, arrays, nominal_ah))
    if found.height < MIN_CYCLES:
        raise DataError(
            Issue(
                where,
                f"{found.height} cycles with a full discharge and a charge through at least half of "
                f"{window.v_low:g}-{window.v_high:g} V; a reference cell needs {MIN_CYCLES}",
            )
        )
    return found


def calibration_from_rows(rows: Sequence[pl.DataFrame]) -> WindowCapacityModel:
    """The window model fitted on reference cells' training rows (`reference_rows`), one group per cell."""
    if not rows:
        raise DataError(Issue("--reference", "no reference cell given"))
    train = pl.concat([r.with_columns(reference=pl.lit(k)) for k, r in enumerate(rows)])
    return WindowCapacityModel().fit(
        feature_matrix(train), train["capacity_ah"].to_numpy(), train["reference"].to_numpy()
    )


def soh_from_frame(
    frame: pl.DataFrame,
    nominal_ah: float,
    where: str,
    window: Window | None = None,
    calibration: WindowCapacityModel | None = None,
) -> pl.DataFrame:
    """The SOH table of one battery's stitched frame (`cycle` column numbered battery-wide)."""
    win = window or Window()
    t, v, i = signals(frame, where)
    cycles = frame["cycle"].to_numpy()
    keep = _full_cycles(frame, (t, v, i), nominal_ah)
    if keep.height >= 0.5 * np.unique(cycles).size:
        table = keep
    else:  # mostly partial: windows, calibrated on reference cells or on the full cycles there are
        table = soh_from_windows(t, v, i, cycles, nominal_ah, win, reference=keep, calibration=calibration)
    if table.height == 0:
        crossing = f"{win.v_low:g}-{win.v_high:g} V"
        raise DataError(
            Issue(where, f"no full discharge and no charge entering and crossing {crossing} in the data")
        )
    summary = cycle_summary(frame, cycles, None)
    res = resistance_soh(summary["cycle"].to_numpy(), summary["dc_resistance_ohm"].to_numpy())
    return table.join(res, on="cycle", how="left")
