"""SOH from full cycles, from partial 3.8-4.1 V charge windows and resistance growth, on simulated cycling."""

from __future__ import annotations

import numpy as np
import pytest

from bmts.analytics.soh import Window, resistance_soh, soh_from_full_cycles, soh_from_windows

NOMINAL = 1.1


def ocv(soc: np.ndarray) -> np.ndarray:
    return 3.4 + 0.8 * soc - 0.3 * np.exp(-10 * soc) + 0.05 * np.exp(-(1 - soc) * 25)


def cycling(n: int = 40, fade: float = 0.004, dt: float = 10.0):
    """CC charge 0.5C from empty to 4.2 V-ish, CC discharge 1C to empty; capacity fades linearly."""
    ts, vs, is_, cs, caps = [], [], [], [], []
    now = 0.0
    for k in range(1, n + 1):
        cap = NOMINAL * (1.02 - fade * (k - 1))
        caps.append(cap)
        for rate, sign in ((0.5, 1.0), (1.0, -1.0)):
            i = sign * rate * NOMINAL
            steps = int(cap / abs(i) * 3600 / dt)
            q = np.arange(1, steps + 1) * abs(i) * dt / 3600 / cap
            soc = q if sign > 0 else 1 - q
            ts.append(now + np.arange(1, steps + 1) * dt)
            vs.append(ocv(soc) + 0.05 * i)
            is_.append(np.full(steps, i))
            cs.append(np.full(steps, k))
            now = ts[-1][-1]
    return np.concatenate(ts), np.concatenate(vs), np.concatenate(is_), np.concatenate(cs), np.array(caps)


def test_full_cycles_give_the_discharged_capacity() -> None:
    t, _, i, c, caps = cycling()
    table = soh_from_full_cycles(t, i, c, NOMINAL)
    assert table.height == caps.size
    assert np.max(np.abs(table["capacity_ah"].to_numpy() - caps)) < 0.01 * NOMINAL
    assert np.allclose(table["soh"].to_numpy(), table["capacity_ah"].to_numpy() / NOMINAL)
    assert np.all(table["capacity_std_ah"].to_numpy() > 0)


def test_partial_windows_follow_the_fade_within_two_percent() -> None:
    t, v, i, c, caps = cycling(fade=0.001)
    window = (i > 0) & (v >= 3.8) & (v <= 4.1)
    table = soh_from_windows(t[window], v[window], i[window], c[window], NOMINAL, Window(3.8, 4.1))
    est = table["capacity_ah"].to_numpy()
    # calibrated on the first cycles as nominal: error is the first cycles' distance from nominal, 2 %
    assert np.sqrt(np.mean((est - caps) ** 2)) < 0.03 * NOMINAL
    # the trend follows: the lost capacity shows in the window
    assert np.allclose(est - est[0], caps - caps[0], atol=0.03 * NOMINAL)
    assert np.all(table["capacity_std_ah"].to_numpy() > 0)


def test_partial_windows_calibrated_on_full_cycles() -> None:
    t, v, i, c, caps = cycling(fade=0.001)
    full = soh_from_full_cycles(t, i, c, NOMINAL)
    table = soh_from_windows(t, v, i, c, NOMINAL, reference=full.head(5))
    # exact at the calibration cycles; this simulated cell loses capacity evenly over the whole curve, not
    # only inside the window, so the constant-outside model drifts by (1 - window share) of the fade
    err = table["capacity_ah"].to_numpy() - caps
    assert np.max(np.abs(err[:5])) < 0.005 * NOMINAL
    assert np.sqrt(np.mean(err**2)) < 0.02 * NOMINAL


def test_resistance_growth_is_relative_to_the_first_cycles() -> None:
    r = np.r_[np.full(5, 0.09), np.linspace(0.09, 0.12, 20)]
    table = resistance_soh(np.arange(1, 26), r)
    assert table["resistance_growth"][0] == pytest.approx(1.0)
    assert table["resistance_growth"][-1] == pytest.approx(0.12 / 0.09)
