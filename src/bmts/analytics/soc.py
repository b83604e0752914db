"""State of charge by an augmented-state extended Kalman filter over the cell model. Pure.

State x = [SOC, v1, v2, current offset b (A), current gain error g, voltage bias u (V)]; the true current
is i_meas * (1 - g) - b (current > 0 charging), so a BMS current sensor's offset and gain error are
estimated rather than integrated. u is the model's slowly varying voltage error (hysteresis state unlike
the pulse test's, OCV shift): zero-mean with a bounded spread, decorrelating over charge throughput like a
hysteresis, so slow voltage errors are not all read as SOC.

The filter runs on blocks of samples (at most `block_samples` and `block_seconds`): inside a block the
model is propagated exactly and vectorised (coulomb counting, the RC pairs as exponential sums, the OCV
linearised at the block start), and one update uses the block's mean voltage residual. While the SOC is
uncertain over more than the tangent's smoothing window (a guessed start), the OCV is linearised over the
SOC's distribution instead (statistical linearisation: the regression line of OCV on SOC under the
Gaussian truncated to 0..1, its residual variance added to the measurement's): the voltage's sensitivity
to a SOC known only to +-10 points is the OCV's mean slope over that range, not the tangent at the guess,
which on a plateau under-reads it (slow convergence) and on a step over-reads it (overshoot). The measurement
variance is scaled by a model-error correlation time, so the information per second, not per block, is
fixed, and adapted (covariance matching): where the innovations exceed what P and the assumed variance
explain, the variance is scaled up and the filter leans on the current. An update that would leave SOC
outside 0..1 is projected onto the bound with the state's covariance (the states correlated with SOC,
such as the current offset, move back with it).

A start that is not at rest is first checked against the log's first minutes (`soc_start`): a guess they
contradict is replaced by what they say, so the filter does not spend its first minutes converging, and a
guess they bear out is held to their spread, so the model's error in those minutes does not pull it off.

`SocFilter` carries the state between calls (streaming), and `state()` / `SocFilter.resume` carry it across a
restart as plain JSON values; `estimate_soc` runs one series.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from bmts.analytics.ecm import CellModel, butler_volmer
from bmts.analytics.soc_offset import offset_note, rest_update
from bmts.analytics.soc_persistence import InnovationPersistence
from bmts.analytics.soc_start import StartVerdict, first_minutes_verdict, horizon_temperatures
from bmts.analytics.soc_tables import SOC_GRID, TANGENT_VAR, Lookup

STATE_FORMAT = "bmts.soc-filter-state/1"


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
    #: ... or this one where no long load measured it: a pulse-only table's median mismatch at long loads
    #: (the simulated cells' 19 tables 0.22, NMC/NCO 0.08-0.33, LFP 0.8-2.7; Panasonic 0.09 / 0.17 / 0.22
    #: at 25 / 10 / 0 degC: its pulse tests against its dis5 files)
    unmeasured_error_rel: float = 0.20
    error_correlation_s: float = 60.0
    adapt_s: float = 600.0  # memory of the innovation-based model-error scale (0: no adaptation)
    bias_std_v: float = 0.010  # stationary spread of the model-voltage bias (hysteresis, OCV shift); 0: off
    bias_relax_soc: float = 0.20  # the bias decorrelates over this charge throughput (fraction of capacity)
    soc_walk_per_s: float = 1e-7
    offset_walk_a: float = 2e-5  # A per sqrt(s)
    rest_current_c_rate: float = 0.02
    temperature_margin_c: float = 5.0
    #: compare a start that is not at rest with the first minutes' voltage (`soc_start`): a given initial SOC
    #: this many of its std from the voltage's own best start is replaced by what the voltage says; 0: off
    start_check_std: float = 2.0
    #: ... and only when it is this far off too: a start declared better known (a smaller `initial_soc_std`)
    #: narrows the prior, not the check, which is there for a wrong guess, not a cold model's error
    start_check_min_soc: float = 0.20
    #: after this long at rest (every reading below `rest_current_c_rate`), the reading is the current
    #: sensor's offset (nothing flows), trusted to `rest_current_std_a`; 0: off
    rest_offset_after_s: float = 300.0
    rest_current_std_a: float = 0.01
    #: the block innovations' lag-one correlation inflates the voltage's variance (`soc_persistence`), capped
    #: at this correlation ((1 + 0.95) / (1 - 0.95): 39 blocks count as one); 0: off
    persistence_rho_max: float = 0.95
    #: after a start neither at rest nor borne out by the first minutes it is learnt only this long after the
    #: start (a wrong start's innovations share a sign too, and the filter takes 10-20 min to converge)
    persistence_after_s: float = 1200.0
    #: the resistances' uncertainty between pulse sets enters the voltage's variance (`soc_tables`)
    interpolation_spread: bool = True


@dataclass
class SocResult:
    soc: np.ndarray
    soc_std: np.ndarray
    current_offset_a: float
    current_gain_error: float
    warnings: list[str] = field(default_factory=list)
    #: whether the offset was read at rest (else it comes from the voltage alone; see `SocFilter`)
    offset_read_at_rest: bool = False


class _Blocks:
    """One chunk cut into the filter's blocks, and everything in them that does not depend on the filter
    state, computed for the whole chunk at once so the per-block loop is left with the state's algebra.
    A block starts from the previous sample's time, or after a gap in the log from its own first sample."""

    def __init__(
        self, t: np.ndarray, v: np.ndarray, i: np.ndarray, t_prev: float, cfg: SocConfig, c: float
    ) -> None:
        # blocks of at most block_samples and block_seconds, each as long as both allow
        los, his, starts, gaps = [], [], [], []
        lo, n = 0, t.size
        while lo < n:
            t_lo = float(t[lo])
            hi = lo + cfg.block_samples  # unless block_seconds end it earlier (t ascending):
            if hi > n or t[hi - 1] > t_lo + cfg.block_seconds:
                hi = min(int(t.searchsorted(t_lo + cfg.block_seconds, side="right")), hi)
            gap = t_lo - t_prev if t_lo - t_prev > cfg.block_seconds else 0.0
            los.append(lo)
            his.append(hi)
            starts.append(t_lo if gap > 0 else t_prev)
            gaps.append(gap)
            t_prev, lo = float(t[hi - 1]), hi
        self.count = len(los)
        self.lo, self.hi = np.array(los), np.array(his)
        self.lengths = self.hi - self.lo
        self.gap_s: list[float] = gaps
        start_s = np.array(starts)
        # (in place where it can be: a fresh array of the chunk's length costs more than the arithmetic)
        self.elapsed_s = t - np.repeat(start_s, self.lengths)  # time since the block's start
        self.dt_s = np.empty(n)
        np.subtract(t[1:], t[:-1], out=self.dt_s[1:])
        self.dt_s[self.lo] = t[self.lo] - start_s
        # SOC sensitivities inside each block: to the current offset (time / c) and gain (charge / c)
        self.ds_db = self.elapsed_s / -c
        self.ds_dg = np.cumsum(i * self.dt_s)  # less the charge before each block
        self.ds_dg -= np.repeat(np.concatenate([[0.0], self.ds_dg[self.lo[1:] - 1]]), self.lengths)
        self.ds_dg /= -c
        self.v_sum: list[float] = np.add.reduceat(v, self.lo).tolist()
        self.i_sum: list[float] = np.add.reduceat(i, self.lo).tolist()
        self.i_abs_max: list[float] = np.maximum.reduceat(np.abs(i), self.lo).tolist()
        self.ds_db_sum: list[float] = np.add.reduceat(self.ds_db, self.lo).tolist()
        self.ds_dg_sum: list[float] = np.add.reduceat(self.ds_dg, self.lo).tolist()
        self.ds_db_end: list[float] = self.ds_db[self.hi - 1].tolist()
        self.ds_dg_end: list[float] = self.ds_dg[self.hi - 1].tolist()
        span = np.maximum(t[self.hi - 1] - start_s, 1e-3)
        self.span_s: list[float] = span.tolist()
        adapt = 1.0 - np.exp(-span / cfg.adapt_s) if cfg.adapt_s > 0 else np.zeros(self.count)
        self.adapt_weight: list[float] = adapt.tolist()


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
        self._lookups: dict[float | None, Lookup] = {}
        self._t_range = model.temperature_range()
        self._outside = (np.inf, -np.inf)
        self._start_note: str | None = None  # reported with the first chunk's result
        self.rest_s = 0.0  # how long the cell has been at rest (the offset observed after a while)
        self.offset_rest_s = 0.0  # the rest time the offset has been read over, in all
        self.t_first: float | None = None
        self._offset_noted = False  # the offset-from-voltage warning, once per filter
        self.persistence = InnovationPersistence(0.0)  # how long its errors last (set again at the start)

    def state(self) -> dict[str, Any]:
        """The filter's state as plain JSON values, so that a telemetry process that restarts resumes
        where it stopped (`SocFilter.resume`); the look-up tables are rebuilt from the model."""
        return {
            "format": STATE_FORMAT,
            "capacity_ah": self.model.capacity_ah,
            "config": asdict(self.cfg),
            "initial_soc": self.initial_soc,
            "x": None if self.x is None else self.x.tolist(),
            "p": self.p.tolist(),
            "t_last": self.t_last,
            "error_scale": self.error_scale,
            "rest_s": self.rest_s,
            "offset_rest_s": self.offset_rest_s,
            "t_first": self.t_first,
            "persistence": self.persistence.to_dict(),
            "outside_c": [None if not np.isfinite(b) else b for b in self._outside],
        }

    @classmethod
    def resume(cls, model: CellModel, state: Mapping[str, Any]) -> SocFilter:
        """A filter continuing from `state()`, for the same cell model (its capacity is checked)."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"not a SOC filter state (format {state.get('format')!r})")
        if not math.isclose(float(state["capacity_ah"]), model.capacity_ah, rel_tol=1e-9):
            raise ValueError(
                f"the state is of a {state['capacity_ah']} Ah model, not of this {model.capacity_ah} Ah one"
            )
        f = cls(model, state["initial_soc"], SocConfig(**state["config"]))
        f.x = None if state["x"] is None else np.array(state["x"], dtype=np.float64)
        f.p = np.array(state["p"], dtype=np.float64)
        f.t_last = state["t_last"]
        f.error_scale = float(state["error_scale"])
        f.rest_s = float(state.get("rest_s", 0.0))
        f.offset_rest_s = float(state.get("offset_rest_s", 0.0))
        f.t_first = state.get("t_first", f.t_last)
        # a state saved before the persistence existed learns it anew, as after a start not at rest
        anew = {"learn_from_s": (f.t_last or 0.0) + f.cfg.persistence_after_s}
        f.persistence = InnovationPersistence.from_dict(state.get("persistence") or anew)
        lo, hi = state["outside_c"]
        f._outside = (np.inf if lo is None else lo, -np.inf if hi is None else hi)
        return f

    def _lookup(self, temperature: float | None) -> Lookup:
        key = None if temperature is None or not np.isfinite(temperature) else round(temperature * 2) / 2
        found = self._lookups.get(key)
        if found is None:
            found = Lookup(self.model, key, self.cfg.model_error_rel, self.cfg.unmeasured_error_rel)
            self._lookups[key] = found
            lo, hi = self._t_range
            margin = self.cfg.temperature_margin_c
            if key is not None and (key < lo - margin or key > hi + margin):
                self._outside = (min(self._outside[0], key), max(self._outside[1], key))
        return found

    def _start(
        self, t: np.ndarray, v: np.ndarray, i: np.ndarray, temps: np.ndarray | None, at_rest: bool
    ) -> None:
        cfg = self.cfg
        table = self._lookup(None if temps is None else _first_finite(temps))
        v0, i0 = float(v[0]), float(i[0])
        s_guess = table.soc_of_voltage(v0) if at_rest else None
        verdict, known = None, s_guess is not None  # known: from a rest voltage, or a guess borne out
        if s_guess is not None:  # refine: the offset and slope depend on SOC
            slope = table.at(s_guess)[1]
            std_rest = cfg.rest_voltage_std_v / slope
            if self.initial_soc is None:
                s0, std = s_guess, std_rest
            else:  # inverse-variance fusion of the guess and the rest voltage
                w_g, w_r = 1 / cfg.initial_soc_std**2, 1 / std_rest**2
                s0 = (w_g * self.initial_soc + w_r * s_guess) / (w_g + w_r)
                std = (w_g + w_r) ** -0.5
        else:
            if self.initial_soc is not None:
                s0, std = self.initial_soc, cfg.initial_soc_std
            else:
                s0, std = table.soc_of_voltage(v0 - table.at(0.5)[2] * i0), cfg.unknown_soc_std
            if cfg.start_check_std > 0:
                verdict, known = self._check_start(t, v, i, temps, s0, std)
            if self.initial_soc is None:
                read = "the loaded voltage" if verdict is None else "the first minutes' voltage"
                self._start_note = f"no rest at the start and no initial SOC given: started from {read}"
        self.x = np.array([s0, 0.0, 0.0, 0.0, 0.0, 0.0])
        self.p = np.diag([std**2, 1e-4, 1e-4, cfg.offset_std_a**2, cfg.gain_std**2, cfg.bias_std_v**2])
        if verdict is not None:
            # the first minutes cannot tell the voltage bias u from SOC: a bias would have moved the best
            # start by -u / slope, so the two start correlated (the SOC's spread widened by the bias's)
            along_bias = -cfg.bias_std_v / verdict.ocv_slope_v  # SOC per unit of the bias's std
            self.x[0] = verdict.soc
            self.p[0, 0] = verdict.soc_std**2 + along_bias**2
            self.p[0, 5] = self.p[5, 0] = along_bias * cfg.bias_std_v
        # a wrong start's innovations share a sign too: from a start not known, learnt only after a while
        self.persistence = InnovationPersistence(float(t[0]) + (0.0 if known else cfg.persistence_after_s))

    def _check_start(
        self, t: np.ndarray, v: np.ndarray, i: np.ndarray, temps: np.ndarray | None, s0: float, std: float
    ) -> tuple[StartVerdict | None, bool]:
        """The first minutes' verdict on a start from a guess (or, without one, from the first sample), when
        it is to replace that start, and whether they bear the guess out (their best start within their own
        spread of it). Without a guess, their verdict; a guess they bear out starts where it was given but
        with their spread (the voltage then confirms it, and a guess taken as +-10 points would let the
        model's error in the first minutes pull it off); a guess they contradict is replaced by what they
        say alone; otherwise the guess is kept as given. The model is taken at each sample's
        temperature (as the filter's blocks take it)."""
        cfg = self.cfg
        keys, which = horizon_temperatures(t, temps)
        rows = np.stack([self._lookup(k).rows for k in keys])
        verdict = first_minutes_verdict(
            SOC_GRID,
            rows,
            which,
            t,
            v,
            i,
            self.capacity_as,
            s0,
            std,
            cfg.model_error_v,
            cfg.error_correlation_s,
        )
        if verdict is None or self.initial_soc is None:
            return verdict, False
        off = abs(verdict.best_soc - s0)
        if off <= verdict.soc_std:  # borne out: the guess, known as well as the first minutes know it
            return replace(verdict, soc=s0, soc_std=min(verdict.soc_std, std)), True
        if off <= max(cfg.start_check_std * std, cfg.start_check_min_soc):  # kept, as sure as it was given
            return None, False
        # contradicted: the guess was wrong by more than its stated spread, so it is no evidence of the start
        # either (a Gaussian prior that far off would still pull the start towards itself)
        verdict = replace(verdict, soc=verdict.free_soc, soc_std=verdict.free_soc_std)
        self._start_note = (
            f"the given initial SOC {s0:.3g} disagrees with the first minutes' voltage, which says "
            f"{verdict.best_soc:.3g}: started from {verdict.soc:.3g} +- {verdict.soc_std:.2g}"
        )
        return verdict, False

    def update(
        self, t: np.ndarray, v: np.ndarray, i: np.ndarray, temperature: np.ndarray | None = None
    ) -> SocResult:
        t, v, i = (np.ascontiguousarray(a, dtype=np.float64) for a in (t, v, i))
        n = t.size
        if n == 0:
            return self._result(np.empty(0), np.empty(0))
        cfg = self.cfg
        rest_a = cfg.rest_current_c_rate * self.model.capacity_ah
        temps = None if temperature is None else np.asarray(temperature, dtype=np.float64)
        if self.x is None:
            self._start(t, v, i, temps, abs(float(i[0])) < rest_a)
            self.t_last = self.t_first = float(t[0])
        c = self.capacity_as
        b = _Blocks(t, v, i, self.t_last if self.t_last is not None else float(t[0]), cfg, c)
        block_temps = None if temps is None else temps[b.lo].tolist()
        x, p = self.x, self.p
        assert x is not None
        phi = np.eye(6)  # the block's transition: coulomb counting with offset and gain, RC and bias decay
        s_start, gain_err, offset, std_k = (np.empty(b.count) for _ in range(4))
        temp_now: float | None = None
        s0, v1_0, v2_0, offset_a, gain, bias = x.tolist()  # the state as floats, x and p for the algebra
        for k, (lo, hi) in enumerate(zip(b.lo.tolist(), b.hi.tolist(), strict=True)):
            if block_temps is not None and math.isfinite(block_temps[k]):
                temp_now = block_temps[k]
            table = self._lookup(temp_now)
            if b.gap_s[k] > 0:  # a gap in the log: the RC pairs relax, nothing flows
                row = table.at(s0)
                v1_0 *= math.exp(-b.gap_s[k] / row[4])
                v2_0 *= math.exp(-b.gap_s[k] / row[6])
                x = np.array([s0, v1_0, v2_0, offset_a, gain, bias])
                p[0, 0] += cfg.soc_walk_per_s**2 * b.gap_s[k]
            if cfg.rest_offset_after_s > 0:
                # (a gap in the log counts: the filter books nothing flowing in it)
                at_rest = b.i_abs_max[k] < rest_a
                read_s = b.gap_s[k] + b.span_s[k]  # the time this block's reading stands for
                self.rest_s = self.rest_s + read_s if at_rest else 0.0
                if self.rest_s >= cfg.rest_offset_after_s:  # nothing flows: the reading is the offset
                    x = np.array([s0, v1_0, v2_0, offset_a, gain, bias])
                    # its variance per correlation time, as the voltage's
                    var = cfg.rest_current_std_a**2 * max(1.0, cfg.error_correlation_s / read_s)
                    x, p = rest_update(x, p, b.i_sum[k] / (hi - lo), var)
                    self.offset_rest_s += read_s
                    s0, v1_0, v2_0, offset_a, gain, bias = x.tolist()
            ocv0, slope, r0, r1, tau1, r2, tau2, scale = table.at(s0)
            lin_var = 0.0  # the linearisation's error variance (V^2)
            if p[0, 0] > TANGENT_VAR:  # SOC spread wider than the tangent's window: linearise over it
                line = table.regression(s0, float(p[0, 0]))
                if line is not None:
                    ocv0, slope, lin_var = line
            inv_m = 1.0 / (hi - lo)
            icor = i[lo:hi] * (1.0 - gain) - offset_a
            g = butler_volmer(icor, scale)
            # the two RC pairs as rows: v_j(t) = e_j (v_j(0) + R_j sum (1 - exp(-dt/tau_j)) g / e_j)
            neg_tau, r, v_0 = np.array([[-tau1, r1, v1_0], [-tau2, r2, v2_0]]).T[:, :, None]
            e = np.exp(b.elapsed_s[lo:hi] / neg_tau)
            v_rc = e * (v_0 - r * np.add.accumulate(np.expm1(b.dt_s[lo:hi] / neg_tau) * g / e, axis=1))
            over = r0 * icor + v_rc[0] + v_rc[1]
            # the block's mean voltage residual: measured - (OCV + slope ds + overpotential + bias)
            ds_sum = b.ds_dg_sum[k] * (gain - 1.0) + b.ds_db_sum[k] * offset_a  # ds = cumsum(icor dt) / c
            y = (b.v_sum[k] - slope * ds_sum - float(over.sum())) * inv_m - ocv0 - bias
            e_sum1, e_sum2 = e.sum(axis=1).tolist()
            h = np.array(
                [
                    slope,
                    e_sum1 * inv_m,
                    e_sum2 * inv_m,
                    slope * b.ds_db_sum[k] * inv_m - r0,
                    (slope * b.ds_dg_sum[k] - r0 * b.i_sum[k]) * inv_m,
                    1.0,
                ]
            )
            span = b.span_s[k]
            noise = cfg.model_error_v**2 + (table.error_rel * float(np.abs(over).sum()) * inv_m) ** 2
            if cfg.interpolation_spread:  # the resistances are not known between two pulse sets
                rel0, rel1, rel2 = table.spread_at(s0)
                v_abs = np.abs(v_rc).sum(axis=1).tolist()
                spread = rel0 * abs(r0) * float(np.abs(icor).sum()) + rel1 * v_abs[0] + rel2 * v_abs[1]
                noise += (spread * inv_m) ** 2
            ph = np.dot(p, h)
            hph = float(np.dot(h, ph))
            if cfg.adapt_s > 0:  # covariance matching: innovations larger than P and R explain
                w = b.adapt_weight[k]
                excess = (y * y - hph - lin_var) / noise
                self.error_scale = max(1.0, (1.0 - w) * self.error_scale + w * excess)
            lasting = self.persistence.inflation(
                y, float(t[hi - 1]), b.adapt_weight[k], cfg.persistence_rho_max
            )
            r_meas = noise * self.error_scale * max(1.0, cfg.error_correlation_s / span, lasting) + lin_var
            gain_k = ph / (hph + r_meas)
            dx = gain_k * y
            p = p - gain_k[:, None] * ph
            over_bound = s0 + float(dx[0]) - min(max(s0 + float(dx[0]), 0.0), 1.0)
            if over_bound != 0.0 and p[0, 0] > 0.0:  # SOC is 0..1: project with the state's covariance
                dx = dx - p[:, 0] * (over_bound / p[0, 0])
            s0, v1_0, v2_0, offset_a, gain, bias = (x + dx).tolist()
            # the SOC inside the block follows from the updated state (filled in below, for all blocks)
            s_start[k], offset[k], gain_err[k] = s0, offset_a, gain
            std_k[k] = math.sqrt(max(p[0, 0], 0.0))
            # propagate to the block end, the RC voltages with the update's correction
            e_end1, e_end2 = e[:, -1].tolist()
            dx1, dx2 = dx[1:3].tolist()
            v1_0, v2_0 = float(v_rc[0, -1]) + e_end1 * dx1, float(v_rc[1, -1]) + e_end2 * dx2
            s0 = s0 + b.ds_dg_end[k] * (gain - 1.0) + b.ds_db_end[k] * offset_a
            relax = math.exp(-float(np.dot(np.abs(icor), b.dt_s[lo:hi])) / (c * cfg.bias_relax_soc))
            bias *= relax  # hysteresis-like decay
            x = np.array([s0, v1_0, v2_0, offset_a, gain, bias])
            phi[0, 3], phi[0, 4] = b.ds_db_end[k], b.ds_dg_end[k]
            phi[1, 1], phi[2, 2], phi[5, 5] = e_end1, e_end2, relax
            p = np.dot(np.dot(phi, p), phi.T)
            p[0, 0] += cfg.soc_walk_per_s**2 * span
            p[1, 1] += 1e-8 * span
            p[2, 2] += 1e-8 * span
            p[3, 3] += cfg.offset_walk_a**2 * span
            p[4, 4] += 1e-12 * span
            p[5, 5] += cfg.bias_std_v**2 * (1.0 - relax**2)
        self.x, self.p, self.t_last = x, p, float(t[-1])
        soc = b.ds_dg * np.repeat(gain_err - 1.0, b.lengths)
        soc += np.repeat(s_start, b.lengths)
        soc += b.ds_db * np.repeat(offset, b.lengths)
        return self._result(soc, np.repeat(std_k, b.lengths))

    def _result(self, soc: np.ndarray, std: np.ndarray) -> SocResult:
        x = self.x if self.x is not None else np.zeros(6)
        warnings: list[str] = [] if self._start_note is None else [self._start_note]
        self._start_note = None
        first, last = self.t_first, self.t_last
        if not self._offset_noted and self.offset_rest_s == 0 and first is not None and last is not None:
            run_s = last - first
            note = offset_note(
                float(x[3]), run_s, self.cfg.offset_std_a, self.capacity_as, self.cfg.rest_offset_after_s
            )
            if note is not None:
                warnings.append(note)
                self._offset_noted = True
        if np.isfinite(self._outside[0]):
            lo, hi = self._t_range
            warnings.append(
                f"cell temperature {self._outside[0]:g}..{self._outside[1]:g} degC is more than "
                f"{self.cfg.temperature_margin_c:g} degC outside the model's {lo:.3g}..{hi:.3g} degC: "
                "parameters extrapolated (Arrhenius)"
            )
        return SocResult(
            np.clip(soc, 0.0, 1.0), std, float(x[3]), float(x[4]), warnings, self.offset_rest_s > 0
        )


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
