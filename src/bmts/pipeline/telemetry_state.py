"""SOC and SOH of every cell of a pack / fleet telemetry file (`bmts soc` and `bmts soh` given telemetry).

Each cell's samples go through the same estimators as one cell's file (`pipeline.state`): its own SOC
filter, its own current-sensor offset and gain (a pack's cells share the current, but each cell's
voltage sees the model's error in its own way), its own cycles and SOH. The streaming state keeps one
filter per cell, so an hourly telemetry file of a whole pack continues where the last one stopped; a cell
missing from a file keeps its state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import polars as pl

from bmts.analytics.cycles import cycle_numbers
from bmts.analytics.ecm import CellModel
from bmts.analytics.soc import SocConfig, SocFilter
from bmts.ingest import capacity_history
from bmts.ingest.telemetry import CellSeries, is_telemetry, read_telemetry
from bmts.pipeline import soh_state, state
from bmts.schema import DataError, Issue, Repair

STATE_FORMAT = "bmts.soc-telemetry-state"
TIME_BASE = "unix_time_second"  # consecutive telemetry files each restart nothing but Unix time
MAX_NAMED_CELLS = 3  # a warning shared by many cells names this many of them

__all__ = ["is_telemetry", "latest_capacities", "soc_of_telemetry", "soh_of_telemetry"]


def soc_of_telemetry(
    path: str | Path,
    model: CellModel,
    initial_soc: float | None = None,
    initial_soc_std: float | None = None,
    state_path: str | Path | None = None,
    capacities: Mapping[str, float] | None = None,
) -> tuple[pl.DataFrame, list[str], dict[str, object] | None]:
    """`pack_id, cell_id, unix_time_second, test_time_second, soc, soc_std` for every sample of every cell,
    warnings (one line each, shared ones once), and, with `state_path`, the filters' new state for
    `state.save_soc_state` once the trace is written (the state at `state_path`, if it exists, is continued).
    `capacities`: Ah per cell id (e.g. `bmts soh`'s latest), used instead of the model's for those cells."""
    config = state.soc_config(model, initial_soc, initial_soc_std)
    capacities = capacities or {}
    repairs: list[Repair] = []
    cells = read_telemetry(path, repairs)
    saved = _read_state(Path(state_path)) if state_path is not None and Path(state_path).exists() else {}
    notes = [f"{r.detail} ({r.rows} times)" for r in repairs]
    if saved and initial_soc is not None:
        notes.append(f"--initial-soc ignored for the {len(saved)} cells the state at {state_path} holds")
    filters = []
    for cell in cells:
        own = capacities.get(cell.cell_id)
        cell_model = model if own is None else replace(model, capacity_ah=own)
        resumed = _filter(saved.get(_key(cell)), cell_model, cell, str(path), state_path)
        filters.append(resumed or SocFilter(cell_model, initial_soc, config))
        filters[-1].share_lookups(filters[0])
    # cells sampled together (as a BMS samples a pack) whose filters stopped together run together
    together: dict[tuple[bytes, float | None, SocConfig], list[int]] = defaultdict(list)
    for k, (cell, f) in enumerate(zip(cells, filters, strict=True)):
        together[(cell.frame[TIME_BASE].to_numpy().tobytes(), f.t_last, f.cfg)].append(k)
    results: dict[int, tuple[pl.DataFrame, list[str]]] = {}
    for group in together.values():
        frames, group_filters = [cells[k].frame for k in group], [filters[k] for k in group]
        results.update(
            zip(group, state.soc_of_frames(frames, group_filters, str(path), TIME_BASE), strict=True)
        )
    traces, warned = [], defaultdict(list)
    for k, (cell, f) in enumerate(zip(cells, filters, strict=True)):
        trace, warnings = results[k]
        for w in warnings:
            warned[w].append(_key(cell))
        traces.append(
            trace.select(
                pl.lit(cell.pack_id).alias("pack_id"),
                pl.lit(cell.cell_id).alias("cell_id"),
                cell.frame[TIME_BASE],
                pl.all(),
            )
        )
        saved[_key(cell)] = f.state()
    without = [_key(c) for c in cells if c.cell_id not in capacities]
    if capacities and without:
        notes.append(_shared("not in the capacities given: the model's capacity used", without))
    new_state: dict[str, object] | None = None
    if state_path is not None:
        new_state = {"format": STATE_FORMAT, "time_base": TIME_BASE, "cells": saved}
    return pl.concat(traces), notes + [_shared(w, keys) for w, keys in warned.items()], new_state


def soh_of_telemetry(
    path: str | Path,
    nominal_ah: float,
    window_v: tuple[float, float] = (3.8, 4.1),
    references: Sequence[str | Path] = (),
) -> tuple[pl.DataFrame, list[str]]:
    """`pack_id, battery_id` (the cell id) and `bmts soh`'s columns per cell and cycle (cycles found from
    the current: telemetry has no cycle counter), and warnings naming the cells that had nothing to go on."""
    window = soh_state.soh_window(nominal_ah, window_v)
    calibration = soh_state.window_calibration(references, nominal_ah, window) if references else None
    tables, skipped = [], []
    for cell in read_telemetry(path):
        frame = cell.frame.with_columns(pl.Series("cycle", cycle_numbers(cell.frame)))
        try:
            table = soh_state.soh_from_frame(frame, nominal_ah, str(path), window, calibration)
        except DataError as e:
            skipped.append(f"pack {cell.pack_id} cell {cell.cell_id}: {e.issue.message}")
            continue
        tables.append(
            table.select(
                pl.lit(cell.pack_id).alias("pack_id"), pl.lit(cell.cell_id).alias("battery_id"), pl.all()
            )
        )
    if not tables:
        raise DataError(Issue(str(path), skipped[0] if skipped else "no cells"))
    return pl.concat(tables, how="diagonal_relaxed"), skipped


def latest_capacities(path: str | Path) -> dict[str, float]:
    """Each battery's capacity at its last cycle in a capacity history file (`bmts soh` writes one)."""
    return capacity_history.latest_capacities(capacity_history.read_capacity_history(path))


def _key(cell: CellSeries) -> str:
    return f"{cell.pack_id}/{cell.cell_id}"


def _read_state(path: Path) -> dict[str, dict[str, object]]:
    saved = state.read_json(path)
    if (
        not isinstance(saved, dict)
        or saved.get("format") != STATE_FORMAT
        or not isinstance(saved.get("cells"), dict)
    ):
        raise DataError(
            Issue(f"--state {path}", "not a SOC state of telemetry (one cell's state is another file)")
        )
    return dict(saved["cells"])


def _filter(
    saved: dict[str, object] | None, model: CellModel, cell: CellSeries, where: str, state_path: object
) -> SocFilter | None:
    """The cell's saved filter, checked to end before the cell's first sample here; None if it has none."""
    if saved is None:
        return None
    first = float(cell.frame[TIME_BASE][0])
    subject = f"pack {cell.pack_id} cell {cell.cell_id}: "
    return state.resume_filter(
        model, saved, first, TIME_BASE, where, f"--state {state_path}", subject, "this pack"
    )


def _shared(warning: str, keys: list[str]) -> str:
    """A warning once for all the cells that gave it."""
    named = ", ".join(keys[:MAX_NAMED_CELLS]) + (
        f" and {len(keys) - MAX_NAMED_CELLS} more" if len(keys) > MAX_NAMED_CELLS else ""
    )
    return f"{'cell' if len(keys) == 1 else f'{len(keys)} cells'} {named}: {warning}"
