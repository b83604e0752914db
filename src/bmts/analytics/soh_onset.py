"""The charge-onset transient at the start of a charge window: how close below the window a charge began.

When a charge starts, the cell's polarisation builds up over its slowest time constant (tens of seconds to
minutes): the terminal voltage first climbs faster than the open-circuit voltage does. A charge that started
well below the window reaches it settled; one that started just below it enters with the voltage still
catching up, so the window's first minute is steeper than the settled slope. The excess decays as
exp(-q / q_tau) with the charge q passed since the charge began (q_tau = I tau), so its size tells how much
charge the cycle passed below the window, up to the few q_tau where it drowns in noise:
q_below = q_tau ln(A / excess). The cells' first cycles (charged from well below the window) give the
baseline and the noise of the excess; q_tau comes from the decay between the first two minutes of windows
with a strong excess. Pure: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENT_S = 60.0  # the excess slope is measured over the first and the second minute of a window
SETTLED_S = (240.0, 480.0)  # after four minutes the polarisation of a charge has settled (tau ~ 1 min)
DETECT_SIGMA = 3.0  # an excess below three noise widths is no evidence of a late charge start
STRONG_SIGMA = 10.0  # windows whose excess is this strong measure the decay (q_tau)
REFERENCE_SHARE = 0.1  # the first tenth of the cycles (at least five) set the baseline and the noise


@dataclass(frozen=True)
class Onset:
    """Per cycle: the charge (Ah) the cycle passed below the window less than the reference cycles did,
    as far as the onset transient shows it (0 where it shows nothing), and the fitted time constant."""

    shortfall_ah: np.ndarray
    tau_s: float


def excess_slopes(
    t: np.ndarray, v: np.ndarray, i: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each window (samples starts[k]..ends[k]-1, time-ordered): dV/dQ over the first and second
    minute less the settled dV/dQ (V/Ah), the settled dV/dQ and the median current. NaN for windows shorter
    than the settled span, logged more sparsely than two samples a segment (with 20 % jitter), or whose current varies by more
    than 10 % before the settled span ends (the transient is that of a constant-current start)."""
    n = starts.size
    e0, e1, settled, current = (np.full(n, np.nan) for _ in range(4))
    for k in range(n):
        tt = t[starts[k] : ends[k]] - t[starts[k]]
        if tt.size < 4 or tt[-1] < SETTLED_S[1]:
            continue
        vv, ii = v[starts[k] : ends[k]], i[starts[k] : ends[k]]
        early = tt <= SETTLED_S[1]
        if np.max(np.diff(tt[early])) > 0.6 * SEGMENT_S or np.ptp(ii[early]) > 0.1 * abs(
            float(np.median(ii))
        ):
            continue
        q = np.r_[0.0, np.cumsum(ii[1:] * np.diff(tt))] / 3600.0
        marks = np.array([0.0, SEGMENT_S, 2 * SEGMENT_S, SETTLED_S[0], SETTLED_S[1]])
        vm, qm = np.interp(marks, tt, vv), np.interp(marks, tt, q)
        dq = np.diff(qm)
        if np.any(dq[[0, 1, 3]] <= 0):
            continue
        settled[k] = (vm[4] - vm[3]) / dq[3]
        e0[k] = (vm[1] - vm[0]) / dq[0] - settled[k]
        e1[k] = (vm[2] - vm[1]) / dq[1] - settled[k]
        current[k] = float(np.median(ii))
    return e0, e1, settled, current


def below_window_shortfall(e0: np.ndarray, e1: np.ndarray, settled: np.ndarray, current: np.ndarray) -> Onset:
    """The charge shortfall below the window per cycle (cycles in time order), from the excess slopes."""
    n = e0.size
    none = Onset(np.zeros(n), float("nan"))
    finite = np.flatnonzero(np.isfinite(e0))
    ref = finite[: max(5, int(REFERENCE_SHARE * finite.size))]
    if ref.size < 5:
        return none
    base = float(np.median(e0[ref]))
    # noise of a one-minute slope; a floor of 1 % of the settled slope for clean (simulated) data
    noise = max(1.4826 * float(np.median(np.abs(e0[ref] - base))), 0.01 * float(np.median(settled[ref])))
    if not noise > 0:
        return none
    x0, x1 = (e0 - base) / noise, (e1 - base) / noise
    with np.errstate(invalid="ignore", divide="ignore"):
        strong = (x0 > STRONG_SIGMA) & (x1 > 0) & (x1 < x0)
        if not np.any(strong):
            return none
        # the excess falls by x0/x1 over one segment's charge
        q_tau = float(np.median(current[strong] * SEGMENT_S / 3600.0 / np.log(x0[strong] / x1[strong])))
        shortfall = q_tau * np.log(np.maximum(np.nan_to_num(x0, nan=0.0) / DETECT_SIGMA, 1.0))
    return Onset(shortfall, q_tau * 3600.0 / float(np.median(current[strong])))
