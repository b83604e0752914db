"""Equivalent-circuit cell model (R0 + two RC pairs) identified from pulse (HPPC) tests. Pure.

Voltage model, current > 0 charging:  V = OCV(SOC) + dOCV_T(SOC) + R0 I + v1 + v2,
dv_j/dt = (R_j I - v_j) / tau_j. `dOCV_T` is the offset of the relaxed voltage before each pulse set from
the low-rate OCV at the same SOC: it carries the temperature's OCV shift and the discharge-branch
hysteresis as the pulse test saw them. Each pulse set (the pulses at one SOC and the rests after them) is
fitted at once: taus by bounded least squares, R0/R1/R2 by linear least squares for given taus.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from bmts.analytics.cycles import load_runs
from bmts.analytics.ocv import OcvCurve
from bmts.schema import DataError, Issue

FORMAT = "bmts.cell-model"
VERSION = 1
#: Arrhenius temperature (Ea/R, K) used to scale resistances away from the fitted temperatures when the
#: model has only one; fitted from the tables when it has several. 2400 K is the fit over the 25/10/0 degC
#: Panasonic 18650PF pulse tests (characterisation data only; see docs/state-estimation.md).
DEFAULT_ACTIVATION_K = 2400.0
#: Ea/R of the Butler-Volmer scale (exchange current) below the coldest table, when the model has one
#: table; fitted when it has several. 8900 K: the fit over the 25/10/0 degC Panasonic pulse tables.
DEFAULT_BV_ACTIVATION_K = 8900.0
#: colder than a table whose Butler-Volmer scale is below this C-rate the pairs keep their Tafel slope: the
#: pulses (to 4-6C) then reach well past the scale, so it is identified (Panasonic 10 degC: 1.6C, 0 degC:
#: 0.37C; 25 degC: 5.9C, about the largest pulse, i.e. the pair is linear and its scale a bound)
TAFEL_C_RATE = 2.0
#: warmer than this above a table that nothing measured the warm side of (no warm-side activation from long
#: loads), its pairs too keep their Tafel slope: within several kelvin the common law fits better (a
#: simulated cell, -10 degC table at -6 degC: 24.5 vs 39.7 mV; Panasonic US06 drives, which warm most),
#: 10-25 K warmer it over-predicts the overpotential (a 0 degC model on 10 / 25 degC drives)
TAFEL_WARM_ABOVE_C = 10.0
TAU_BOUNDS = ((0.1, 20.0), (15.0, 2000.0))
SCALE_BOUNDS = (0.2, 200.0)
PARAM_KEYS = ("r0_ohm", "r1_ohm", "tau1_s", "r2_ohm", "tau2_s", "bv_scale_a", "ocv_offset_v")


def rc_response(t: np.ndarray, i: np.ndarray, tau: float, x0: float = 0.0) -> np.ndarray:
    """Exact zero-order-hold response of dv/dt = (i - v)/tau (unit resistance) sampled at `t`, with
    i[k] held over (t[k-1], t[k]] and v = x0 before the first sample. Vectorised in chunks of at most
    500 tau so the exponentials stay finite."""
    n = t.size
    out = np.empty(n)
    if n == 0:
        return out
    dt = np.diff(t, prepend=t[:1])
    a = np.exp(-dt / tau)
    v, start = float(x0), 0
    while start < n:
        v = a[start] * v + (1.0 - a[start]) * i[start]
        stop = max(int(np.searchsorted(t, t[start] + 500.0 * tau, side="right")), start + 1)
        grow = np.exp((t[start:stop] - t[start]) / tau)
        terms = (1.0 - a[start:stop]) * i[start:stop] * grow
        terms[0] = v
        out[start:stop] = np.cumsum(terms) / grow
        v = float(out[stop - 1])
        start = stop
        if start < n:  # the next chunk starts from the last value (its first sample recomputed above)
            v = float(out[start - 1])
    return out


@dataclass
class EcmTable:
    """Parameters on an ascending SOC grid at one temperature."""

    temperature_celsius: float
    cell_temperature_celsius: float
    soc: np.ndarray
    params: dict[str, np.ndarray]
    rmse_v: np.ndarray = field(default_factory=lambda: np.zeros(0))
    source: str = ""
    #: the table's measured model error as a fraction of its overpotential (long loads; NaN: not measured)
    model_error_rel: float = float("nan")

    def at(self, soc: np.ndarray | float) -> dict[str, np.ndarray]:
        return {k: np.interp(soc, self.soc, v) for k, v in self.params.items()}

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "temperature_celsius": round(self.temperature_celsius, 3),
            "cell_temperature_celsius": round(self.cell_temperature_celsius, 3),
            "source": self.source,
            "soc": [round(float(x), 5) for x in self.soc],
        }
        out.update({k: [float(f"{x:.6g}") for x in self.params[k]] for k in PARAM_KEYS})
        out["fit_rmse_v"] = [float(f"{x:.4g}") for x in self.rmse_v]
        if np.isfinite(self.model_error_rel):
            out["model_error_rel"] = round(self.model_error_rel, 4)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, object], where: str) -> EcmTable:
        try:
            soc = np.asarray(d["soc"], dtype=float)
            params = {k: np.asarray(d[k], dtype=float) for k in PARAM_KEYS}
            temp = float(d["temperature_celsius"])  # type: ignore[arg-type]
            cell = float(d.get("cell_temperature_celsius", temp))  # type: ignore[arg-type]
        except KeyError as e:
            raise DataError(Issue(where, f"an 'ecm' table has no field {e}", column="ecm")) from None
        except (TypeError, ValueError) as e:
            raise DataError(Issue(where, f"bad 'ecm' table: {e}", column="ecm")) from None
        if soc.size < 1 or any(v.shape != soc.shape for v in params.values()) or np.any(np.diff(soc) <= 0):
            raise DataError(Issue(where, "an 'ecm' table needs ascending 'soc' and one value per SOC"))
        rmse = np.asarray(d.get("fit_rmse_v", []), dtype=float)
        error = float(d.get("model_error_rel", float("nan")))  # type: ignore[arg-type]
        return cls(temp, cell, soc, params, rmse, str(d.get("source", "")), error)


@dataclass
class CellModel:
    """OCV(SOC) plus ECM tables per temperature; `to_dict()` is the documented JSON format."""

    ocv: OcvCurve
    capacity_ah: float
    tables: list[EcmTable]
    activation_k: float = DEFAULT_ACTIVATION_K
    bv_activation_k: float = DEFAULT_BV_ACTIVATION_K
    notes: dict[str, object] = field(default_factory=dict)
    #: Ea/R of the warm side (warmer than the warmest table), fitted from long loads that heated the cell
    #: above its table (analytics.long_load.fit_warm_activation); None: `activation_k` as there
    warm_activation_k: float | None = None

    def temperature_range(self) -> tuple[float, float]:
        temps = [t.cell_temperature_celsius for t in self.tables]
        return min(temps), max(temps)

    def model_error_rel(self, temperature: float | None) -> float:
        """The tables' measured relative model error at a cell temperature: linear between tables that
        have one, the nearest such table's outside; NaN when no table has one."""
        tabs = sorted(
            (t for t in self.tables if np.isfinite(t.model_error_rel)),
            key=lambda t: t.cell_temperature_celsius,
        )
        if not tabs:
            return float("nan")
        if temperature is None or not np.isfinite(temperature):
            return tabs[len(tabs) // 2].model_error_rel
        temps = [t.cell_temperature_celsius for t in tabs]
        return float(np.interp(temperature, temps, [t.model_error_rel for t in tabs]))

    def params(self, soc: np.ndarray | float, temperature: float | None) -> dict[str, np.ndarray]:
        """Parameters at SOC and cell temperature: linear between tables, Arrhenius-scaled outside."""
        tabs = sorted(self.tables, key=lambda t: t.cell_temperature_celsius)
        if temperature is None or not np.isfinite(temperature):
            return tabs[len(tabs) // 2].at(soc)
        temps = np.array([t.cell_temperature_celsius for t in tabs])
        if temperature <= temps[0] or temperature >= temps[-1]:
            return self._extrapolated(tabs[0] if temperature <= temps[0] else tabs[-1], soc, temperature)
        j = int(np.searchsorted(temps, temperature))
        w = (temperature - temps[j - 1]) / (temps[j] - temps[j - 1])
        lo, hi = tabs[j - 1].at(soc), tabs[j].at(soc)
        return {k: (1 - w) * lo[k] + w * hi[k] for k in lo}

    def _extrapolated(
        self, edge: EcmTable, soc: np.ndarray | float, temperature: float
    ) -> dict[str, np.ndarray]:
        """Outside the tables: R0 by Arrhenius. Colder than a table whose Butler-Volmer scale is identified
        (below TAFEL_C_RATE), the scale (exchange current) follows its own Arrhenius law and the RC pairs
        keep their Tafel slope R_j * b proportional to the absolute temperature; otherwise the pairs'
        resistances scale like R0 and the scale inversely — warmer than the table with the warm-side
        activation when the long loads measured one. Without one, more than TAFEL_WARM_ABOVE_C warmer than
        such a table the Tafel slope is kept from there on as on the cold side."""
        ref = edge.cell_temperature_celsius
        identified = float(np.median(edge.at(soc)["bv_scale_a"])) < TAFEL_C_RATE * self.capacity_ah
        far_warm = ref + TAFEL_WARM_ABOVE_C
        if temperature > far_warm and self.warm_activation_k is None and identified:
            # the common law up to TAFEL_WARM_ABOVE_C above the table, the Tafel slope kept beyond
            p = self._extrapolated(edge, soc, far_warm)
            p["r0_ohm"] = p["r0_ohm"] * arrhenius(temperature, far_warm, self.activation_k)
            bv = arrhenius(temperature, far_warm, self.bv_activation_k)
            p["bv_scale_a"] = p["bv_scale_a"] / bv
            for k in ("r1_ohm", "r2_ohm"):
                p[k] = p[k] * bv * (temperature + 273.15) / (far_warm + 273.15)
            return p
        p = edge.at(soc)
        warm = self.warm_activation_k if temperature > ref else None
        scale = arrhenius(temperature, ref, self.activation_k if warm is None else warm)
        p["r0_ohm"] = p["r0_ohm"] * scale
        if temperature < ref and identified:
            bv = arrhenius(temperature, ref, self.bv_activation_k)
            p["bv_scale_a"] = p["bv_scale_a"] / bv
            scale = bv * (temperature + 273.15) / (ref + 273.15)
        else:
            p["bv_scale_a"] = p["bv_scale_a"] / scale  # exchange current grows with temperature
        for k in ("r1_ohm", "r2_ohm"):
            p[k] = p[k] * scale
        return p

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "format": FORMAT,
            "version": VERSION,
            "current_sign": "positive while charging",
            "capacity_ah": round(self.capacity_ah, 6),
            "activation_temperature_k": round(self.activation_k, 1),
            "bv_activation_temperature_k": round(self.bv_activation_k, 1),
        }
        if self.warm_activation_k is not None:
            out["warm_activation_temperature_k"] = round(self.warm_activation_k, 1)
        out.update(
            {"ocv": self.ocv.to_dict(), "ecm": [t.to_dict() for t in self.tables], "notes": self.notes}
        )
        return out

    @classmethod
    def from_dict(cls, d: dict[str, object], where: str = "model") -> CellModel:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise DataError(Issue(where, f'not a bmts cell model (expected "format": "{FORMAT}")'))
        if d.get("version") != VERSION:
            raise DataError(Issue(where, f"unsupported cell-model version {d.get('version')!r}"))
        ocv = OcvCurve.from_dict(d.get("ocv"), where)  # type: ignore[arg-type]
        raw = d.get("ecm")
        if not isinstance(raw, list) or not raw:
            raise DataError(Issue(where, "the model has no 'ecm' tables (fit it with --pulse files)"))
        tables = [EcmTable.from_dict(t, where) for t in raw]
        cap = float(d.get("capacity_ah", ocv.capacity_ah))  # type: ignore[arg-type]
        if not cap > 0:
            raise DataError(Issue(where, "capacity_ah must be positive", column="capacity_ah"))
        act = float(d.get("activation_temperature_k", DEFAULT_ACTIVATION_K))  # type: ignore[arg-type]
        bv = float(d.get("bv_activation_temperature_k", DEFAULT_BV_ACTIVATION_K))  # type: ignore[arg-type]
        raw_warm = d.get("warm_activation_temperature_k")
        warm = None if raw_warm is None else float(raw_warm)  # type: ignore[arg-type]
        notes = dict(d.get("notes") or {})  # type: ignore[call-overload]
        return cls(ocv, cap, tables, act, bv, notes, warm)


def arrhenius(temp_c: float, ref_c: float, activation_k: float) -> float:
    return float(np.exp(activation_k * (1.0 / (temp_c + 273.15) - 1.0 / (ref_c + 273.15))))


def fit_activation(tables: list[EcmTable]) -> float:
    """Ea/R from the mean R0 of tables at different temperatures (default when fewer than two)."""
    temps = np.array([t.cell_temperature_celsius for t in tables])
    if temps.size < 2 or np.ptp(temps) < 3.0:
        return DEFAULT_ACTIVATION_K
    r0 = np.array([np.median(t.params["r0_ohm"][t.soc >= 0.2]) for t in tables])
    slope = np.polyfit(1.0 / (temps + 273.15), np.log(r0), 1)[0]
    return float(np.clip(slope, 500.0, 10000.0))


def fit_bv_activation(tables: list[EcmTable]) -> float:
    """Ea/R of the Butler-Volmer scale (exchange current) from tables at different temperatures; a scale
    at the fit's upper bound (a linear pair) says nothing about it and is left out."""
    b = np.array([np.median(t.params["bv_scale_a"]) for t in tables])
    keep = b < 0.5 * SCALE_BOUNDS[1]
    temps = np.array([t.cell_temperature_celsius for t in tables])[keep]
    b = b[keep]
    if temps.size < 2 or np.ptp(temps) < 3.0:
        return DEFAULT_BV_ACTIVATION_K
    slope = -np.polyfit(1.0 / (temps + 273.15), np.log(b), 1)[0]
    return float(np.clip(slope, 500.0, 20000.0))


def pulse_sets(
    t: np.ndarray, i: np.ndarray, max_pulse_s: float = 60.0, min_rest_s: float = 60.0
) -> list[slice]:
    """Windows holding the pulses at one SOC and the rests after them: from the last rest sample before
    the first pulse to the last rest sample before a long load, a gap in the log or the end."""
    starts, stops = load_runs(i)
    gap = np.flatnonzero(np.diff(t) > max(min_rest_s, 5 * float(np.median(np.diff(t))) if t.size > 1 else 1))
    sets: list[slice] = []
    cur: list[int] = []  # [first_index, last_index]
    prev_end = 0
    for a, b in zip(starts, stops, strict=True):
        short = t[b - 1] - t[max(a - 1, 0)] <= max_pulse_s
        rested = (
            a > 0 and t[a - 1] - t[prev_end] >= min_rest_s and not np.any((gap >= prev_end) & (gap < a - 1))
        )
        if cur and short and rested and not np.any((gap >= cur[1]) & (gap < a)):
            cur[1] = b - 1
        else:
            if cur:
                sets.append(slice(cur[0], _rest_end(cur[1], a, gap)))
            cur = [a - 1, b - 1] if short and rested else []
        prev_end = b - 1 if b - 1 > prev_end else prev_end
        prev_end = b
    if cur:
        sets.append(slice(cur[0], _rest_end(cur[1], t.size, gap)))
    return [s for s in sets if s.stop - s.start >= 10]


def _rest_end(last_load: int, next_load: int, gap: np.ndarray) -> int:
    after = gap[gap >= last_load]
    end = min(next_load, int(after[0]) + 1) if after.size else next_load
    return max(end, last_load + 1)


def _set_design(
    t: np.ndarray, v: np.ndarray, i: np.ndarray, soc: np.ndarray, ocv: OcvCurve
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Time from the set start, current, target (V minus the rested voltage moved along the OCV), weights."""
    y = v - (v[0] + (ocv(soc) - ocv(soc[0])))
    w = np.ones(t.size)
    w[0] = 0.0
    return t - t[0], i, y, w


def butler_volmer(i: np.ndarray | float, scale_a: np.ndarray | float) -> np.ndarray:
    """The current an RC pair sees: scale * asinh(i / scale) — linear for |i| << scale, logarithmic above
    (charge-transfer overpotential, strong in the cold)."""
    return scale_a * np.arcsinh(i / scale_a)


def _solve_set(
    design: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative R0, R1, R2 by linear least squares for given tau1, tau2, scale; weighted residuals."""
    tt, i, y, w = design
    g = butler_volmer(i, float(x[2]))
    cols = [i, rc_response(tt, g, float(x[0])), rc_response(tt, g, float(x[1]))]
    a = np.column_stack(cols) * w[:, None]
    coef, *_ = np.linalg.lstsq(a, y * w, rcond=None)
    if np.any(coef < 0):  # clip and refit the rest: a negative resistance means a term is not supported
        keep = coef > 0
        coef = np.zeros(coef.size)
        if keep.any():
            coef[keep] = np.maximum(np.linalg.lstsq(a[:, keep], y * w, rcond=None)[0], 0.0)
    return coef, a @ coef - y * w


def fit_shared_taus(designs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Two time constants shared by all pulse sets of a table (robust interpolation over SOC)."""
    lows = np.log([TAU_BOUNDS[0][0], TAU_BOUNDS[1][0], SCALE_BOUNDS[0]])
    highs = np.log([TAU_BOUNDS[0][1], TAU_BOUNDS[1][1], SCALE_BOUNDS[1]])

    def residuals(x: np.ndarray) -> np.ndarray:
        return np.concatenate([_solve_set(d, np.exp(x))[1] / np.sqrt(d[0].size) for d in designs])

    best: tuple[float, np.ndarray] | None = None
    for l1 in np.linspace(lows[0], highs[0], 5):
        for l2 in np.linspace(lows[1], highs[1], 5):
            x = np.array([l1, l2, np.log(5.0)])
            cost = float(np.sum(residuals(x) ** 2))
            if best is None or cost < best[0]:
                best = (cost, x)
    assert best is not None
    fit = least_squares(residuals, best[1], bounds=(lows, highs), max_nfev=40)
    return np.exp(fit.x)


def fit_ecm_table(
    t: np.ndarray,
    v: np.ndarray,
    i: np.ndarray,
    soc: np.ndarray,
    ocv: OcvCurve,
    temperature_celsius: float,
    cell_temperature_celsius: float,
    source: str = "",
) -> EcmTable:
    """One table from a pulse test: every pulse set fitted, ordered by SOC."""
    sets = pulse_sets(t, i)
    if not sets:
        raise DataError(
            Issue(source or "pulse test", "no current pulses after a rest found (not a pulse test?)")
        )
    designs = [_set_design(t[s], v[s], i[s], soc[s], ocv) for s in sets]
    taus = fit_shared_taus(designs)
    rows: list[tuple[float, dict[str, float], float]] = []
    for s, d in zip(sets, designs, strict=True):
        coef, res = _solve_set(d, taus)
        p = {"r0_ohm": coef[0], "r1_ohm": coef[1], "tau1_s": taus[0], "r2_ohm": coef[2], "tau2_s": taus[1]}
        p["bv_scale_a"] = taus[2]
        p["ocv_offset_v"] = float(v[s][0] - ocv(soc[s][0]))
        rmse = float(np.sqrt(np.sum(res**2) / max(np.sum(d[3] > 0), 1)))
        rows.append((float(soc[s][0]), p, rmse))
    rows.sort(key=lambda r: r[0])
    socs = np.array([r[0] for r in rows])
    keep = np.r_[True, np.diff(socs) > 1e-4]
    params = {k: np.array([r[1][k] for r in rows])[keep] for k in PARAM_KEYS}
    return EcmTable(
        temperature_celsius,
        cell_temperature_celsius,
        socs[keep],
        params,
        np.array([r[2] for r in rows])[keep],
        source,
    )


def simulate_voltage(
    model: CellModel, t: np.ndarray, i: np.ndarray, initial_soc: float, temperature: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Forward model: (terminal voltage, SOC) for a current profile from rest at `initial_soc`.
    Time constants and the Butler-Volmer scale are taken at the initial SOC; resistances per sample."""
    soc = initial_soc + np.cumsum(i * np.diff(t, prepend=t[:1])) / (3600.0 * model.capacity_ah)
    p = model.params(np.clip(soc, 0.0, 1.0), temperature)
    p0 = model.params(initial_soc, temperature)
    g = butler_volmer(i, float(p0["bv_scale_a"]))
    v1 = rc_response(t, g, float(p0["tau1_s"]))
    v2 = rc_response(t, g, float(p0["tau2_s"]))
    v = model.ocv(soc) + p["ocv_offset_v"] + p["r0_ohm"] * i + p["r1_ohm"] * v1 + p["r2_ohm"] * v2
    return v, soc
