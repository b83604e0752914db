"""Long constant-current loads (the discharges between pulse sets) as a check on the ECM's slow branch. Pure.

A pulse test's 10 s pulses identify R0 and the fast pair well, but the slow pair (tau2 of 40-100 s) only
from the relaxation after them; in the cold it then over-predicts the overpotential of a long load by
10-30 % (Panasonic 18650PF, 0.29C for 10-20 min: 25 degC within +-10 %, 10 degC 0.72-0.87x, 0 degC
0.69-0.90x of the model). Each discharge of at least three tau2 that ends in a rest gives the quasi-steady
overpotential directly — the loaded voltage at its end minus the rested voltage at the end of the rest
(no charge flows in the rest, so the OCV cancels) — and R2 is corrected per SOC to reproduce it.

Long loads also heat the cell (a 1C discharge between pulse sets of a cold pulse test: 12 K), so evaluated
at their own cell temperature they measure how the overpotential falls above the table: the warm-side
activation the model uses where a cold cell drives warmer than its only table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq

from bmts.analytics.cycles import loads_then_rest
from bmts.analytics.ecm import CellModel, EcmTable, arrhenius, butler_volmer, rc_response

MIN_TAU2_MULTIPLE = 3.0  # a load this many tau2 long is quasi-steady for the model's slow pair
MIN_REST_S = 600.0  # the rest after it must be this long for its end to be near the OCV
#: correct only when the Butler-Volmer scale is at least this C-rate: the branch is then within 12 % of
#: linear up to 1C (asinh(1)/1 = 0.88), so R2 fitted at the long load's rate holds at drive rates. Below it
#: (0 degC: 1.1 A, 0.37C) moving R2 to the 0.29C load made the 0 degC drives worse (see the docs).
LINEAR_C_RATE = 1.0
CURRENT_TOLERANCE = 0.1  # a long load's current stays within this fraction of its end value
SOC_MERGE = 0.01  # loads ending within this SOC of each other are averaged
#: a load tests the warm side when it ends at least this much above the table (below it the change of
#: the overpotential is within the loads' scatter), and the activation needs this many such loads
MIN_WARM_EXCESS_K = 2.0
MIN_WARM_LOADS = 3
#: ... whose heating, under the model's own activation, changes the overpotential by at least this much
#: (log, their median): the model's level error at long loads is of this size (Panasonic 25 degC within
#: +-10 %, simulated cells' tables 4-20 %), and the fit, anchored at the table, reads a level error as
#: temperature dependence, the more the less the loads heated (simulated O'Kane cell, dis5 loads 2-3 K
#: above its 10 / 0 degC tables: fitted 4450 / 5030 K where ~2000 K fits its drives)
MIN_WARM_CHANGE = 0.10
WARM_ACTIVATION_BOUNDS_K = (500.0, 20000.0)  # as the other fitted activations (ecm.fit_*)
TEMPERATURE_STEP_K = 0.1  # the model's parameters are looked up per this step of a load's temperature


class LoadTrace(NamedTuple):
    """One load from the rest sample before it to its end."""

    t_s: np.ndarray
    current_a: np.ndarray
    soc: np.ndarray
    temperature_c: np.ndarray  # NaN without a temperature column


@dataclass(frozen=True)
class LongLoads:
    """Quasi-steady overpotentials of long constant-current loads, ascending in SOC."""

    soc: np.ndarray  # at the end of the load
    current_a: np.ndarray
    duration_s: np.ndarray
    overpotential_v: np.ndarray
    temperature_c: np.ndarray  # cell temperature at the end of the load (NaN: not measured)
    traces: tuple[LoadTrace, ...] = ()

    def subset(self, keep: np.ndarray) -> LongLoads:
        traces = tuple(tr for tr, k in zip(self.traces, keep, strict=True) if k)
        return LongLoads(
            self.soc[keep],
            self.current_a[keep],
            self.duration_s[keep],
            self.overpotential_v[keep],
            self.temperature_c[keep],
            traces,
        )


def long_loads(
    t: np.ndarray,
    v: np.ndarray,
    i: np.ndarray,
    soc: np.ndarray,
    capacity_ah: float,
    min_duration_s: float,
    temperature_c: np.ndarray | None = None,
) -> LongLoads:
    """Constant-current loads lasting at least `min_duration_s` (charge passed / end current, robust to
    sparse logging), each followed by a rest of at least MIN_REST_S; tapering (CV) loads are left out."""
    temp = np.full(t.size, np.nan) if temperature_c is None else np.asarray(temperature_c, dtype=float)
    rows = []
    for a, b, rest_end in zip(*loads_then_rest(t, i, MIN_REST_S), strict=True):
        if a == 0:
            continue
        current = float(i[b - 1])
        seconds = (soc[b - 1] - soc[a - 1]) * capacity_ah * 3600.0 / current
        steady = np.all(np.abs(i[a:b] - current) <= CURRENT_TOLERANCE * abs(current))  # no CV taper
        if not steady or seconds < min_duration_s:
            continue
        w = slice(a - 1, b)
        trace = LoadTrace(t[w] - t[a - 1], i[w].astype(float), soc[w], temp[w])
        rows.append((float(soc[b - 1]), current, seconds, float(v[b - 1] - v[rest_end]), temp[b - 1], trace))
    rows.sort(key=lambda r: r[0])
    arr = np.array([r[:5] for r in rows], dtype=float).reshape(-1, 5)
    return LongLoads(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], tuple(r[5] for r in rows))


def _model_overpotential(table: EcmTable, found: LongLoads) -> tuple[np.ndarray, np.ndarray]:
    """The table's overpotential at the end of each load, and its slow pair's part per ohm of R2."""
    cur, dur = found.current_a, found.duration_s
    p = table.at(found.soc)
    g = butler_volmer(cur, p["bv_scale_a"])
    slow = g * (1.0 - np.exp(-dur / p["tau2_s"]))
    model = p["r0_ohm"] * cur + g * p["r1_ohm"] * (1.0 - np.exp(-dur / p["tau1_s"])) + p["r2_ohm"] * slow
    return model, slow


def model_overpotential(model: CellModel, found: LongLoads, fallback_c: float) -> np.ndarray:
    """The model's overpotential at the end of each load with its parameters at every sample's own cell
    temperature (`fallback_c` where none was measured): the RC pairs integrate the load as it warms."""
    out = np.empty(len(found.traces))
    for n, tr in enumerate(found.traces):
        temp = np.where(np.isfinite(tr.temperature_c), tr.temperature_c, fallback_c)
        key = np.round(temp / TEMPERATURE_STEP_K) * TEMPERATURE_STEP_K
        p = {k: np.empty(tr.t_s.size) for k in ("r0_ohm", "r1_ohm", "r2_ohm", "bv_scale_a")}
        for value in np.unique(key):
            sel = key == value
            at = model.params(tr.soc[sel], float(value))
            for k, arr in p.items():
                arr[sel] = at[k]
        end = model.params(tr.soc[-1], float(key[-1]))
        g = butler_volmer(tr.current_a, p["bv_scale_a"])
        v1 = rc_response(tr.t_s, p["r1_ohm"] * g, float(end["tau1_s"]))[-1]
        v2 = rc_response(tr.t_s, p["r2_ohm"] * g, float(end["tau2_s"]))[-1]
        out[n] = p["r0_ohm"][-1] * tr.current_a[-1] + v1 + v2
    return out


def relative_mismatch(model: CellModel, found: LongLoads, table_temperature_c: float) -> float:
    """Median over the long loads of |measured - modelled| / |modelled| quasi-steady overpotential, the
    model taken at each load's own cell temperature: how far the model is from the cell at a load it was
    not fitted to (NaN without loads). A filter can weight the model by it instead of by a fixed fraction
    of the overpotential."""
    if found.soc.size == 0:
        return float("nan")
    modelled = model_overpotential(model, found, table_temperature_c)
    return float(np.median(np.abs(found.overpotential_v - modelled) / np.maximum(np.abs(modelled), 1e-6)))


def fit_warm_activation(model: CellModel, loads: Sequence[LongLoads]) -> tuple[float | None, int]:
    """Ea/R of the warm-side law (ecm.CellModel._extrapolated) at which the model, taken at the loads' own
    temperatures, meets the median measured overpotential of the loads that ended at least
    MIN_WARM_EXCESS_K above the warmest table, and the number of such loads; (None, n) with fewer than
    MIN_WARM_LOADS, (None, 0) when their heating is within the model's level error (MIN_WARM_CHANGE).
    Each load is simulated through its own temperature trace (it warms all along; its end value alone gave
    nearly the same fits on the simulated cells, its mean a law far too steep). The level is anchored at
    the table, with no intercept: loads of one rate end at about the same temperature (a cold pulse test's
    discharges between its pulse sets all warm by ~12 K), so slope and intercept are not both identified
    from them, and an intercept across rates reads the rate dependence of the model's error as temperature
    dependence (simulated cells: every such fit at the lower bound)."""
    ref = max(t.cell_temperature_celsius for t in model.tables)
    keep = [f.subset(np.nan_to_num(f.temperature_c - ref, nan=-np.inf) >= MIN_WARM_EXCESS_K) for f in loads]
    n = sum(f.soc.size for f in keep)
    if n < MIN_WARM_LOADS:
        return None, n
    ends = np.concatenate([f.temperature_c for f in keep]).tolist()
    # how much (log) the model's own law lowers each load's overpotential from the table to its end
    change = [-np.log(arrhenius(end, ref, model.activation_k)) for end in ends]
    if float(np.median(change)) < MIN_WARM_CHANGE:
        return None, 0
    measured = np.concatenate([f.overpotential_v for f in keep])

    def excess(log_k: float) -> float:  # median log(measured / modelled); rises with the activation
        trial = replace(model, warm_activation_k=float(np.exp(log_k)))
        modelled = np.concatenate([model_overpotential(trial, f, ref) for f in keep])
        return float(np.median(np.log(np.maximum(measured / modelled, 1e-6))))

    lo, hi = np.log(WARM_ACTIVATION_BOUNDS_K)
    f_lo, f_hi = excess(lo), excess(hi)
    if f_lo >= 0.0 or f_hi <= 0.0:
        return float(np.exp(lo if f_lo >= 0.0 else hi)), n
    return float(np.exp(brentq(excess, lo, hi, xtol=1e-3))), n


def correct_slow_branch(table: EcmTable, found: LongLoads, capacity_ah: float) -> tuple[EcmTable, int]:
    """The table with R2 moved per SOC so that the model's overpotential at the end of each long load
    matches the measured one (R2 >= 0), and the number of loads used; unchanged when there are none.
    At the table's temperature: it acts only on near-linear (warm) tables, whose loads barely heat."""
    if float(np.median(table.params["bv_scale_a"])) < LINEAR_C_RATE * capacity_ah:
        return table, 0  # strongly non-linear: one low-rate load does not carry over to drive currents
    if found.soc.size == 0:
        return table, 0
    s_end = found.soc
    model, slow = _model_overpotential(table, found)
    delta = (found.overpotential_v - model) / slow
    groups = np.r_[0, np.cumsum(np.diff(s_end) > SOC_MERGE)]  # loads ending at one SOC (a second pass)
    s_mean = np.array([s_end[groups == k].mean() for k in range(groups[-1] + 1)])
    d_mean = np.array([delta[groups == k].mean() for k in range(groups[-1] + 1)])
    r2 = np.maximum(table.params["r2_ohm"] + np.interp(table.soc, s_mean, d_mean), 0.0)
    return replace(table, params={**table.params, "r2_ohm": r2}), int(s_end.size)


def min_load_s(table: EcmTable) -> float:
    """The shortest load that is quasi-steady for the table's slow pair."""
    return MIN_TAU2_MULTIPLE * float(np.median(table.params["tau2_s"]))
