"""State of health: capacity from full cycles and from partial charge windows, resistance from current
steps, each with an uncertainty. Pure: arrays in, frames out. Current > 0 while charging.

Full cycles: the discharged Ah of every cycle (trapezoid-free backward sums, as cyclers log each row as the
end of its interval). Partial windows: the charge (Ah) passed while the voltage climbs through a fixed window
(default 3.8-4.1 V), per cycle, plus the charge outside the window, taken as constant (capacity fade happens
inside the window), less the charge below the window a cycle did not need because its charge began closer
below the window than the first cycles' did (seen in the charge-onset transient, `soh_onset`). The constant
is calibrated on full cycles of the same data when there are any, else on the first cycles, taken to be at
the nominal capacity (a new cell); or the whole window model is fitted on reference cells (`soh_reference`).
Resistance: |dV/dI| at sharp current steps, relative to the first cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from bmts.analytics.cycles import deep_discharge_fraction, step_labels
from bmts.analytics.soh_onset import below_window_shortfall, excess_slopes
from bmts.analytics.soh_reference import WindowCapacityModel, feature_matrix

CAL_CYCLES = 5  # cycles that calibrate a partial-window fraction when no full cycle is available
MIN_FULL_FRACTION = 0.02  # a "cycle" discharging less than this fraction of nominal is not a cycle
MIN_DISCHARGE_C_RATE = 0.02  # a sample discharging at more than C/50 is part of a discharge
# a full discharge starts this close to the highest discharge starts in the data (their 99th percentile: a
# rest after a full charge relaxes by tens of mV) and ends in the lowest quarter of the voltage range above
# the lowest voltages discharges reached (1st percentile): the last logged sample of a discharge lands
# anywhere in the steep tail (NASA PCoE B0007: 1.74-2.20 V at a 2.2 V cut-off), little charge apart
TOP_TOLERANCE_V = 0.05
BOTTOM_RANGE_FRACTION = 0.25
# a charge "entered" the window when its first sample inside is within this many logging steps of v_low
ENTRY_STEPS = 2.0
ENTRY_MIN_V = 0.005  # ... or this close to it (noise and resolution of cycler and BMS logs)


@dataclass(frozen=True)
class Window:
    v_low: float = 3.8
    v_high: float = 4.1


def _dt(t: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """Interval ending at each sample; zero at the start of each cycle and across gaps in the log."""
    dt = np.diff(t, prepend=t[:1])
    typical = float(np.median(dt[dt > 0])) if np.any(dt > 0) else 1.0
    dt[np.r_[True, cycles[1:] != cycles[:-1]]] = 0.0
    dt[dt > max(50 * typical, 600.0)] = 0.0  # a gap in the log, not an interval of one step
    return dt


def _per_cycle(cycles: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids, inverse = np.unique(cycles, return_inverse=True)
    return ids, np.bincount(inverse, weights=values, minlength=ids.size)


def full_cycle_capacity(
    t: np.ndarray,
    i: np.ndarray,
    cycles: np.ndarray,
    voltage_v: np.ndarray | None = None,
    end_of_discharge_v: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(cycle ids, discharged Ah per cycle); with the end-of-discharge voltage a data set defines its
    capacity to (per sample, NaN where none), only the charge down to it, as `bmts cycles` counts it."""
    dt = _dt(t, cycles)
    ah = np.where(i < 0, -i * dt, 0.0) / 3600.0
    if voltage_v is not None and end_of_discharge_v is not None:
        eod = np.nan_to_num(end_of_discharge_v, nan=-np.inf)
        ah = ah * (1.0 - deep_discharge_fraction(voltage_v, i, step_labels(i), eod))
    return _per_cycle(cycles, ah)


def window_charge(
    t: np.ndarray, v: np.ndarray, i: np.ndarray, cycles: np.ndarray, window: Window
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cycle ids, Ah charged inside the voltage window, fraction of the window the cycle covered, whether
    the charge entered the window from below). Entered: the first sample inside lies within two of the
    cycle's first voltage steps (or 5 mV) above v_low (a charge that starts inside the window starts higher)."""
    dt = _dt(t, cycles)
    inside = (v >= window.v_low) & (v <= window.v_high) & (i > 0)
    prev_inside = np.r_[False, inside[:-1]]
    ids, ah = _per_cycle(cycles, np.where(inside & prev_inside, i * dt, 0.0) / 3600.0)
    order = np.arange(v.size)
    per = (
        pl.DataFrame({"c": cycles[inside], "v": v[inside], "k": order[inside]})
        .sort("k")
        .group_by("c")
        .agg(
            pl.col("v").min().alias("lo"),
            pl.col("v").max().alias("hi"),
            pl.col("v").first().alias("v0"),
            ((pl.col("v").head(4).last() - pl.col("v").first()) / (pl.len().clip(2, 4) - 1)).alias("step"),
        )
    )
    per = pl.DataFrame({"c": ids}).join(per, on="c", how="left", maintain_order="left")
    span = (per["hi"].to_numpy() - per["lo"].to_numpy()) / (window.v_high - window.v_low)
    step = np.nan_to_num(per["step"].to_numpy().astype(float), nan=0.0)
    offset = per["v0"].to_numpy().astype(float) - window.v_low
    entered = offset <= np.maximum(ENTRY_STEPS * np.abs(step), ENTRY_MIN_V)
    return ids, ah, np.nan_to_num(span, nan=0.0), np.nan_to_num(entered, nan=False).astype(bool)


def _excess_slopes(
    t: np.ndarray, v: np.ndarray, i: np.ndarray, cycles: np.ndarray, window: Window, ids: np.ndarray
) -> tuple[np.ndarray, ...]:
    """`soh_onset.excess_slopes` of each cycle's in-window samples, aligned with `ids` (NaN where none)."""
    inside = (v >= window.v_low) & (v <= window.v_high) & (i > 0)
    tw, vw, iw, cw = t[inside], v[inside], i[inside], cycles[inside]
    if cw.size == 0 or ids.size == 0:
        return tuple(np.full(ids.size, np.nan) for _ in range(4))
    edges = np.flatnonzero(np.r_[True, cw[1:] != cw[:-1], True])
    found = excess_slopes(tw, vw, iw, edges[:-1], edges[1:])
    run_cycle = cw[edges[:-1]]
    where = np.minimum(np.searchsorted(ids, run_cycle), ids.size - 1)
    known = ids[where] == run_cycle
    out = []
    for values in found:
        aligned = np.full(ids.size, np.nan)
        aligned[where[known]] = values[known]  # a cycle split in two runs keeps its last run
        out.append(aligned)
    return tuple(out)


def capacity_soh(
    cycle: np.ndarray, capacity_ah: np.ndarray, std_ah: np.ndarray, nominal_ah: float, method: str
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "cycle": cycle.astype(np.int64),
            "capacity_ah": capacity_ah,
            "soh": capacity_ah / nominal_ah,
            "capacity_std_ah": std_ah,
            "soh_std": std_ah / nominal_ah,
            "method": [method] * cycle.size,
        }
    )


def full_discharges(
    v: np.ndarray, i: np.ndarray, cycles: np.ndarray, nominal_ah: float
) -> tuple[np.ndarray, np.ndarray]:
    """(cycle ids, whether the cycle's discharge ran over the whole voltage range the data shows): it began
    within TOP_TOLERANCE_V of the highest discharge starts (the voltage just before its first discharging
    sample: a rest after a full charge, or the charge's end) and reached the lowest quarter of the range
    above the lowest voltages discharges reached. Data that never reaches the cell's limits (a fleet kept
    at 20-80 %) calls its deepest cycles full. Only such a discharge measures the capacity; a partial one (a
    vehicle driven from 80 to 30 %) says how much was used, not how much there is."""
    ids = np.unique(cycles)
    discharging = i < -MIN_DISCHARGE_C_RATE * nominal_ah
    if not discharging.any():
        return ids, np.zeros(ids.size, dtype=bool)
    before = np.r_[v[:1], v[:-1]]
    per = (
        pl.DataFrame({"c": cycles[discharging], "start": before[discharging], "v": v[discharging]})
        .group_by("c")
        .agg(pl.col("start").first(), pl.col("v").min().alias("end"))
    )
    per = pl.DataFrame({"c": ids}).join(per, on="c", how="left", maintain_order="left")
    start = per["start"].to_numpy().astype(float)
    end = per["end"].to_numpy().astype(float)
    top, bottom = np.nanpercentile(start, 99), np.nanpercentile(end, 1)
    full = (start >= top - TOP_TOLERANCE_V) & (end <= bottom + BOTTOM_RANGE_FRACTION * (top - bottom))
    return ids, np.nan_to_num(full, nan=False).astype(bool)


def soh_from_full_cycles(
    t: np.ndarray,
    i: np.ndarray,
    cycles: np.ndarray,
    nominal_ah: float,
    voltage_v: np.ndarray | None = None,
    end_of_discharge_v: np.ndarray | None = None,
) -> pl.DataFrame:
    """Capacity and SOH of every cycle that discharged at least 2 % of nominal; given the voltage, of
    every cycle whose discharge was full (`full_discharges`), counted down to `end_of_discharge_v`."""
    ids, cap = full_cycle_capacity(t, i, cycles, voltage_v, end_of_discharge_v)
    keep = cap >= MIN_FULL_FRACTION * nominal_ah
    if voltage_v is not None:
        keep &= full_discharges(voltage_v, i, cycles, nominal_ah)[1]
    # integration with the cycler's own current: 0.3 % gain class plus one sample of rounding
    std = 0.003 * cap[keep] + 0.001 * nominal_ah
    return capacity_soh(ids[keep], cap[keep], std, nominal_ah, "full_cycle")


def window_features(
    t: np.ndarray, v: np.ndarray, i: np.ndarray, cycles: np.ndarray, window: Window
) -> pl.DataFrame:
    """Per cycle whose charge covered at least half the window: `cycle`, `window_ah` (charged inside it),
    `shortfall_ah` (charge below the window the cycle did not need, from the onset transient, `soh_onset`),
    `charged_ah` (the window's charge less that shortfall) and `entered` (the charge entered the window
    from below)."""
    ids, ah, span, entered = window_charge(t, v, i, cycles, window)
    ok = (span >= 0.5) & (ah > 0)
    ids, ah, entered = ids[ok], ah[ok], entered[ok]
    onset = below_window_shortfall(*_excess_slopes(t, v, i, cycles, window, ids))
    return pl.DataFrame(
        {
            "cycle": ids,
            "window_ah": ah,
            "shortfall_ah": onset.shortfall_ah,
            "charged_ah": ah - onset.shortfall_ah,
            "entered": entered,
        }
    )


def soh_from_windows(
    t: np.ndarray,
    v: np.ndarray,
    i: np.ndarray,
    cycles: np.ndarray,
    nominal_ah: float,
    window: Window | None = None,
    reference: pl.DataFrame | None = None,
    calibration: WindowCapacityModel | None = None,
) -> pl.DataFrame:
    """Capacity from the charge in a voltage window. `reference`: full-cycle estimates (cycle,
    capacity_ah) of the same cell to calibrate the window fraction; else the first cycles are taken as
    nominal. Cycles covering less than half the window are skipped. A charge that began closer below the
    window than the reference cycles' did needs less of the calibrated charge below it; the onset transient
    shows how much (`soh_onset`), and is subtracted. Cycles whose charge started inside the window (method
    `partial_window_started_inside`) need none of it: extrapolating the missing part of the window would
    overstate their capacity further. `calibration`: a `soh_reference.WindowCapacityModel` fitted on
    reference cells of the same type, used instead of `reference` and the nominal assumption."""
    feats = window_features(t, v, i, cycles, window or Window())
    if feats.height == 0:
        return capacity_soh(np.zeros(0), np.zeros(0), np.zeros(0), nominal_ah, "partial_window")
    ids, ah, entered = feats["cycle"].to_numpy(), feats["window_ah"].to_numpy(), feats["entered"].to_numpy()
    shortfall = feats["shortfall_ah"].to_numpy()
    # charge the cycle did not need below the window (it started closer to it than the reference cycles)
    charged = feats["charged_ah"].to_numpy()
    if calibration is not None:
        cap, std_fit = calibration.predict(feature_matrix(feats, calibration.features), return_std=True)
        outside_ah = np.maximum(cap - charged, 0.0)
        std = np.sqrt(
            std_fit**2
            + (0.01 * ah) ** 2
            + np.where(entered, 0.5 * shortfall, outside_ah / np.sqrt(12.0)) ** 2
        )
        return _labelled(capacity_soh(ids, cap, std, nominal_ah, "partial_window_reference"), entered)
    if reference is not None and reference.height:
        ref = dict(zip(reference["cycle"].to_list(), reference["capacity_ah"].to_list(), strict=True))
        in_ref = np.array([c in ref for c in ids.tolist()])
        outside = np.array([ref[c] for c in ids[in_ref].tolist()]) - charged[in_ref]
    else:
        in_ref = np.zeros(ids.size, dtype=bool)
        outside = np.array([])
    calibrated = outside.size > 0
    if not calibrated:  # a new cell is at its nominal capacity
        in_ref = np.arange(ids.size) < CAL_CYCLES
        outside = nominal_ah - charged[in_ref]
    # the charge outside the window is taken as constant: ageing removes capacity inside the window
    # (for LCO/graphite at 3.8-4.1 V this tracks capacity far better than a constant fraction would)
    q_out = float(np.median(outside))
    # one calibration cycle: the cycle-to-cycle scatter of the window charge, ~1 % of nominal on CALCE
    spread = float(np.std(outside)) if outside.size > 1 else 0.01 * nominal_ah
    cap = charged + q_out
    # the constant outside charge is an assumption: a cell that loses charge outside the window in
    # proportion to what it loses inside (the other bound) has the window's loss since calibration times
    # q_out / window charge less; half that is the assumption's standard uncertainty
    window_ref = float(np.median(charged[in_ref]))
    window_loss = np.maximum(window_ref - charged, 0.0)
    assumption = 0.5 * window_loss * max(q_out, 0.0) / max(window_ref, 1e-9)
    # calibration scatter, the nominal-capacity assumption (3 % of nominal), the window charge (1 %), half
    # the onset correction; a charge that started inside the window needs none of the calibrated charge
    # below it, an unknown share of q_out of which the onset shows only part (uniform over 0..q_out)
    std = np.sqrt(
        spread**2
        + (0.0 if calibrated else 0.03 * nominal_ah) ** 2
        + (0.01 * ah) ** 2
        + assumption**2
        + np.where(entered, 0.5 * shortfall, max(q_out, 0.0) / np.sqrt(12.0)) ** 2
    )
    return _labelled(capacity_soh(ids, cap, std, nominal_ah, "partial_window"), entered)


def _labelled(table: pl.DataFrame, entered: np.ndarray) -> pl.DataFrame:
    """A charge that started inside the window is labelled so (`<method>_started_inside`)."""
    return table.with_columns(
        pl.when(pl.Series(entered)).then(pl.col("method")).otherwise(pl.col("method") + "_started_inside")
    )


def resistance_soh(cycle: np.ndarray, resistance_ohm: np.ndarray) -> pl.DataFrame:
    """Resistance relative to the median of the first cycles that have one (1.0 = as new, > 1 worse),
    with the scatter of those first cycles as uncertainty."""
    r = np.asarray(resistance_ohm, dtype=float)
    valid = np.isfinite(r) & (r > 0)
    first = r[valid][:CAL_CYCLES]
    ref = float(np.median(first)) if first.size else float("nan")
    rel_std = float(np.std(first) / ref) if first.size > 1 else float("nan")
    growth = r / ref
    return pl.DataFrame(
        {
            "cycle": np.asarray(cycle, dtype=np.int64),
            "resistance_ohm": r,
            "resistance_growth": growth,
            "resistance_growth_std": np.abs(growth) * rel_std,
        }
    )
