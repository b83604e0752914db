"""Long constant-current loads (the discharges between pulse sets) as a check on the ECM's slow branch. Pure.

A pulse test's 10 s pulses identify R0 and the fast pair well, but the slow pair (tau2 of 40-100 s) only
from the relaxation after them; in the cold it then over-predicts the overpotential of a long load by
10-30 % (Panasonic 18650PF, 0.29C for 10-20 min: 25 degC within +-10 %, 10 degC 0.72-0.87x, 0 degC
0.69-0.90x of the model). Each discharge of at least three tau2 that ends in a rest gives the quasi-steady
overpotential directly — the loaded voltage at its end minus the rested voltage at the end of the rest
(no charge flows in the rest, so the OCV cancels) — and R2 is corrected per SOC to reproduce it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bmts.analytics.cycles import load_runs
from bmts.analytics.ecm import EcmTable

MIN_TAU2_MULTIPLE = 3.0  # a load this many tau2 long is quasi-steady for the model's slow pair
MIN_REST_S = 600.0  # the rest after it must be this long for its end to be near the OCV
#: correct only when the Butler-Volmer scale is at least this C-rate: the branch is then within 12 % of
#: linear up to 1C (asinh(1)/1 = 0.88), so R2 fitted at the long load's rate holds at drive rates. Below it
#: (0 degC: 1.1 A, 0.37C) moving R2 to the 0.29C load made the 0 degC drives worse (see the docs).
LINEAR_C_RATE = 1.0
CURRENT_TOLERANCE = 0.1  # a long load's current stays within this fraction of its end value
SOC_MERGE = 0.01  # loads ending within this SOC of each other are averaged


@dataclass(frozen=True)
class LongLoads:
    """Quasi-steady overpotentials of long constant-current loads, ascending in SOC."""

    soc: np.ndarray  # at the end of the load
    current_a: np.ndarray
    duration_s: np.ndarray
    overpotential_v: np.ndarray


def long_loads(
    t: np.ndarray, v: np.ndarray, i: np.ndarray, soc: np.ndarray, capacity_ah: float, min_duration_s: float
) -> LongLoads:
    """Constant-current loads lasting at least `min_duration_s` (charge passed / end current, robust to
    sparse logging), each followed by a rest of at least MIN_REST_S; tapering (CV) loads are left out."""
    starts, stops = load_runs(i)
    rows = []
    for k, (a, b) in enumerate(zip(starts, stops, strict=True)):
        rest_end = (starts[k + 1] if k + 1 < starts.size else t.size) - 1
        if a == 0 or t[rest_end] - t[b - 1] < MIN_REST_S:
            continue
        current = float(i[b - 1])
        seconds = (soc[b - 1] - soc[a - 1]) * capacity_ah * 3600.0 / current
        steady = np.all(np.abs(i[a:b] - current) <= CURRENT_TOLERANCE * abs(current))  # no CV taper
        if not steady or seconds < min_duration_s:
            continue
        rows.append((float(soc[b - 1]), current, seconds, float(v[b - 1] - v[rest_end])))
    arr = np.array(sorted(rows)).reshape(-1, 4)
    return LongLoads(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


def _model_overpotential(table: EcmTable, found: LongLoads) -> tuple[np.ndarray, np.ndarray]:
    """The table's overpotential at the end of each load, and its slow pair's part per ohm of R2."""
    cur, dur = found.current_a, found.duration_s
    p = table.at(found.soc)
    g = p["bv_scale_a"] * np.arcsinh(cur / p["bv_scale_a"])  # butler_volmer per load
    slow = g * (1.0 - np.exp(-dur / p["tau2_s"]))
    model = p["r0_ohm"] * cur + g * p["r1_ohm"] * (1.0 - np.exp(-dur / p["tau1_s"])) + p["r2_ohm"] * slow
    return model, slow


def min_load_s(table: EcmTable) -> float:
    """The shortest load that is quasi-steady for the table's slow pair."""
    return MIN_TAU2_MULTIPLE * float(np.median(table.params["tau2_s"]))


def relative_mismatch(table: EcmTable, found: LongLoads) -> float:
    """Median over the long loads of |measured - modelled| / |modelled| quasi-steady overpotential: how far
    the table is from the cell at a load it was not fitted to (NaN without loads). A filter can weight the
    model by it instead of by a fixed fraction of the overpotential."""
    if found.soc.size == 0:
        return float("nan")
    model = _model_overpotential(table, found)[0]
    return float(np.median(np.abs(found.overpotential_v - model) / np.maximum(np.abs(model), 1e-6)))


def correct_slow_branch(table: EcmTable, found: LongLoads, capacity_ah: float) -> tuple[EcmTable, int]:
    """The table with R2 moved per SOC so that the model's overpotential at the end of each long load
    matches the measured one (R2 >= 0), and the number of loads used; unchanged when there are none."""
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
    params = dict(table.params)
    params["r2_ohm"] = np.maximum(table.params["r2_ohm"] + np.interp(table.soc, s_mean, d_mean), 0.0)
    out = EcmTable(
        table.temperature_celsius,
        table.cell_temperature_celsius,
        table.soc,
        params,
        table.rmse_v,
        table.source,
        table.model_error_rel,
    )
    return out, int(s_end.size)
