"""Cycle analysis against physics: charge conservation, counters, and the simulated truth."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from bmts.analytics import cycle_summary, derive_cycles, discharge_curve, signed_current, voltage_grid
from bmts.analytics.cycles import interval_charge_ah, loads_then_rest, step_labels


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(-5, 5), st.integers(1, 50)), min_size=1, max_size=30),
    dt=st.floats(0.1, 60),
)
def test_charge_is_conserved(steps: list[tuple[float, int]], dt: float) -> None:
    """Net charge booked to cycles equals the integral of the current, whatever the cycle split."""
    current = np.concatenate([np.full(n, i) for i, n in steps])
    time = np.arange(current.size) * dt
    frame = pl.DataFrame(
        {"test_time_second": time, "voltage_volt": np.full(current.size, 3.7), "current_ampere": current}
    )
    table = cycle_summary(frame)
    net = float((table["charge_capacity_ah"] - table["discharge_capacity_ah"]).sum())
    assert np.isclose(net, interval_charge_ah(time, current, step_labels(current)).sum(), atol=1e-9)
    assert (table["charge_capacity_ah"] >= 0).all() and (table["discharge_capacity_ah"] >= 0).all()


def test_constant_current_discharge_capacity_is_exact() -> None:
    time = np.arange(0, 3600.0 + 1, 10.0)
    current = np.full(time.size, -2.0)
    frame = pl.DataFrame(
        {"test_time_second": time, "voltage_volt": 4.1 - time / 3600, "current_ampere": current}
    )
    row = cycle_summary(frame).row(0, named=True)
    assert np.isclose(row["discharge_capacity_ah"], 2.0)
    assert np.isclose(row["discharge_energy_wh"], 2.0 * (4.1 - 0.5), rtol=1e-6)


def test_cycles_of_the_simulated_cell(cell_frame: pl.DataFrame) -> None:
    table = cycle_summary(cell_frame)
    assert table["cycle"].to_list() == [1, 2, 3, 4, 5]
    ce = table["coulombic_efficiency"].to_numpy()[1:]
    assert np.all((ce > 0.99) & (ce < 1.0))  # the simulator stores 99.95% of the charge
    # derived cycles (counter removed) find the same cycle boundaries within one sample
    derived = derive_cycles(
        cell_frame["test_time_second"].to_numpy(), cell_frame["current_ampere"].to_numpy()
    )
    assert derived.max() == 5


def test_regen_pulses_do_not_split_cycles() -> None:
    rng = np.random.default_rng(0)
    current = np.where(rng.random(5000) < 0.1, 1.5, -2.0)  # drive-cycle like: mostly discharge, regen pulses
    time = np.arange(current.size, dtype=float)
    assert derive_cycles(time, current).max() == 1


def test_a_log_of_charges_only_has_a_cycle_per_charge_session() -> None:
    # three charges logged at 10 s, hours apart (the discharges between them not logged), one with a rest
    # logged after it; and a charge paused for 5 minutes within a session
    sessions = [np.arange(0, 1800, 10.0), np.arange(9000, 10800, 10.0), np.arange(20000, 21000, 10.0)]
    time = np.concatenate([*sessions, np.arange(21300, 22000, 10.0)])
    current = np.full(time.size, 1.2)
    current[(time > 10000) & (time < 10800)] = 0.0  # at rest, still logged, after the second charge
    cycles = derive_cycles(time, current)
    assert cycles[0] == 1 and cycles[sessions[0].size] == 2 and cycles[-1] == 3
    assert np.all(np.diff(cycles) >= 0) and set(cycles.tolist()) == {1, 2, 3}


def test_discharge_curve_of_a_linear_discharge() -> None:
    time = np.arange(0, 3601.0, 1.0)
    voltage = 4.0 - time / 3600
    current = np.full(time.size, -1.0)
    q = discharge_curve(time, voltage, current, voltage_grid(3.9, 3.1, 9))
    np.testing.assert_allclose(q, np.linspace(0.1, 0.9, 9), atol=1e-3)


def test_signed_current_recovers_charge_and_discharge() -> None:
    v = np.r_[np.linspace(3.0, 4.2, 50), np.full(20, 4.2), np.linspace(4.1, 3.0, 50)]
    i = np.r_[np.full(50, 1.0), np.linspace(1.0, 0.1, 20), np.full(50, 1.0)]
    steps = np.r_[np.full(50, 1), np.full(20, 2), np.full(50, 3)]
    signed = signed_current(v, i, steps)
    assert np.all(signed[:70] > 0) and np.all(signed[70:] < 0)


def test_loads_followed_by_a_long_enough_rest() -> None:
    t = np.arange(10.0) * 100.0
    i = np.array([0, -1, -1, 0, 0, 0, -1, 0, 0.5, 0.0])  # rests of 300 s, 100 s and 100 s after the loads
    starts, stops, rest_ends = loads_then_rest(t, i, 150.0)
    assert starts.tolist() == [1] and stops.tolist() == [3] and rest_ends.tolist() == [5]
    assert [a.size for a in loads_then_rest(t, np.zeros(10), 1.0)] == [0, 0, 0]
