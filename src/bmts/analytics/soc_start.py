"""The initial SOC read off a log's first minutes, for a start that the voltage contradicts. Pure.

A given initial SOC is a guess with a standard deviation (`SocConfig.initial_soc_std`), which the Kalman filter
then corrects block by block. When the guess is far wrong, the first blocks' innovation (0.2 V for 30 SOC
points) is read by the filter's covariance matching as model error: the gain is damped and convergence takes
10-20 min. The filter alone cannot tell a wrong state from a wrong model in one block, but the first minutes can:
the open-loop model is run from every candidate start on the SOC grid, and the best candidate's residual is the
model's own error there, while the excess residual of the others is state error. Each candidate's modelled
overpotential may be off by a factor (the part of its residual proportional to the overpotential is taken
out first): a wrong scale, the commonest error of a pulse-fitted model, is then not read as SOC. The
candidates' likelihood, with the residual counted once per model-error correlation time, gives the voltage's
verdict on the start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bmts.analytics.compiled import compiled
from bmts.analytics.ecm import butler_volmer, rc_response
from bmts.analytics.soc_tables import grid_index

#: the first minutes compared with the model (at most; the log's first chunk may be shorter)
HORIZON_S = 300.0
#: a shorter first chunk than this is not used (too little for a verdict)
MIN_HORIZON_S = 60.0
#: the horizon ends at the first logging gap longer than this (the filter assumes nothing flows in a gap)
MAX_GAP_S = 30.0
#: a start read off the first minutes is known no better than this (the model's own error)
MIN_START_STD = 0.02
#: the modelled overpotential's relative error allowed for each candidate start: pulse-fitted models
#: over-predict the first minutes of a drive by 10-46 % on the simulated cells of the benchmarks
SCALE_ERROR_BOUNDS = (-0.5, 1.0)


@dataclass(frozen=True)
class StartVerdict:
    """What the first minutes say about the initial SOC."""

    best_soc: float  # the voltage's own best start (maximum likelihood)
    soc: float  # the posterior mean: the likelihood combined with the guess
    soc_std: float  # the posterior's spread (at least MIN_START_STD)
    #: the likelihood's own mean and spread, without the guess: the start when the guess is contradicted
    free_soc: float
    free_soc_std: float
    model_error_v: float  # the best start's RMS voltage residual
    ocv_slope_v: float  # the OCV's slope at the best start (V per unit SOC)


def horizon_temperatures(t: np.ndarray, temps: np.ndarray | None) -> tuple[list[float | None], np.ndarray]:
    """(the cell temperatures, to 0.5 K, that the first `HORIZON_S` pass through; each sample's index among
    them). A missing reading holds the last one (the first one before any), as the filter's blocks do;
    without any reading, one unknown temperature."""
    end = int(np.searchsorted(t, t[0] + HORIZON_S, side="right"))
    known = np.zeros(0, dtype=bool) if temps is None else np.isfinite(temps[:end])
    if temps is None or not known.any():
        return [None], np.zeros(end, dtype=np.intp)
    held = temps[:end][np.maximum.accumulate(np.where(known, np.arange(end), 0))]
    held = np.nan_to_num(held, nan=float(temps[:end][known][0]))
    unique, which = np.unique(np.round(held * 2) / 2, return_inverse=True)
    return unique.tolist(), which


def _unit_responses(
    t: np.ndarray, i: np.ndarray, which: np.ndarray, tau1: np.ndarray, tau2: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The two RC pairs' unit-resistance responses to the Butler-Volmer current, with the time constants
    and scale of the table each sample is in (`which`; one per temperature, as the cell warms)."""
    g = butler_volmer(i, scale[which])
    out = (np.empty(t.size), np.empty(t.size))
    edges = np.flatnonzero(np.r_[True, which[1:] != which[:-1], True])
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        k = int(which[lo])
        for resp, tau in zip(out, (tau1[k], tau2[k]), strict=True):
            if lo == 0:
                resp[lo:hi] = rc_response(t[lo:hi], g[lo:hi], float(tau))
            else:  # continue from the sample before, with this table's time constant
                resp[lo:hi] = rc_response(t[lo - 1 : hi], g[lo - 1 : hi], float(tau), resp[lo - 1])[1:]
    return out


def first_minutes_verdict(
    soc_grid: np.ndarray,
    rows: np.ndarray,
    which: np.ndarray,
    t: np.ndarray,
    v: np.ndarray,
    i: np.ndarray,
    capacity_as: float,
    prior_soc: float,
    prior_std: float,
    error_floor_v: float,
    error_correlation_s: float,
) -> StartVerdict | None:
    """The initial SOC's likelihood from the samples in the first `HORIZON_S` of (t, v, i), for every start
    on `soc_grid`, and its combination with the guess (`prior_soc` +- `prior_std`). `rows` are the model's
    parameters on the grid, one table per temperature the log passes through (tables x grid x columns:
    OCV with its offset, slope, R0, R1, tau1, R2, tau2, Butler-Volmer scale), `which` the table of each
    sample: a cold cell warms by kelvins in its first minutes, and its overpotential falls with it. None
    when the log's first chunk is shorter than `MIN_HORIZON_S`."""
    end = int(np.searchsorted(t, t[0] + HORIZON_S, side="right"))
    gaps = np.flatnonzero(np.diff(t[:end]) > MAX_GAP_S)
    if gaps.size:
        end = int(gaps[0]) + 1
    span = float(t[end - 1] - t[0])
    if span < MIN_HORIZON_S or end < 10:
        return None
    t, v, i, which = t[:end], v[:end], i[:end], which[:end]
    charge = np.cumsum(i * np.diff(t, prepend=t[:1])) / capacity_as
    last = soc_grid.size - 1
    # time constants and scale do not depend on SOC in a fitted model: one pair of responses for all starts
    if np.all(np.ptp(rows[:, :, [4, 6, 7]], axis=1) == 0.0):
        v1, v2 = (
            r[None, :] for r in _unit_responses(t, i, which, rows[:, 0, 4], rows[:, 0, 6], rows[:, 0, 7])
        )
    else:
        pairs = [
            _unit_responses(t, i, which, rows[:, k, 4], rows[:, k, 6], rows[:, k, 7]) for k in range(last + 1)
        ]
        v1, v2 = (np.array([pair[j] for pair in pairs]) for j in (0, 1))
    mse = np.empty(soc_grid.size)
    _start_errors(soc_grid, np.ascontiguousarray(rows), which.astype(np.intp), charge, v, i, v1, v2, mse)
    best = int(np.argmin(mse))
    error_var = max(float(mse[best]), error_floor_v**2)
    independent = max(span / error_correlation_s, 1.0)
    log_lik = -0.5 * independent * (mse - mse[best]) / error_var
    mean, std = _moments(soc_grid, log_lik - 0.5 * ((soc_grid - prior_soc) / prior_std) ** 2)
    free_mean, free_std = _moments(soc_grid, log_lik)
    best_row = rows[int(which[0]), best]
    return StartVerdict(
        float(soc_grid[best]), mean, std, free_mean, free_std, math.sqrt(error_var), float(best_row[1])
    )


@compiled
def _start_errors(
    soc_grid: np.ndarray,
    rows: np.ndarray,
    which: np.ndarray,
    charge: np.ndarray,
    v: np.ndarray,
    i: np.ndarray,
    v1: np.ndarray,
    v2: np.ndarray,
    mse: np.ndarray,
) -> None:
    """The open-loop model's mean squared residual from every candidate start (into `mse`): SOC = start +
    `charge`, the model at each sample's table (`which`), the RC pairs' unit responses `v1`, `v2` (one row
    for all starts, or one per start). Compiled: 201 starts times the first minutes' samples."""
    last = soc_grid.size - 1
    n = v.size
    over, residual = np.empty(n), np.empty(n)
    lo, hi = SCALE_ERROR_BOUNDS
    for k in range(soc_grid.size):
        r = 0 if v1.shape[0] == 1 else k
        res_over = over_over = 0.0
        for m in range(n):
            soc = soc_grid[k] + charge[m]
            u = which[m]
            at = grid_index(soc, last)
            over[m] = rows[u, at, 2] * i[m] + rows[u, at, 3] * v1[r, m] + rows[u, at, 5] * v2[r, m]
            below = min(max(math.floor(soc * last), 0), last - 1)  # OCV: linear between points
            frac = min(max(soc * last - below, 0.0), 1.0)
            ocv = (1.0 - frac) * rows[u, below, 0] + frac * rows[u, below + 1, 0]
            residual[m] = v[m] - ocv - over[m]
            res_over += residual[m] * over[m]
            over_over += over[m] * over[m]
        # the part of the residual that follows the modelled overpotential is its scale error, not SOC
        scale_error = min(max(res_over / max(over_over, 1e-12), lo), hi)
        total = 0.0
        for m in range(n):
            d = residual[m] - scale_error * over[m]
            total += d * d
        mse[k] = total / n


def _moments(soc_grid: np.ndarray, log_weight: np.ndarray) -> tuple[float, float]:
    """Mean and spread (at least MIN_START_STD) of a distribution on the grid given by its log weights."""
    w = np.exp(log_weight - log_weight.max())
    w /= w.sum()
    mean = float(np.dot(w, soc_grid))
    return mean, max(math.sqrt(float(np.dot(w, (soc_grid - mean) ** 2))), MIN_START_STD)
