"""State of charge by an augmented-state extended Kalman filter over the cell model. Pure.

State x = [SOC, v1, v2, current offset b (A), current gain error g, voltage bias u (V)]; the true current
is i_meas * (1 - g) - b (current > 0 charging), so a BMS current sensor's offset and gain error are
estimated rather than integrated. u is the model's slowly varying voltage error (hysteresis state unlike
the pulse test's, OCV shift): zero-mean with a bounded spread, decorrelating over charge throughput like a
hysteresis, so slow voltage errors are not all read as SOC.

The filter runs on blocks of samples (at most `block_samples` and `block_seconds`): inside a block the
model is propagated exactly and vectorised (coulomb counting, the RC pairs as exponential sums, the OCV
linearised at the block start), and one update uses the block's mean voltage residual. The measurement
variance is scaled by a model-error correlation time, so the information per second, not per block, is
fixed, and adapted (covariance matching): where the innovations exceed what P and the assumed variance
explain, the variance is scaled up and the filter leans on the current. An update that would leave SOC
outside 0..1 is projected onto the bound with the state's covariance (the states correlated with SOC,
such as the current offset, move back with it).

`SocFilter` carries the state between calls (streaming); `estimate_soc` runs one series.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bmts.analytics.ecm import CellModel, butler_volmer

GRID = 201  # SOC grid of the per-temperature look-up tables


@dataclass(frozen=True)
class SocConfig:
    block_samples: int = 256
    block_seconds: float = 30.0
    initial_soc_std: float = 0.10  # a given initial SOC is a guess with this standard deviation
    unknown_soc_std: float = 0.30
    rest_voltage_std_v: float = 0.010  # an initial rest voltage as OCV, this good
    offset_std_a: float = 0.10
    gain_std: float = 0.02
    model_error_v: float = 0.006  # voltage model error floor
    model_error_rel: float = 0.15  # plus this fraction of the overpotential (or the model's measured one)
    error_correlation_s: float = 60.0
    adapt_s: float = 600.0  # memory of the innovation-based model-error scale (0: no adaptation)
    bias_std_v: float = 0.010  # stationary spread of the model-voltage bias (hysteresis, OCV shift); 0: off
    bias_relax_soc: float = 0.20  # the bias decorrelates over this charge throughput (fraction of capacity)
    soc_walk_per_s: float = 1e-7
    offset_walk_a: float = 2e-5  # A per sqrt(s)
    rest_current_c_rate: float = 0.02
    temperature_margin_c: float = 5.0


@dataclass
class SocResult:
    soc: np.ndarray
    soc_std: np.ndarray
    current_offset_a: float
    current_gain_error: float
    warnings: list[str] = field(default_factory=list)


class _Lookup:
    """Model parameters on a SOC grid at one temperature."""

    def __init__(self, model: CellModel, temperature: float | None, floor_rel: float) -> None:
        s = np.linspace(0.0, 1.0, GRID)
        p = model.params(s, temperature)
        measured = model.model_error_rel(temperature)
        # the model error's share of the overpotential: the characterisation's measured one, never below
        # the configured floor (one load rate does not show the model better than that elsewhere)
        self.error_rel = max(floor_rel, measured) if np.isfinite(measured) else floor_rel
        self.ocv = model.ocv(s) + p["ocv_offset_v"]
        self.slope = np.maximum(np.gradient(self.ocv, s), 0.05)
        self.slope = np.convolve(np.pad(self.slope, 2, mode="edge"), np.ones(5) / 5, mode="valid")
        keys = ("r0_ohm", "r1_ohm", "tau1_s", "r2_ohm", "tau2_s", "bv_scale_a")
        columns = np.broadcast_arrays(self.ocv, self.slope, *(p[k] for k in keys))
        self.rows: list[list[float]] = np.column_stack(columns).tolist()

    def at(self, soc: float) -> tuple[float, ...]:
        k = min(max(round(soc * (GRID - 1)), 0), GRID - 1)
        row = self.rows[k]
        return (row[0] + row[1] * (soc - k / (GRID - 1)), *row[1:])

    def soc_of_voltage(self, v: float) -> float:
        return float(np.interp(v, self.ocv, np.linspace(0.0, 1.0, GRID)))


class SocFilter:
    """Streaming SOC estimator: call `update` with consecutive chunks of one cell's samples."""

    def __init__(self, model: CellModel, initial_soc: float | None = None, config: SocConfig | None = None):
        self.model = model
        self.cfg = config or SocConfig()
        self.capacity_as = model.capacity_ah * 3600.0
        self.initial_soc = initial_soc
        self.x: np.ndarray | None = None
        self.p = np.zeros((6, 6))
        self.t_last: float | None = None
        self.error_scale = 1.0  # observed / assumed model-error variance (covariance matching), >= 1
        self.warnings: list[str] = []
        self._lookups: dict[float | None, _Lookup] = {}
        self._t_range = model.temperature_range()
        self._outside = (np.inf, -np.inf)

    def _lookup(self, temperature: float | None) -> _Lookup:
        key = None if temperature is None or not np.isfinite(temperature) else round(temperature * 2) / 2
        found = self._lookups.get(key)
        if found is None:
            found = _Lookup(self.model, key, self.cfg.model_error_rel)
            self._lookups[key] = found
            lo, hi = self._t_range
            margin = self.cfg.temperature_margin_c
            if key is not None and (key < lo - margin or key > hi + margin):
                self._outside = (min(self._outside[0], key), max(self._outside[1], key))
        return found

    def _start(self, v0: float, i0: float, at_rest: bool, table: _Lookup) -> None:
        cfg = self.cfg
        s_guess = table.soc_of_voltage(v0) if at_rest else None
        if s_guess is not None:  # refine: the offset and slope depend on SOC
            slope = table.at(s_guess)[1]
            std_rest = cfg.rest_voltage_std_v / slope
            if self.initial_soc is None:
                s0, std = s_guess, std_rest
            else:  # inverse-variance fusion of the guess and the rest voltage
                w_g, w_r = 1 / cfg.initial_soc_std**2, 1 / std_rest**2
                s0 = (w_g * self.initial_soc + w_r * s_guess) / (w_g + w_r)
                std = (w_g + w_r) ** -0.5
        elif self.initial_soc is not None:
            s0, std = self.initial_soc, cfg.initial_soc_std
        else:
            s0, std = table.soc_of_voltage(v0 - table.at(0.5)[2] * i0), cfg.unknown_soc_std
        self.x = np.array([s0, 0.0, 0.0, 0.0, 0.0, 0.0])
        self.p = np.diag([std**2, 1e-4, 1e-4, cfg.offset_std_a**2, cfg.gain_std**2, cfg.bias_std_v**2])

    def update(
        self, t: np.ndarray, v: np.ndarray, i: np.ndarray, temperature: np.ndarray | None = None
    ) -> SocResult:
        t, v, i = (np.ascontiguousarray(a, dtype=np.float64) for a in (t, v, i))
        n = t.size
        soc = np.empty(n)
        std = np.empty(n)
        if n == 0:
            return self._result(soc, std)
        cfg = self.cfg
        rest_a = cfg.rest_current_c_rate * self.model.capacity_ah
        temps = None if temperature is None else np.asarray(temperature, dtype=np.float64)
        if self.x is None:
            t0 = None if temps is None else _first_finite(temps)
            self._start(float(v[0]), float(i[0]), abs(float(i[0])) < rest_a, self._lookup(t0))
            self.t_last = float(t[0])
        # blocks of at most block_samples and block_seconds, each as long as both allow
        ends = np.minimum(
            np.searchsorted(t, t + cfg.block_seconds, side="right"), np.arange(n) + cfg.block_samples
        )
        c = self.capacity_as
        x, p = self.x, self.p
        assert x is not None
        t_prev = self.t_last if self.t_last is not None else float(t[0])
        temp_now: float | None = None
        lo = 0
        while lo < n:
            hi = int(ends[lo])
            if temps is not None:
                tb = temps[lo]
                temp_now = float(tb) if np.isfinite(tb) else temp_now
            table = self._lookup(temp_now)
            if t[lo] - t_prev > cfg.block_seconds:  # a gap in the log: the RC pairs relax, nothing flows
                gap = float(t[lo] - t_prev)
                taus = table.at(float(x[0]))[4], table.at(float(x[0]))[6]
                x[1] *= np.exp(-gap / taus[0])
                x[2] *= np.exp(-gap / taus[1])
                p[0, 0] += cfg.soc_walk_per_s**2 * gap
                t_prev = float(t[lo])
            tt, ib, vb = t[lo:hi], i[lo:hi], v[lo:hi]
            ocv0, slope, r0, r1, tau1, r2, tau2, scale = table.at(float(x[0]))
            inv_m = 1.0 / (hi - lo)
            tau_k = tt - t_prev
            dt = np.empty(hi - lo)
            dt[0] = tt[0] - t_prev
            np.subtract(tt[1:], tt[:-1], out=dt[1:])
            icor = ib * (1.0 - x[4]) - x[3]
            ds_dg = np.cumsum(ib * dt) / -c
            ds_db = tau_k / -c
            ds = ds_dg * (x[4] - 1.0) + ds_db * x[3]  # = cumsum(icor dt) / c
            g = butler_volmer(icor, scale)
            e1, e2 = np.exp(-tau_k / tau1), np.exp(-tau_k / tau2)
            # the RC voltages over the block: v_j(t) = e_j (v_j(0) + R_j sum (1 - exp(-dt/tau_j)) g / e_j)
            v1 = e1 * (x[1] - r1 * np.cumsum(np.expm1(-dt / tau1) * g / e1))
            v2 = e2 * (x[2] - r2 * np.cumsum(np.expm1(-dt / tau2) * g / e2))
            over = r0 * icor + v1 + v2
            # the block's mean voltage residual: measured - (OCV + slope ds + overpotential + bias)
            y = (float(vb.sum()) - slope * float(ds.sum()) - float(over.sum())) * inv_m - ocv0 - x[5]
            h = np.array(
                [
                    slope,
                    float(e1.sum()) * inv_m,
                    float(e2.sum()) * inv_m,
                    slope * float(ds_db.sum()) * inv_m - r0,
                    (slope * float(ds_dg.sum()) - r0 * float(ib.sum())) * inv_m,
                    1.0,
                ]
            )
            span = max(float(tau_k[-1]), 1e-3)
            noise = cfg.model_error_v**2 + (table.error_rel * float(np.abs(over).sum()) * inv_m) ** 2
            ph = p @ h
            if cfg.adapt_s > 0:  # covariance matching: innovations larger than P and R explain
                w = 1.0 - np.exp(-span / cfg.adapt_s)
                excess = (y * y - float(h @ ph)) / noise
                self.error_scale = max(1.0, (1.0 - w) * self.error_scale + w * excess)
            r_meas = noise * self.error_scale * max(1.0, cfg.error_correlation_s / span)
            gain = ph / (h @ ph + r_meas)
            dx = gain * y
            p = p - np.outer(gain, ph)
            over_bound = x[0] + dx[0] - min(max(x[0] + dx[0], 0.0), 1.0)
            if over_bound != 0.0 and p[0, 0] > 0.0:  # SOC is 0..1: project with the state's covariance
                dx = dx - p[:, 0] * (over_bound / p[0, 0])
            x = x + dx
            s_k = x[0] + ds + ds_db * dx[3] + ds_dg * dx[4]
            soc[lo:hi] = s_k
            std[lo:hi] = np.sqrt(max(p[0, 0], 0.0))
            # propagate to the block end
            phi = np.eye(6)
            phi[0, 3], phi[0, 4] = ds_db[-1], ds_dg[-1]
            phi[1, 1], phi[2, 2] = e1[-1], e2[-1]
            relax = np.exp(-float(np.abs(icor) @ dt) / (c * cfg.bias_relax_soc))  # hysteresis-like decay
            phi[5, 5] = relax
            v1_end, v2_end = v1[-1] + e1[-1] * dx[1], v2[-1] + e2[-1] * dx[2]  # with the update's correction
            x = np.array([s_k[-1], v1_end, v2_end, x[3], x[4], relax * x[5]])
            p = phi @ p @ phi.T
            p[0, 0] += cfg.soc_walk_per_s**2 * span
            p[1, 1] += 1e-8 * span
            p[2, 2] += 1e-8 * span
            p[3, 3] += cfg.offset_walk_a**2 * span
            p[4, 4] += 1e-12 * span
            p[5, 5] += cfg.bias_std_v**2 * (1.0 - relax**2)
            t_prev = float(tt[-1])
            lo = hi
        self.x, self.p, self.t_last = x, p, t_prev
        return self._result(soc, std)

    def _result(self, soc: np.ndarray, std: np.ndarray) -> SocResult:
        x = self.x if self.x is not None else np.zeros(6)
        warnings = list(self.warnings)
        if np.isfinite(self._outside[0]):
            lo, hi = self._t_range
            warnings.append(
                f"cell temperature {self._outside[0]:g}..{self._outside[1]:g} degC is more than "
                f"{self.cfg.temperature_margin_c:g} degC outside the model's {lo:.3g}..{hi:.3g} degC: "
                "parameters extrapolated (Arrhenius)"
            )
        return SocResult(np.clip(soc, 0.0, 1.0), std, float(x[3]), float(x[4]), warnings)


def _first_finite(a: np.ndarray) -> float | None:
    finite = np.flatnonzero(np.isfinite(a))
    return float(a[finite[0]]) if finite.size else None


def estimate_soc(
    time_s: np.ndarray,
    voltage_v: np.ndarray,
    current_a: np.ndarray,
    model: CellModel,
    temperature_c: np.ndarray | None = None,
    initial_soc: float | None = None,
    config: SocConfig | None = None,
) -> SocResult:
    """SOC (0..1) at every sample of one cell's time series."""
    return SocFilter(model, initial_soc, config).update(time_s, voltage_v, current_a, temperature_c)


def coulomb_count(
    time_s: np.ndarray, current_a: np.ndarray, capacity_ah: float, initial_soc: float
) -> np.ndarray:
    """The plain reference: SOC = initial + integral of current / capacity (trapezoidal)."""
    dt = np.diff(time_s)
    q = np.concatenate([[0.0], np.cumsum(0.5 * (current_a[1:] + current_a[:-1]) * dt)]) / 3600.0
    return initial_soc + q / capacity_ah
