"""State of charge by an augmented-state extended Kalman filter over the cell model. Pure.

State x = [SOC, v1, v2, current offset b (A), current gain error g, voltage bias u (V)]; the true current
is i_meas * (1 - g) - b (current > 0 charging), so a BMS current sensor's offset and gain error are
estimated rather than integrated. u is the model's slowly varying voltage error (hysteresis state unlike
the pulse test's, OCV shift): zero-mean with a bounded spread, decorrelating over charge throughput like a
hysteresis, so slow voltage errors are not all read as SOC.

The filter runs on blocks of samples (at most `block_samples` and `block_seconds`): inside a block the
model is propagated exactly (coulomb counting, the RC pairs as exponential sums, the OCV linearised at the
block start), and one update uses the block's mean voltage residual (the loop: `soc_blocks`). While the SOC is
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
restart as plain JSON values; `estimate_soc` runs one series; `update_together` runs the filters of cells
logged on one clock (a pack) at once, their block loop (`soc_blocks`) shared. Settings: `soc_config`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from bmts.analytics.ecm import CellModel
from bmts.analytics.soc_blocks import Blocks, FilterArrays, Tables, run_blocks
from bmts.analytics.soc_config import SocConfig
from bmts.analytics.soc_offset import offset_note
from bmts.analytics.soc_persistence import InnovationPersistence
from bmts.analytics.soc_start import StartVerdict, first_minutes_verdict, horizon_temperatures
from bmts.analytics.soc_tables import SOC_GRID, Lookup

STATE_FORMAT = "bmts.soc-filter-state/1"


@dataclass
class SocResult:
    soc: np.ndarray
    soc_std: np.ndarray
    current_offset_a: float
    current_gain_error: float
    warnings: list[str] = field(default_factory=list)
    #: whether the offset was read at rest (else it comes from the voltage alone; see `SocFilter`)
    offset_read_at_rest: bool = False


class SocFilter:
    """Streaming SOC estimator: call `update` with consecutive chunks of one cell's samples."""

    def __init__(self, model: CellModel, initial_soc: float | None = None, config: SocConfig | None = None):
        self.model = model
        self.cfg = config or SocConfig()
        self.capacity_as = model.capacity_ah * 3600.0
        self.rest_a = self.cfg.rest_current_c_rate * model.capacity_ah  # below this the cell is at rest
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

    def share_lookups(self, other: SocFilter) -> bool:
        """Use `other`'s look-up tables from now on, when it is a filter of the same cell model (the
        capacity aside: the tables do not depend on it) and settings, so a pack's filters tabulate each
        temperature once; whether they are shared."""
        mine, theirs = self.model, other.model  # (one model, or copies of it with their own capacity)
        same = self.cfg == other.cfg and all(
            getattr(mine, f.name) is getattr(theirs, f.name) for f in fields(mine) if f.name != "capacity_ah"
        )
        if same:
            self._lookups = other._lookups
        return same

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
        """The SOC at every sample of the next chunk of the cell's log (`t` ascending, after the last)."""
        temps = None if temperature is None else np.asarray(temperature, dtype=np.float64)[None]
        return update_together([self], t, np.asarray(v)[None], np.asarray(i)[None], temps)[0]

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


def update_together(
    filters: Sequence[SocFilter],
    t: np.ndarray,
    v: np.ndarray,
    i: np.ndarray,
    temperature: np.ndarray | None = None,
) -> list[SocResult]:
    """`SocFilter.update` of K cells logged on the same clock `t` (n,), at once: `v`, `i` and `temperature`
    (K, n), row k for filter k. The block loop then runs once for all of them (`soc_blocks`), which is what
    makes a pack's slowly logged telemetry fast. The filters share their configuration and where they
    stopped (they have always run together, or they are new)."""
    t = np.ascontiguousarray(t, dtype=np.float64)
    shape = (len(filters), t.size)
    v, i = (np.ascontiguousarray(a, dtype=np.float64).reshape(shape) for a in (v, i))
    temps = None if temperature is None else np.asarray(temperature, dtype=np.float64).reshape(shape)
    if t.size == 0:
        return [f._result(np.empty(0), np.empty(0)) for f in filters]
    cfg, t_last = filters[0].cfg, filters[0].t_last
    if any(f.cfg != cfg or f.t_last != t_last for f in filters):
        raise ValueError("filters updated together must share their configuration and their last time")
    for k, f in enumerate(filters):
        if f.x is None:
            f._start(t, v[k], i[k], None if temps is None else temps[k], abs(float(i[k, 0])) < f.rest_a)
            f.t_last = f.t_first = float(t[0])
    capacity_as = np.array([f.capacity_as for f in filters])
    start = filters[0].t_last if filters[0].t_last is not None else float(t[0])
    b = Blocks(t, v, i, start, cfg, capacity_as)
    tables = _tables(filters, None if temps is None else temps[:, b.lo], b.count)
    arrays = FilterArrays(
        np.stack([f.x for f in filters if f.x is not None]),
        np.stack([f.p for f in filters]),
        np.array([f.error_scale for f in filters]),
        np.array([f.rest_s for f in filters]),
        np.array([f.offset_rest_s for f in filters]),
        np.array([f.persistence.row() for f in filters]),
    )
    s_start, offset, gain_err, std = (
        np.repeat(a.T, b.lengths, axis=1)
        for a in run_blocks(arrays, b, tables, i, capacity_as, np.array([f.rest_a for f in filters]), cfg)
    )
    soc = b.ds_dg * (gain_err - 1.0)
    soc += s_start
    soc += b.ds_db * offset
    results = []
    for k, f in enumerate(filters):
        f.x, f.p = arrays.x[k].copy(), arrays.p[k].copy()
        f.error_scale, f.rest_s = float(arrays.error_scale[k]), float(arrays.rest_s[k])
        f.offset_rest_s = float(arrays.offset_rest_s[k])
        f.persistence = InnovationPersistence(*arrays.memory[k].tolist())
        f.t_last = float(t[-1])
        results.append(f._result(soc[k], std[k]))
    return results


def _tables(filters: Sequence[SocFilter], block_temps: np.ndarray | None, count: int) -> Tables:
    """The look-up table of every filter in each of `count` blocks: at the block's first temperature (K,
    count), or the last finite one before it in this chunk (none: the model's without temperature)."""
    lookups: list[Lookup] = []
    position: dict[int, int] = {}  # id of a lookup -> its place in lookups (filters may share them)
    which = np.zeros((count, len(filters)), dtype=np.intp)
    for k, f in enumerate(filters):
        if block_temps is None:
            keys, inverse = np.array([np.nan]), np.zeros(count, dtype=np.intp)
        else:
            temps = block_temps[k]
            last = np.maximum.accumulate(np.where(np.isfinite(temps), np.arange(count), -1))
            carried = np.where(last >= 0, temps[np.maximum(last, 0)], np.nan)
            keys, inverse = np.unique(np.round(carried * 2.0) / 2.0, return_inverse=True)
        place = []
        for key in keys.tolist():
            found = f._lookup(None if math.isnan(key) else key)
            if id(found) not in position:
                position[id(found)] = len(lookups)
                lookups.append(found)
            place.append(position[id(found)])
        which[:, k] = np.array(place)[inverse]
    return Tables.of(lookups, which)


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
