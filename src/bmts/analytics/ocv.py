"""Open-circuit voltage OCV(SOC) from a low-rate (C/20) or GITT-like test. Pure: arrays in, curves out.

Sign convention: current > 0 while charging. SOC is 0..1 on the basis of `capacity_ah` (by default the
discharged capacity of the test itself, so SOC = 1 + Ah / C_ref for a test that starts full).
Low-rate test: the voltage under the low current, per branch (discharge, charge). GITT (or any test of
current pulses separated by long rests, at least `GITT_MIN_POINTS` of them): the voltage at the end of
each rest of at least `GITT_REST_S`, per branch by the direction of the pulse before it. The OCV is the
mean of the charge and discharge branches where both exist (this cancels the small ohmic drop of the
low-rate current and centres the hysteresis); where only one branch exists it is that branch shifted by
the half-gap measured where the two meet. The half-gap is kept as `hysteresis_v`. A test that is neither
(most of its charge moved faster than C/5 without long rests: a drive cycle, a capacity test) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bmts.analytics.cycles import loads_then_rest
from bmts.schema import DataError, Issue

GRID_POINTS = 201
#: a rest this long (s) ends close enough to equilibrium to read the OCV from its last sample
GITT_REST_S = 600.0
#: a GITT-like test has at least this many relaxed points
GITT_MIN_POINTS = 10
#: a low-rate test moves at most this share of its charge faster than C/5
FAST_CHARGE_SHARE = 0.1


@dataclass(frozen=True)
class OcvCurve:
    """OCV on an ascending SOC grid; strictly increasing so it can be inverted."""

    soc: np.ndarray
    voltage: np.ndarray
    hysteresis_v: np.ndarray = field(default_factory=lambda: np.zeros(0))
    capacity_ah: float = float("nan")

    def __post_init__(self) -> None:
        if self.soc.size < 2 or self.soc.shape != self.voltage.shape:
            raise ValueError("OCV curve needs matching soc and voltage arrays of at least two points")

    def __call__(self, soc: np.ndarray | float) -> np.ndarray:
        return np.asarray(np.interp(soc, self.soc, self.voltage))

    def slope(self, soc: np.ndarray | float) -> np.ndarray:
        """dOCV/dSOC (V per unit SOC), piecewise constant between grid points, smoothed over 3 cells."""
        d = np.gradient(self.voltage, self.soc)
        d = np.convolve(np.pad(d, 1, mode="edge"), np.ones(3) / 3, mode="valid")
        return np.asarray(np.interp(soc, self.soc, d))

    def inverse(self, voltage: np.ndarray | float) -> np.ndarray:
        """SOC at which the OCV equals `voltage` (clamped to the curve's range)."""
        return np.asarray(np.interp(voltage, self.voltage, self.soc))

    def to_dict(self) -> dict[str, object]:
        return {
            "soc": [round(float(x), 6) for x in self.soc],
            "voltage_v": [round(float(x), 6) for x in self.voltage],
            "hysteresis_v": [round(float(x), 6) for x in self.hysteresis_v],
            "capacity_ah": float(self.capacity_ah),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object], where: str = "model") -> OcvCurve:
        try:
            soc = np.asarray(data["soc"], dtype=float)
            volt = np.asarray(data["voltage_v"], dtype=float)
            hyst = np.asarray(data.get("hysteresis_v", []), dtype=float)
            cap = float(data.get("capacity_ah", float("nan")))  # type: ignore[arg-type]
        except KeyError as e:
            raise DataError(Issue(where, f"the 'ocv' section has no field {e}", column="ocv")) from None
        except (TypeError, ValueError) as e:
            raise DataError(Issue(where, f"bad 'ocv' section: {e}", column="ocv")) from None
        if soc.size < 2 or soc.shape != volt.shape or np.any(np.diff(soc) <= 0):
            raise DataError(Issue(where, "'ocv' needs ascending 'soc' and as many 'voltage_v' values"))
        return cls(soc, _strictly_increasing(volt), hyst, cap)


def _strictly_increasing(v: np.ndarray) -> np.ndarray:
    out = np.maximum.accumulate(np.asarray(v, dtype=float))
    return out + np.arange(out.size) * 1e-7


def rest_ends(time_s: np.ndarray, current_a: np.ndarray, rest_a: float) -> tuple[np.ndarray, np.ndarray]:
    """Index of the last sample of every rest (|I| <= `rest_a`) of at least `GITT_REST_S` that follows a
    load, and whether that load was a discharge."""
    _, stops, ends = loads_then_rest(time_s, current_a, GITT_REST_S, rest_a)
    return ends.astype(np.int64), current_a[stops - 1] < 0


def _branch(soc: np.ndarray, volt: np.ndarray, grid: np.ndarray, min_points: int = 5) -> np.ndarray:
    """One branch on the grid (NaN outside its SOC range), made monotone in SOC."""
    if soc.size < min_points:
        return np.full(grid.size, np.nan)
    order = np.argsort(soc, kind="stable")
    s, v = soc[order], volt[order]
    # a rising isotonic envelope: running max from the bottom and running min from the top, averaged
    up = np.maximum.accumulate(v)
    down = np.minimum.accumulate(v[::-1])[::-1]
    mono = 0.5 * (up + down)
    out = np.interp(grid, s, mono)
    out[(grid < s[0]) | (grid > s[-1])] = np.nan
    return out


def integrate_ah(time_s: np.ndarray, current_a: np.ndarray) -> np.ndarray:
    """Net charge (Ah, + = charged) since the first sample; each sample's current over the interval
    ending at that sample (how cyclers log)."""
    dt = np.diff(time_s, prepend=time_s[:1])
    return np.cumsum(current_a * dt) / 3600.0


def fit_ocv(
    time_s: np.ndarray,
    voltage_v: np.ndarray,
    current_a: np.ndarray,
    capacity_ah: float | None = None,
    initial_soc: float = 1.0,
    where: str = "ocv test",
    points: int = GRID_POINTS,
    counter_ah: np.ndarray | None = None,
) -> OcvCurve:
    """OCV(SOC) from a low-rate discharge and/or charge test that starts at `initial_soc` (default: full).

    Charge: the cycler's net amp-hour counter `counter_ah` when given (its zero is taken as SOC =
    `initial_soc`: cyclers reset it at the end of the full charge), else the integrated current from the
    first sample. Capacity: `capacity_ah`, else the Ah discharged down to the end of the discharge.
    """
    t, v, i = (np.asarray(x, dtype=float) for x in (time_s, voltage_v, current_a))
    if t.size < 10:
        raise DataError(Issue(where, f"an OCV test needs at least 10 samples, got {t.size}"))
    if np.any(np.diff(t) < 0):
        raise DataError(Issue(where, "time runs backwards", column="test_time_second"))
    ah = integrate_ah(t, i) if counter_ah is None else np.asarray(counter_ah, dtype=float)
    loaded = np.abs(i[np.abs(i) > 1e-3])
    if loaded.size == 0:
        raise DataError(Issue(where, "no current: an OCV test needs a low-rate discharge or charge"))
    level = float(np.median(loaded))
    dis = i < -0.5 * level
    cha = i > 0.5 * level
    cap = capacity_ah
    if cap is None:
        if not dis.any():
            raise DataError(Issue(where, "no discharge in the OCV test; give the capacity explicitly"))
        cap = float((ah[0] if counter_ah is None else 0.0) - ah[dis].min())
    if not cap or cap <= 0:
        raise DataError(Issue(where, f"capacity must be positive, got {cap}"))
    soc = initial_soc + ah / cap
    grid = np.linspace(0.0, 1.0, points)
    relaxed, discharged = rest_ends(t, i, 0.1 * level)
    if relaxed.size >= GITT_MIN_POINTS:  # GITT: the relaxed voltages, each branch by its pulses' direction
        vd = _branch(soc[relaxed[discharged]], v[relaxed[discharged]], grid, min_points=3)
        vc = _branch(soc[relaxed[~discharged]], v[relaxed[~discharged]], grid, min_points=3)
    else:
        moved = np.abs(i) * np.diff(t, prepend=t[:1])
        fast = np.abs(i) > cap / 5
        if moved[fast].sum() > FAST_CHARGE_SHARE * moved.sum():
            raise DataError(
                Issue(
                    where,
                    f"not an OCV test: {100 * moved[fast].sum() / moved.sum():.0f}% of its charge moved "
                    f"faster than C/5 (up to {np.abs(i).max():.3g} A) and it has no long rests; "
                    "use a C/20 or GITT test",
                )
            )
        vd = _branch(soc[dis], v[dis], grid)
        vc = _branch(soc[cha], v[cha], grid)
    both = ~np.isnan(vd) & ~np.isnan(vc)
    if both.sum() >= 3:
        gap = 0.5 * (vc - vd)
        half = np.interp(grid, grid[both], gap[both])  # constant extension of the measured half-gap
        mean = np.where(both, 0.5 * (vd + vc), np.where(np.isnan(vd), vc - half, vd + half))
    else:
        half = np.zeros(points)
        mean = np.where(np.isnan(vd), vc, vd)
    known = ~np.isnan(mean)
    if known.sum() < 3:
        raise DataError(Issue(where, "the OCV test covers too little of the SOC range"))
    # outside the measured range: extend linearly with the edge slope (flagged by hysteresis NaN-free)
    s_known, v_known = grid[known], mean[known]
    mean = np.interp(grid, s_known, v_known)
    for edge, sl in ((grid < s_known[0], slice(0, 2)), (grid > s_known[-1], slice(-2, None))):
        if edge.any():
            ss, vv = s_known[sl], v_known[sl]
            k = (vv[1] - vv[0]) / max(ss[1] - ss[0], 1e-9)
            ref = 0 if sl.start == 0 else 1
            mean[edge] = vv[ref] + k * (grid[edge] - ss[ref])
    return OcvCurve(grid, _strictly_increasing(mean), np.clip(half, 0.0, None), float(cap))
