"""OCV(SOC) identification from a simulated C/20 discharge and charge with hysteresis and IR drop."""

from __future__ import annotations

import numpy as np
import pytest

from bmts.analytics.ocv import OcvCurve, fit_ocv
from bmts.schema import DataError


def true_ocv(soc: np.ndarray) -> np.ndarray:
    s = np.asarray(soc, dtype=float)
    return 3.3 + 0.85 * s - 0.3 * np.exp(-10 * s) + 0.05 * np.exp(-(1 - s) * 25)


def c20_test(capacity: float = 2.0, hysteresis: float = 0.02, r: float = 0.05, dt: float = 60.0):
    i_rate = capacity / 20
    n = int(20 * 3600 / dt)
    t_dis = np.arange(1, n + 1) * dt
    soc_dis = 1 - i_rate * t_dis / 3600 / capacity
    v_dis = true_ocv(soc_dis) - hysteresis - r * i_rate
    t_rest = t_dis[-1] + np.arange(1, 61) * dt
    v_rest = np.full(60, true_ocv(np.array([0.0]))[0] - hysteresis)
    t_ch = t_rest[-1] + np.arange(1, n + 1) * dt
    soc_ch = i_rate * np.arange(1, n + 1) * dt / 3600 / capacity
    v_ch = true_ocv(soc_ch) + hysteresis + r * i_rate
    t = np.concatenate([[0.0], t_dis, t_rest, t_ch])
    v = np.concatenate([[true_ocv(np.array([1.0]))[0]], v_dis, v_rest, v_ch])
    i = np.concatenate([[0.0], np.full(n, -i_rate), np.zeros(60), np.full(n, i_rate)])
    return t, v, i


def test_mean_of_branches_recovers_the_true_ocv_and_capacity() -> None:
    t, v, i = c20_test()
    curve = fit_ocv(t, v, i)
    assert curve.capacity_ah == pytest.approx(2.0, rel=1e-3)
    grid = np.linspace(0.05, 0.95, 50)
    assert np.max(np.abs(curve(grid) - true_ocv(grid))) < 0.003
    # the half-gap is the hysteresis plus the IR drop of the C/20 current
    assert np.median(curve.hysteresis_v) == pytest.approx(0.02 + 0.05 * 0.1, abs=0.002)
    assert np.allclose(curve.inverse(curve(grid)), grid, atol=1e-3)
    assert np.all(np.diff(curve.voltage) > 0)


def test_discharge_only_test_and_json_round_trip() -> None:
    t, v, i = c20_test(hysteresis=0.0, r=0.0)
    keep = i <= 0
    curve = fit_ocv(t[keep], v[keep], i[keep])
    grid = np.linspace(0.05, 0.95, 50)
    assert np.max(np.abs(curve(grid) - true_ocv(grid))) < 0.003
    again = OcvCurve.from_dict(curve.to_dict())
    assert np.allclose(again(grid), curve(grid), atol=1e-5)


def test_no_current_is_refused() -> None:
    t = np.arange(100.0)
    with pytest.raises(DataError, match="no current"):
        fit_ocv(t, np.full(100, 3.7), np.zeros(100))


def test_gitt_reads_the_ocv_from_the_relaxed_voltages() -> None:
    from bmts.analytics.ecm import simulate_voltage
    from bmts.pipeline.sample_lab import true_cell_model

    model = true_cell_model()
    cap = model.capacity_ah
    # 20 discharge pulses of 5 % at C/5, each followed by an hour's rest, then the same charging
    pulse_s, rest_s = 0.05 * 3600 * 5, 3600.0
    steps = [(0.0, 600.0)]
    for direction in [-1] * 20 + [1] * 20:
        steps += [(direction * cap / 5, pulse_s), (0.0, rest_s)]
    t = np.arange(10.0, sum(seconds for _, seconds in steps) + 1e-9, 10.0)
    ends = np.cumsum([seconds for _, seconds in steps])
    i = np.array([current for current, _ in steps])[np.searchsorted(ends, t - 1e-9)]
    v, _ = simulate_voltage(model, t, i, 1.0, 25.0)
    curve = fit_ocv(t, v, i)
    assert curve.capacity_ah == pytest.approx(cap, rel=1e-3)
    grid = np.linspace(0.1, 0.9, 17)
    # under load the C/5 current alone would put the branches ~40 mV apart; the rest ends are at the OCV
    assert np.max(np.abs(curve(grid) - model.ocv(grid))) < 0.004
    assert np.median(curve.hysteresis_v) < 0.002


def test_a_fast_test_without_rests_is_not_an_ocv_test() -> None:
    t = np.arange(0.0, 3600.0, 1.0)
    i = np.where((t // 30) % 2 == 0, -5.0, 1.0)
    v = 3.7 + 0.0001 * np.cumsum(i)
    with pytest.raises(DataError, match="not an OCV test"):
        fit_ocv(t, v, i)
