"""State of health: capacity from full cycles and from partial charge windows, resistance from current
steps, each with an uncertainty. Pure: arrays in, frames out. Current > 0 while charging.

Full cycles: the discharged Ah of every cycle (trapezoid-free backward sums, as cyclers log each row as the
end of its interval). Partial windows: the charge (Ah) passed while the voltage climbs through a fixed window
(default 3.8-4.1 V), per cycle, plus the charge outside the window, taken as constant (capacity fade happens
inside the window). That constant is calibrated on full cycles of the same data when there are any, else on
the first cycles, taken to be at the nominal capacity (a new cell). Resistance: |dV/dI| at sharp current steps, relative to the first cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

CAL_CYCLES = 5  # cycles that calibrate a partial-window fraction when no full cycle is available
MIN_FULL_FRACTION = 0.02  # a "cycle" discharging less than this fraction of nominal is not a cycle


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


def full_cycle_capacity(t: np.ndarray, i: np.ndarray, cycles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cycle ids, discharged Ah per cycle)."""
    dt = _dt(t, cycles)
    return _per_cycle(cycles, np.where(i < 0, -i * dt, 0.0) / 3600.0)


def window_charge(
    t: np.ndarray, v: np.ndarray, i: np.ndarray, cycles: np.ndarray, window: Window
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cycle ids, Ah charged inside the voltage window, fraction of the window the cycle covered)."""
    dt = _dt(t, cycles)
    inside = (v >= window.v_low) & (v <= window.v_high) & (i > 0)
    prev_inside = np.r_[False, inside[:-1]]
    ids, ah = _per_cycle(cycles, np.where(inside & prev_inside, i * dt, 0.0) / 3600.0)
    lo = (
        pl.DataFrame({"c": cycles, "v": np.where(inside, v, np.nan)})
        .group_by("c")
        .agg(pl.col("v").min().alias("lo"), pl.col("v").max().alias("hi"))
    )
    lo = lo.sort("c")
    span = (lo["hi"].to_numpy() - lo["lo"].to_numpy()) / (window.v_high - window.v_low)
    return ids, ah, np.nan_to_num(span, nan=0.0)


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


def soh_from_full_cycles(t: np.ndarray, i: np.ndarray, cycles: np.ndarray, nominal_ah: float) -> pl.DataFrame:
    """Capacity and SOH of every cycle that discharged at least 2 % of nominal."""
    ids, cap = full_cycle_capacity(t, i, cycles)
    keep = cap >= MIN_FULL_FRACTION * nominal_ah
    # integration with the cycler's own current: 0.3 % gain class plus one sample of rounding
    std = 0.003 * cap[keep] + 0.001 * nominal_ah
    return capacity_soh(ids[keep], cap[keep], std, nominal_ah, "full_cycle")


def soh_from_windows(
    t: np.ndarray,
    v: np.ndarray,
    i: np.ndarray,
    cycles: np.ndarray,
    nominal_ah: float,
    window: Window | None = None,
    reference: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Capacity from the charge in a voltage window. `reference`: full-cycle estimates (cycle,
    capacity_ah) of the same cell to calibrate the window fraction; else the first cycles are taken as
    nominal. Cycles covering less than half the window are skipped."""
    win = window or Window()
    ids, ah, span = window_charge(t, v, i, cycles, win)
    ok = (span >= 0.5) & (ah > 0)
    ids, ah = ids[ok], ah[ok]
    if ids.size == 0:
        return capacity_soh(np.zeros(0), np.zeros(0), np.zeros(0), nominal_ah, "partial_window")
    if reference is not None and reference.height:
        ref = dict(zip(reference["cycle"].to_list(), reference["capacity_ah"].to_list(), strict=True))
        outside = np.array([ref[c] - a for c, a in zip(ids.tolist(), ah, strict=True) if c in ref])
    else:
        outside = np.array([])
    calibrated = outside.size >= 3
    if not calibrated:
        outside = nominal_ah - ah[:CAL_CYCLES]
    # the charge outside the window is taken as constant: ageing removes capacity inside the window
    # (for LCO/graphite at 3.8-4.1 V this tracks capacity far better than a constant fraction would)
    q_out = float(np.median(outside))
    spread = float(np.std(outside)) if outside.size > 1 else 0.05 * nominal_ah
    cap = ah + q_out
    # calibration scatter, the nominal-capacity assumption (3 % of nominal) and the window charge (1 %)
    std = np.sqrt(spread**2 + (0.0 if calibrated else 0.03 * nominal_ah) ** 2 + (0.01 * ah) ** 2)
    return capacity_soh(ids, cap, std, nominal_ah, "partial_window")


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
