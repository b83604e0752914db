"""SOH from full cycles, from partial 3.8-4.1 V charge windows and resistance growth, on simulated cycling."""

from __future__ import annotations

import numpy as np
import pytest

from bmts.analytics.soh import (
    Window,
    _excess_slopes,
    full_discharges,
    resistance_soh,
    soh_from_full_cycles,
    soh_from_windows,
    window_charge,
)
from bmts.analytics.soh_onset import below_window_shortfall

NOMINAL = 1.1


def ocv(soc: np.ndarray) -> np.ndarray:
    return 3.4 + 0.8 * soc - 0.3 * np.exp(-10 * soc) + 0.05 * np.exp(-(1 - soc) * 25)


def cycling(
    n: int = 40,
    fade: float = 0.004,
    dt: float = 10.0,
    left_soc: np.ndarray | None = None,
    tau_s: float = 0.0,
    r1_ohm: float = 0.0,
    noise_v: float = 0.0,
):
    """CC charge 0.5C to full, CC discharge 1C; capacity fades linearly. `left_soc[k - 1]`: SOC cycle k
    charges from and discharges back to (charge left in the cell, as a 1C discharge of a resistive old cell
    leaves it); the returned capacity is what each cycle charged and discharged. With `tau_s`, an RC pair
    (`r1_ohm`) polarises from rest at the start of every charge and discharge."""
    rng = np.random.default_rng(7)
    ts, vs, is_, cs, caps = [], [], [], [], []
    now = 0.0
    left = np.zeros(n) if left_soc is None else left_soc
    for k in range(1, n + 1):
        cell = NOMINAL * (1.02 - fade * (k - 1))
        cap = cell * (1 - left[k - 1])
        caps.append(cap)
        for rate, sign in ((0.5, 1.0), (1.0, -1.0)):
            i = sign * rate * NOMINAL
            steps = int(cap / abs(i) * 3600 / dt)
            since = np.arange(1, steps + 1) * dt
            q = since * abs(i) / 3600 / cell
            soc = left[k - 1] + q if sign > 0 else 1 - q
            v1 = r1_ohm * i * (1 - np.exp(-since / tau_s)) if tau_s > 0 else 0.0
            ts.append(now + since)
            vs.append(ocv(soc) + 0.05 * i + v1 + rng.normal(0.0, noise_v, steps) * (noise_v > 0))
            is_.append(np.full(steps, i))
            cs.append(np.full(steps, k))
            now = ts[-1][-1]
    return np.concatenate(ts), np.concatenate(vs), np.concatenate(is_), np.concatenate(cs), np.array(caps)


def windowed(t, v, i, c):
    """Only the charging samples within 3.8-4.1 V, as a field log that never sees a full cycle."""
    keep = (i > 0) & (v >= 3.8) & (v <= 4.1)
    return t[keep], v[keep], i[keep], c[keep]


def test_full_cycles_give_the_discharged_capacity() -> None:
    t, _, i, c, caps = cycling()
    table = soh_from_full_cycles(t, i, c, NOMINAL)
    assert table.height == caps.size
    assert np.max(np.abs(table["capacity_ah"].to_numpy() - caps)) < 0.01 * NOMINAL
    assert np.allclose(table["soh"].to_numpy(), table["capacity_ah"].to_numpy() / NOMINAL)
    assert np.all(table["capacity_std_ah"].to_numpy() > 0)


def test_full_cycles_stop_at_a_declared_end_of_discharge_voltage() -> None:
    # a data set whose capacity is defined to 3.3 V (as NASA PCoE's to 2.7 V) while its discharges go on
    t, v, i, c, caps = cycling(n=5)
    eod = np.where(c == 3, np.nan, 3.3)  # cycle 3 declares none
    table = soh_from_full_cycles(t, i, c, NOMINAL, voltage_v=v, end_of_discharge_v=eod)
    cap = table["capacity_ah"].to_numpy()
    below = (v < 3.3) & (i < 0) & (c == 1)
    assert below.sum() > 3  # the discharge does go below 3.3 V
    assert cap[2] == pytest.approx(caps[2], rel=0.01)
    for k in (0, 1, 3, 4):
        assert cap[k] < caps[k] - 0.01 * NOMINAL
    # the charge down to 3.3 V: to the interpolated crossing, within a logging step's charge
    step_ah = 1.0 * NOMINAL * 10.0 / 3600.0
    soc_at = np.interp(3.3 + 0.05 * NOMINAL, ocv(np.linspace(0, 1, 2001)), np.linspace(0, 1, 2001))
    cell = NOMINAL * (1.02 - 0.004 * np.arange(5))
    assert np.allclose(cap[[0, 1, 3, 4]], (cell * (1 - soc_at))[[0, 1, 3, 4]], atol=step_ah)


def test_partial_discharges_are_not_taken_for_the_capacity() -> None:
    # a field log: every fourth cycle is a full discharge, whose last logged sample lands anywhere in the
    # steep tail (0-3 % SOC, 0.1 V apart), the others stop at 40-70 % SOC
    tail = np.random.default_rng(3).uniform(0.0, 0.03, 40)
    full_k = np.arange(40) % 4 == 0
    left = np.where(full_k, tail, np.linspace(0.4, 0.7, 40))
    t, v, i, c, caps = cycling(left_soc=left)
    ids, full = full_discharges(v, i, c, NOMINAL)
    assert ids.tolist() == list(range(1, 41))
    assert full.tolist() == full_k.tolist()
    table = soh_from_full_cycles(t, i, c, NOMINAL, voltage_v=v)
    assert table["cycle"].to_list() == (ids[full]).tolist()
    assert np.max(np.abs(table["capacity_ah"].to_numpy() - caps[full])) < 0.01 * NOMINAL
    # without the voltage every discharge counts, partial ones too
    assert soh_from_full_cycles(t, i, c, NOMINAL).height == 40


def test_partial_windows_follow_the_fade_within_two_percent() -> None:
    t, v, i, c, caps = cycling(fade=0.001)
    table = soh_from_windows(*windowed(t, v, i, c), NOMINAL, Window(3.8, 4.1))
    est = table["capacity_ah"].to_numpy()
    # calibrated on the first cycles as nominal: error is the first cycles' distance from nominal, 2 %
    assert np.sqrt(np.mean((est - caps) ** 2)) < 0.03 * NOMINAL
    # the trend follows: the lost capacity shows in the window
    assert np.allclose(est - est[0], caps - caps[0], atol=0.03 * NOMINAL)
    assert np.all(table["capacity_std_ah"].to_numpy() > 0)


def test_partial_window_uncertainty_covers_the_constant_outside_assumption() -> None:
    # this simulated cell fades uniformly, so it also loses charge outside the window (in proportion): the
    # constant-outside estimate drifts high (0.09 Ah after 16 % fade), and the reported uncertainty grows
    # with the window's loss so that two standard deviations still cover it (77 % of cycles without)
    t, v, i, c, caps = cycling(fade=0.004)
    table = soh_from_windows(*windowed(t, v, i, c), NOMINAL, Window(3.8, 4.1))
    err, std = table["capacity_ah"].to_numpy() - caps, table["capacity_std_ah"].to_numpy()
    assert err[-1] > 0.05
    assert np.all(np.abs(err) <= 2 * std)
    assert std[-1] > 1.5 * std[0]


def test_windows_the_charge_started_inside_are_labelled_and_uncertain() -> None:
    # the last ten discharges stop at 55 % SOC, above the window's start (3.8 V is ~47 % SOC on charge):
    # the charge of those cycles starts inside the window and needs none of the charge below it
    # (the last one starts at 75 %, 4.03 V: it covers less than half the window and gives nothing)
    left = np.r_[np.zeros(30), np.full(9, 0.55), 0.75]
    t, v, i, c, caps = cycling(fade=0.001, dt=30.0, left_soc=left)
    table = soh_from_windows(*windowed(t, v, i, c), NOMINAL, Window(3.8, 4.1))
    assert table["cycle"].to_list() == list(range(1, 40))
    inside = table["method"].to_numpy() == "partial_window_started_inside"
    # at a 30 s logging interval the first sample inside lies up to a step above 3.8 V: still entered
    assert not inside[:30].any() and inside[30:].all()
    est, std = table["capacity_ah"].to_numpy(), table["capacity_std_ah"].to_numpy()
    assert np.sqrt(np.mean((est[:30] - caps[:30]) ** 2)) < 0.03 * NOMINAL
    # no transient in this cell: the estimate keeps the charge below the window, and says it may
    assert np.all(std[30:] > 3 * std[:30].max())


def test_onset_transient_shows_a_charge_that_started_closer_below_the_window() -> None:
    # an old cell's 1C discharge stops earlier each cycle, so its charge starts ever closer below 3.8 V
    # (from 0.06 Ah below it to right at it); tau 80 s, 0.5 mV noise as in a cycler's or a BMS's log
    left = np.linspace(0.38, 0.445, 40)
    t, v, i, c, caps = cycling(fade=0.0, left_soc=left, tau_s=80.0, r1_ohm=0.05, noise_v=0.0005)
    tw, vw, iw, cw = windowed(t, v, i, c)
    table = soh_from_windows(tw, vw, iw, cw, float(caps[:5].mean()), Window(3.8, 4.1))
    est = table["capacity_ah"].to_numpy()
    ids, ah, _, _ = window_charge(tw, vw, iw, cw, Window(3.8, 4.1))
    constant = ah + caps[:5].mean() - np.median(ah[:5])  # the same calibration without the onset
    late = slice(30, None)
    # the constant-outside model overstates the late cycles by the charge they no longer need below the
    # window (~0.05 Ah); the onset shows the part of it within a few tau of the window (~0.02 Ah)
    assert np.mean(np.abs(est[late] - caps[late])) < 0.7 * np.mean(np.abs(constant[late] - caps[late]))
    assert np.sqrt(np.mean((est - caps) ** 2)) < 0.025 * NOMINAL
    onset = below_window_shortfall(*_excess_slopes(tw, vw, iw, cw, Window(3.8, 4.1), ids))
    # the decay of a one-minute slope also carries the OCV's curvature: tau within 40 %
    assert 50.0 < onset.tau_s < 110.0
    assert onset.shortfall_ah[0] == 0.0 and onset.shortfall_ah[-1] > 0.01


def test_partial_windows_calibrated_on_full_cycles() -> None:
    t, v, i, c, caps = cycling(fade=0.001)
    full = soh_from_full_cycles(t, i, c, NOMINAL)
    table = soh_from_windows(t, v, i, c, NOMINAL, reference=full.head(5))
    # exact at the calibration cycles; this simulated cell loses capacity evenly over the whole curve, not
    # only inside the window, so the constant-outside model drifts by (1 - window share) of the fade
    err = table["capacity_ah"].to_numpy() - caps
    assert np.max(np.abs(err[:5])) < 0.005 * NOMINAL
    assert np.sqrt(np.mean(err**2)) < 0.02 * NOMINAL
    # one full cycle calibrates too (the first cycles need not be at nominal), with a wider spread
    one = soh_from_windows(t, v, i, c, NOMINAL, reference=full.slice(20, 1))
    err_one = one["capacity_ah"].to_numpy() - caps
    assert abs(err_one[20]) < 0.005 * NOMINAL and np.sqrt(np.mean(err_one**2)) < 0.02 * NOMINAL
    assert np.all(one["capacity_std_ah"].to_numpy() >= 0.01 * NOMINAL)


def test_resistance_growth_is_relative_to_the_first_cycles() -> None:
    r = np.r_[np.full(5, 0.09), np.linspace(0.09, 0.12, 20)]
    table = resistance_soh(np.arange(1, 26), r)
    assert table["resistance_growth"][0] == pytest.approx(1.0)
    assert table["resistance_growth"][-1] == pytest.approx(0.12 / 0.09)


def test_onset_needs_dense_logs_at_constant_current() -> None:
    left = np.linspace(0.38, 0.445, 40)
    t, v, i, c, _ = cycling(fade=0.0, dt=60.0, left_soc=left, tau_s=80.0, r1_ohm=0.05)
    tw, vw, iw, cw = windowed(t, v, i, c)
    ids, _, _, _ = window_charge(tw, vw, iw, cw, Window(3.8, 4.1))
    # one sample a minute cannot resolve a one-minute slope: no correction rather than a wrong one
    e0, *_ = _excess_slopes(tw, vw, iw, cw, Window(3.8, 4.1), ids)
    assert np.isnan(e0).all()
    t, v, i, c, _ = cycling(fade=0.0, left_soc=left, tau_s=80.0, r1_ohm=0.05)
    i = i * np.where(np.sin(t / 50.0) > 0, 1.0, 0.8)  # a charger that steps its current
    tw, vw, iw, cw = windowed(t, v, i, c)
    e0, *_ = _excess_slopes(tw, vw, iw, cw, Window(3.8, 4.1), ids)
    assert np.isnan(e0).all()
