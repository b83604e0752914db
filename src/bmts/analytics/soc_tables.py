"""The SOC filter's look-up tables: the cell model's parameters on a SOC grid at one temperature. Pure.

The filter reads OCV, its slope and the ECM parameters at every block, and the start check at every sample:
they are tabulated once per 0.5 K on a 201-point grid and read by index.
"""

from __future__ import annotations

import numpy as np

from bmts.analytics.compiled import compiled
from bmts.analytics.ecm import CellModel

GRID = 201  # SOC grid of the per-temperature look-up tables
SOC_GRID = np.linspace(0.0, 1.0, GRID)
SOC_GRID.flags.writeable = False
_BOX5 = np.ones(5) / 5
_BOX5.flags.writeable = False
#: the SOC variance over which the tabulated tangent is averaged (a 5-point box, 2 grid steps^2, of central
#: differences, 1/3); a wider SOC distribution is linearised over the distribution instead
TANGENT_VAR = (2.0 + 1.0 / 3.0) / (GRID - 1) ** 2


@compiled
def grid_index(soc: float, last: int) -> int:
    """The nearest point to `soc` of the grid 0, 1 / last, ..., 1 (SOC_GRID: last = GRID - 1), clamped to
    the grid; compiled, as the filter's and the start check's loops call it too."""
    return min(max(int(np.rint(soc * last)), 0), last)


class Lookup:
    """Model parameters on a SOC grid at one temperature (one per 0.5 degC: built often, kept cheap)."""

    def __init__(
        self, model: CellModel, temperature: float | None, floor_rel: float, unmeasured_rel: float
    ) -> None:
        s = SOC_GRID
        p = model.params(s, temperature)
        measured = model.model_error_rel(temperature)
        # the model error's share of the overpotential: the characterisation's measured one, never below
        # the configured floor (one load rate does not show the model better than that elsewhere); where
        # no long load measured it, what such models typically miss by at long loads
        self.error_rel = max(floor_rel, measured if np.isfinite(measured) else unmeasured_rel)
        self.ocv = model.ocv(s) + p["ocv_offset_v"]
        slope = np.maximum(np.gradient(self.ocv, s), 0.05)
        # smoothed over 5 grid points, the ends repeated
        slope = np.convolve(
            np.concatenate([slope[:1], slope[:1], slope, slope[-1:], slope[-1:]]), _BOX5, "valid"
        )
        keys = ("r0_ohm", "r1_ohm", "tau1_s", "r2_ohm", "tau2_s", "bv_scale_a")
        self.rows = np.column_stack(np.broadcast_arrays(self.ocv, slope, *(p[k] for k in keys)))
        self.spread = interpolation_spread(model, temperature, p)  # per grid point: R0, R1, R2

    def at(self, soc: float) -> tuple[float, ...]:
        k = grid_index(soc, GRID - 1)
        ocv, slope, *rest = self.rows[k].tolist()
        return (ocv + slope * (soc - k / (GRID - 1)), slope, *rest)

    def soc_of_voltage(self, v: float) -> float:
        return float(np.interp(v, self.ocv, SOC_GRID))


def interpolation_spread(
    model: CellModel, temperature: float | None, on_grid: dict[str, np.ndarray]
) -> np.ndarray:
    """Per grid point, the relative std of R0, R1 and R2 from not knowing them between two pulse sets.

    Between two sets a resistance is taken as a random walk in SOC tied to both sets' values (a Brownian
    bridge) whose rate is the interval's own increment: std = |R_b - R_a| sqrt(w (1 - w)) at w = (s - a) /
    (b - a), half the step in the middle, zero at the sets and outside them. A pulse test whose resistances
    change sharply from one set to the next (near full or empty, in the cold) is trusted less between them.
    `on_grid`: the model's parameters on SOC_GRID at `temperature`."""
    points = np.unique(np.concatenate([t.soc for t in model.tables]))
    out = np.zeros((GRID, 3))
    if points.size < 2:
        return out
    at_points = model.params(points, temperature)
    k = np.clip(np.searchsorted(points, SOC_GRID) - 1, 0, points.size - 2)
    w = np.clip((SOC_GRID - points[k]) / (points[k + 1] - points[k]), 0.0, 1.0)
    bridge = np.sqrt(w * (1.0 - w))
    for j, key in enumerate(("r0_ohm", "r1_ohm", "r2_ohm")):
        r = np.asarray(at_points[key], dtype=np.float64)
        here = np.broadcast_to(on_grid[key], SOC_GRID.shape)
        std = np.abs(r[k + 1] - r[k]) * bridge
        out[:, j] = np.divide(std, here, out=np.zeros(GRID), where=here > 0)
    return out
