"""Use cases over stored batteries: per-cycle tables, discharge curves, time-series export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from bmts.analytics import cycle_numbers, cycle_summary, discharge_curves, voltage_grid
from bmts.pipeline.ingest import natural_key
from bmts.schema import DataError, Issue
from bmts.storage import SegmentRecord, Store


def _segments(store: Store, battery_id: str) -> list[SegmentRecord]:
    """The battery's segments in measurement order: by start time where every file has a clock, else by
    file name in natural order (dis_2 before dis_10), then by import order."""
    segments = store.segments(battery_id)
    if not segments:
        raise DataError(Issue(battery_id, "unknown battery (nothing imported under this id)"))
    if all(s.start_unix_second is not None for s in segments):
        return sorted(segments, key=lambda s: (s.start_unix_second or 0.0, s.sequence))
    return sorted(segments, key=lambda s: (natural_key(Path(s.source_path).name), s.sequence))


CORE = [
    "test_time_second",
    "voltage_volt",
    "current_ampere",
    "step_count",
    "step_id",
    "temperature_t1_celsius",
    "ambient_temperature_celsius",
]


def battery_frame(store: Store, battery_id: str, columns: list[str] | None = None) -> pl.DataFrame:
    """All samples of a battery, files in measurement order, with battery-wide cycle numbers.

    Time is stitched so each file starts where the previous one ended (no charge is integrated over
    the gap between files). A cycle counter that continues from the previous file (e.g. one file per
    discharge) is kept; one that restarts (Arbin's Cycle_Index in every new file) is shifted to follow
    the previous file, and a previous file that ended inside a cycle, before its discharge, continues
    that cycle. Adds `cycle`, `source_cycle` and `source_file`.
    """
    frames: list[pl.DataFrame] = []
    last_cycle, end_time, open_cycle = 0, 0.0, False
    wanted = {*(columns or CORE), "cycle_count", "test_time_second", "voltage_volt", "current_ampere"}
    for segment in _segments(store, battery_id):
        frame = store.read_segment(segment, [c for c in store.segment_columns(segment) if c in wanted])
        own = cycle_numbers(frame)
        first = int(own.min()) if own.size else 1
        shift = 0 if own.size and first > last_cycle else last_cycle - first + (0 if open_cycle else 1)
        numbered = own + shift
        t = frame["test_time_second"].to_numpy()
        keep = [c for c in (columns or CORE) if c in frame.columns]
        frames.append(
            frame.select(keep).with_columns(
                pl.Series("test_time_second", t - t[0] + end_time),
                pl.Series("cycle", numbered),
                pl.Series("source_cycle", own),
                pl.lit(Path(segment.source_path).name).alias("source_file"),
                pl.lit(segment.attributes.get("end_of_discharge_voltage_volt"), dtype=pl.Float64).alias(
                    "end_of_discharge_voltage_volt"
                ),
            )
        )
        end_time = float(t[-1] - t[0] + end_time)
        last_cycle = max(last_cycle, int(numbered.max(initial=last_cycle)))
        current = frame["current_ampere"].to_numpy()
        in_last = numbered == numbered[-1]
        open_cycle = not bool(np.any(current[in_last] < -0.01 * np.max(np.abs(current))))
    return pl.concat(frames, how="diagonal_relaxed")


def battery_cycles(store: Store, battery_id: str) -> pl.DataFrame:
    """The per-cycle table of a battery across all its files, in measurement order."""
    return cycle_table(battery_frame(store, battery_id))


def declared_end_of_discharge(frame: pl.DataFrame) -> np.ndarray | None:
    """Per sample, the end-of-discharge voltage the readers declared for their data sets (NaN where one
    declared none), or None when none did: the voltage a data set's own capacity figure stops at."""
    if "end_of_discharge_voltage_volt" not in frame.columns:
        return None
    eod = frame["end_of_discharge_voltage_volt"]
    return None if eod.null_count() == eod.len() else eod.to_numpy().astype(float)


def cycle_table(frame: pl.DataFrame) -> pl.DataFrame:
    """The per-cycle table of a frame made by `battery_frame` (battery-wide cycles, source columns)."""
    cycles = frame["cycle"].to_numpy()
    table = cycle_summary(frame, cycles, declared_end_of_discharge(frame))
    sources = frame.select("cycle", "source_cycle", "source_file").unique("cycle", keep="first")
    out = table.join(sources, on="cycle", how="left")
    front = ["cycle", "source_cycle", "source_file"]
    return out.select(front + [c for c in out.columns if c not in front])


def battery_curves(
    store: Store, battery_id: str, v_max: float | None = None, v_min: float | None = None, points: int = 1000
) -> pl.DataFrame:
    """Discharge curves Q(V) of every cycle on one voltage grid (default: the battery's discharge window)."""
    frame = battery_frame(store, battery_id)
    discharging = frame.filter(pl.col("current_ampere") < 0)["voltage_volt"]
    if discharging.len() == 0:
        raise DataError(Issue(battery_id, "no discharge in the stored data"))
    top = v_max if v_max is not None else float(discharging.quantile(0.999) or 0.0)
    bottom = v_min if v_min is not None else float(discharging.quantile(0.001) or 0.0)
    if top <= bottom:
        raise DataError(Issue(battery_id, f"voltage grid is empty: v_max {top} <= v_min {bottom}"))
    curves = discharge_curves(frame, frame["cycle"].to_numpy(), voltage_grid(top, bottom, points))
    return curves.select(pl.lit(battery_id).alias("battery_id"), pl.all())


def battery_timeseries(store: Store, battery_id: str) -> pl.DataFrame:
    """All stored columns of a battery's samples, files in measurement order, on one time axis."""
    everything = sorted({c for s in _segments(store, battery_id) for c in store.segment_columns(s)})
    added = ["cycle", "source_cycle", "source_file", "end_of_discharge_voltage_volt"]
    return battery_frame(store, battery_id, everything).drop(added)
