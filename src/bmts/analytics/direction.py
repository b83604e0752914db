"""Recover the sign of an unsigned (magnitude-only) current from the voltage response.

Some exports (e.g. Maccor files converted without the mode column) carry |I| only. Within a step
of non-zero current the voltage rises while charging and falls while discharging; a constant-voltage
hold sits at the top of the window when charging and at the bottom when discharging.
"""

from __future__ import annotations

import numpy as np

#: a step whose voltage stays within this band while its current changes by this fraction is a CV hold
CV_VOLTAGE_BAND = 0.01
CV_CURRENT_SPREAD = 0.2


def step_boundaries(current_abs: np.ndarray, step: np.ndarray | None, threshold: float) -> np.ndarray:
    """Integer step labels: a new step wherever `step` changes or the current switches on/off."""
    active = current_abs > threshold
    change = np.zeros(current_abs.size, dtype=bool)
    change[1:] = active[1:] != active[:-1]
    if step is not None:
        change[1:] |= step[1:] != step[:-1]
    return np.cumsum(change)


def signed_current(
    voltage: np.ndarray,
    current_abs: np.ndarray,
    step: np.ndarray | None = None,
    voltage_window: tuple[float, float] | None = None,
) -> np.ndarray:
    """Signed current (charge > 0) from |I| and V, deciding the direction of each step."""
    current_abs = np.abs(current_abs)
    if current_abs.size == 0:
        return current_abs.copy()
    threshold = 1e-3 * float(current_abs.max())
    labels = step_boundaries(current_abs, step, threshold)
    lo, hi = voltage_window or (float(np.min(voltage)), float(np.max(voltage)))
    middle = 0.5 * (lo + hi)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], labels.size]
    sign = np.ones(current_abs.size)
    for a, b in zip(starts, ends, strict=True):
        if current_abs[a:b].max() <= threshold:
            continue
        v, i = voltage[a:b], current_abs[a:b]
        rise = v[-1] - v[0]
        constant_voltage = (
            float(np.ptp(v)) < CV_VOLTAGE_BAND and float(np.ptp(i)) > CV_CURRENT_SPREAD * i.max()
        )
        if constant_voltage or abs(rise) <= 1e-3:
            direction = 1.0 if float(np.mean(v)) >= middle else -1.0
        else:
            direction = 1.0 if rise > 0 else -1.0
        sign[a:b] = direction
    return sign * current_abs
