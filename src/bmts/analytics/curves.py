"""Per-cycle discharge curves Q(V) on a fixed voltage grid (the SPEC discharge-curves table)."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from bmts.analytics.cycles import interval_charge_ah, step_labels


def voltage_grid(v_max: float, v_min: float, points: int = 1000) -> np.ndarray:
    """Descending grid from v_max to v_min, as Severson et al. use (3.6 V -> 2.0 V, 1000 points)."""
    return np.linspace(v_max, v_min, points)


def discharge_curve(
    time_s: np.ndarray, voltage_v: np.ndarray, current_a: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    """Ah discharged when the voltage of the longest discharge step first fell to each grid voltage.

    The voltage is made monotone (running minimum) before interpolation so noise cannot fold the
    curve; grid points outside the step's voltage range are NaN.
    """
    labels = step_labels(current_a)
    dq = interval_charge_ah(time_s, current_a, labels)
    discharging = current_a < 0
    if not discharging.any():
        return np.full(grid.size, np.nan)
    step_ah = np.bincount(labels[discharging], weights=-dq[discharging], minlength=labels.max() + 1)
    main = int(np.argmax(step_ah))
    idx = np.flatnonzero(labels == main)
    q = np.cumsum(-dq[idx]) - (-dq[idx[0]])
    v = np.minimum.accumulate(voltage_v[idx])
    # np.interp needs increasing x: reverse the falling voltage
    out = np.interp(grid, v[::-1], q[::-1], left=np.nan, right=np.nan)
    return out


def discharge_curves(frame: pl.DataFrame, cycles: np.ndarray, grid: np.ndarray) -> pl.DataFrame:
    """Long table cycle, voltage_v, discharge_capacity_ah for every cycle with a discharge."""
    t = frame["test_time_second"].to_numpy()
    v = frame["voltage_volt"].to_numpy()
    i = frame["current_ampere"].to_numpy()
    order = np.argsort(cycles, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(cycles[order]) != 0, True])
    parts = []
    for a, b in itertools.pairwise(bounds):
        sel = order[a:b]
        q = discharge_curve(t[sel], v[sel], i[sel], grid)
        if np.isfinite(q).any():
            parts.append(
                pl.DataFrame(
                    {
                        "cycle": np.full(grid.size, cycles[sel[0]], dtype=np.int64),
                        "voltage_v": grid,
                        "discharge_capacity_ah": q,
                    }
                )
            )
    if not parts:
        return pl.DataFrame(
            schema={"cycle": pl.Int64, "voltage_v": pl.Float64, "discharge_capacity_ah": pl.Float64}
        )
    return pl.concat(parts)
