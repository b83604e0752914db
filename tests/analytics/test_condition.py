"""Battery condition for the passport against hand-computed physics and the simulated truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from bmts.analytics import cycle_summary
from bmts.analytics.condition import (
    BatteryCondition,
    NegativeEvent,
    TemperatureExposure,
    battery_condition,
    coulomb_counted_soc,
    temperature_exposure,
)
from bmts.analytics.passport import condition_members
from bmts.pipeline.sample_data import CellSpec, simulate_cell
from bmts.schema import DataError

ORIGIN = datetime(2025, 3, 1, tzinfo=UTC)
LATER = datetime(2026, 1, 1, tzinfo=UTC)


def _table() -> pl.DataFrame:
    """Six cycles of a 2 Ah / 7.4 Wh cell; cycle 5 is a partial cycle, cycle 4 a deep discharge, cycles 3
    and 4 overcharged, cycle 3 without a resistance measurement."""
    charge_wh = [7.6, 8.0, 7.8, 7.6, 3.8, 7.5]
    discharge_wh = [7.2, 7.4, 7.25, 7.0, 2.2, 6.9]
    return pl.DataFrame(
        {
            "cycle": [1, 2, 3, 4, 5, 6],
            "start_time_second": [0.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0, 45_000.0],
            "duration_second": [9000.0, 9000.0, 9000.0, 9000.0, 4000.0, 9000.0],
            "charge_capacity_ah": [2.0, 2.1, 2.05, 2.0, 1.0, 1.98],
            "discharge_capacity_ah": [1.95, 2.0, 1.96, 1.90, 0.6, 1.88],
            "charge_energy_wh": charge_wh,
            "discharge_energy_wh": discharge_wh,
            "energy_efficiency": [d / c for d, c in zip(discharge_wh, charge_wh, strict=True)],
            "min_voltage_volt": [2.8, 2.79, 2.78, 2.5, 3.3, 2.8],
            "max_voltage_volt": [4.2, 4.2, 4.30, 4.31, 4.0, 4.2],
            "dc_resistance_ohm": [0.030, 0.031, None, 0.032, 0.033, 0.036],
            "deep_discharge_capacity_ah": [0.0, 0.0, 0.0, 0.05, 0.0, 0.0],
        }
    )


def test_condition_equals_hand_computed_physics() -> None:
    c = battery_condition(_table(), 2.0, 7.4, as_of=LATER, origin=ORIGIN, voltage_limits=(2.8, 4.2))
    # throughput: everything in and out, deep discharge included; full cycles = throughput / (2 x rated)
    throughput = (2.0 + 2.1 + 2.05 + 2.0 + 1.0 + 1.98) + (1.95 + 2.0 + 1.96 + 1.90 + 0.6 + 1.88) + 0.05
    assert c.capacity_throughput_ah == pytest.approx(throughput)
    assert c.full_cycles == pytest.approx(throughput / (2 * 2.0))
    assert c.energy_throughput_wh == pytest.approx(
        sum([7.6, 8.0, 7.8, 7.6, 3.8, 7.5, 7.2, 7.4, 7.25, 7.0, 2.2, 6.9])
    )
    # remaining capacity: median of the last 3 capacity-measuring cycles (3, 4, 6; 5 is partial)
    assert c.remaining_capacity_ah == pytest.approx(1.90)
    assert c.capacity_fade_percent == pytest.approx(100 * (1 - 1.90 / 2.0))
    assert c.remaining_energy_wh == pytest.approx(7.0)
    assert c.state_of_certified_energy_percent == pytest.approx(100 * 7.0 / 7.4)
    assert c.remaining_round_trip_efficiency_percent == pytest.approx(
        100 * 7.0 / 7.6
    )  # median of 7.25/7.8, 7.0/7.6, 6.9/7.5
    # resistance: median of the last 3 over the first 3 valid measurements
    assert c.internal_resistance_increase_percent == pytest.approx(100 * (0.033 / 0.031 - 1))
    # the latest data ends with cycle 6: 45000 s + 9000 s after the origin
    assert c.last_update == ORIGIN + timedelta(seconds=54_000)
    kinds = [(e.kind, e.details.split(",")[0], e.time) for e in c.negative_events]
    assert kinds == [
        ("overcharge", "cycles 3-4", ORIGIN + timedelta(seconds=20_000)),
        ("deep_discharge", "cycle 4", ORIGIN + timedelta(seconds=30_000)),
    ]


def test_fade_against_the_initial_capacity_and_window() -> None:
    c = battery_condition(_table(), 2.0, 7.4, as_of=LATER, window=1, capacity_reference="initial")
    assert c.remaining_capacity_ah == pytest.approx(1.88)
    assert c.capacity_fade_percent == pytest.approx(100 * (1 - 1.88 / 1.95))
    assert c.internal_resistance_increase_percent == pytest.approx(100 * (0.036 / 0.030 - 1))


def test_as_of_leaves_out_later_data_and_events_are_merged() -> None:
    as_of = ORIGIN + timedelta(seconds=35_000)
    accident = NegativeEvent("accident", "rear collision, housing inspected", ORIGIN + timedelta(seconds=100))
    c = battery_condition(_table(), 2.0, 7.4, as_of=as_of, origin=ORIGIN, events=[accident])
    assert c.last_update == as_of  # cycle 4 runs until 39000 s, after as_of
    assert c.capacity_throughput_ah == pytest.approx(8.15 + 7.81 + 0.05)
    assert c.remaining_capacity_ah == pytest.approx(1.96)  # median of cycles 2, 3, 4
    assert [e.kind for e in c.negative_events] == ["accident", "deep_discharge"]  # no voltage limits given


def test_without_origin_everything_is_stamped_as_of() -> None:
    c = battery_condition(_table(), 2.0, 7.4, as_of=datetime(2025, 6, 30, 12))  # naive = UTC
    assert c.last_update == datetime(2025, 6, 30, 12, tzinfo=UTC)
    assert all(e.time == c.last_update for e in c.negative_events)
    assert c.temperature is None and c.state_of_charge_percent is None


def test_no_cycles_is_zero_use_and_unknown_health() -> None:
    c = battery_condition(_table().clear(), 2.0, 7.4, as_of=LATER)
    assert c.capacity_throughput_ah == 0 and c.full_cycles == 0
    assert c.remaining_capacity_ah is None and c.capacity_fade_percent is None
    assert c.internal_resistance_increase_percent is None and c.negative_events == ()


def test_temperature_exposure_books_each_interval_to_its_end_sample() -> None:
    t = np.arange(0, 110, 10.0)  # 11 samples, 10 s apart
    temperature = np.array([25, 61, 62, 25, 25, -25, -26, 25, 61, 25, 25], dtype=float)
    current = np.array([0, 2, 2, 2, 0, 0, 2, 2, -2, -2, 0], dtype=float)
    frame = pl.DataFrame(
        {"test_time_second": t, "voltage_volt": np.full(t.size, 3.7), "current_ampere": current}
    ).with_columns(pl.Series("temperature_t1_celsius", temperature))
    got = temperature_exposure(frame, (-20.0, 60.0))
    assert got == TemperatureExposure(
        above_second=30.0, below_second=20.0, charging_above_second=20.0, charging_below_second=10.0
    )
    wider = temperature_exposure(frame, (-20.0, 60.0), charging_limits=(-30.0, 61.5))
    assert wider is not None and (wider.charging_above_second, wider.charging_below_second) == (10.0, 0.0)
    assert temperature_exposure(frame.drop("temperature_t1_celsius"), (-20.0, 60.0)) is None


def test_logging_gaps_do_not_count_as_time_at_extreme_temperature() -> None:
    frame = pl.DataFrame(
        {
            "test_time_second": [0.0, 10.0, 86_400.0],
            "voltage_volt": [3.7, 3.7, 3.7],
            "current_ampere": [0.0, 0.0, 0.0],
            "temperature_celsius": [70.0, 70.0, 70.0],
        }
    )
    got = temperature_exposure(frame, (-20.0, 60.0))
    assert got is not None and got.above_second == 10.0 + 3600.0


def test_coulomb_counted_soc_from_the_latest_voltage_limit() -> None:
    t = np.arange(0, 1800 + 60, 60.0)
    current = np.r_[0.0, np.full(t.size - 1, -1.0)]  # at rest at 4.2 V, then 1 A for 30 minutes
    voltage = np.r_[4.2, np.linspace(4.1, 3.8, t.size - 1)]
    frame = pl.DataFrame({"test_time_second": t, "voltage_volt": voltage, "current_ampere": current})
    assert coulomb_counted_soc(frame, 2.0, (2.8, 4.2)) == pytest.approx(0.75)
    assert coulomb_counted_soc(frame.with_columns(pl.lit(3.7).alias("voltage_volt")), 2.0, (2.8, 4.2)) is None


def test_simulated_cell_matches_the_simulator() -> None:
    spec = CellSpec("sim", capacity_ah=2.5, fade_per_cycle=0.001, resistance_growth_per_cycle=0.003)
    frame = simulate_cell(spec, cycles=20, seed=4)
    table = cycle_summary(frame)
    c = battery_condition(
        table,
        2.5,
        2.5 * 3.65,
        as_of=LATER,
        timeseries=frame,
        voltage_limits=(2.8, 4.2),
        capacity_reference="initial",
    )
    moved = float((table["charge_capacity_ah"] + table["discharge_capacity_ah"]).sum())
    assert c.capacity_throughput_ah == pytest.approx(moved)
    assert c.full_cycles == pytest.approx(moved / 5.0)
    assert (
        c.full_cycles is not None and 19 < c.full_cycles < 22
    )  # twenty charge/discharge cycles of about the rated capacity
    # the medians of 3 are cycles 2 and 19: fade (1 - 18f)/(1 - f), resistance growth 17 g
    assert c.capacity_fade_percent == pytest.approx(100 * (1 - (1 - 0.018) / (1 - 0.001)), abs=0.2)
    assert c.internal_resistance_increase_percent == pytest.approx(100 * 17 * 0.003 / 1.003, abs=1.0)
    assert c.remaining_round_trip_efficiency_percent is not None
    assert 85 < c.remaining_round_trip_efficiency_percent < 100
    assert c.state_of_charge_percent == pytest.approx(0.0, abs=3.0)  # the series ends discharged
    assert c.last_update == datetime.fromtimestamp(frame["unix_time_second"].to_numpy().max(), UTC)
    assert c.temperature == TemperatureExposure(0.0, 0.0, 0.0, 0.0)  # 25 degC lab, -20..60 limits
    assert c.negative_events == ()  # the sampled cut-off overshoot is no deep discharge


def test_members_carry_batterypass_units_and_last_update() -> None:
    when = datetime(2025, 6, 30, 12, 0, 0, 123456, tzinfo=UTC)
    c = BatteryCondition(
        last_update=when,
        component="pack",
        remaining_energy_wh=74_300.0,
        energy_throughput_wh=15_400_000.0,
        state_of_charge_percent=63.0,
        internal_resistance_increase_percent=6.0,
        temperature=TemperatureExposure(3600.0, 0.0, 600.0, 30.0),
        negative_events=(NegativeEvent("deep_discharge", "cycle 9", datetime(2025, 5, 1, 8)),),
    )
    m = condition_members(c)
    stamp = "2025-06-30T12:00:00Z"
    assert m["remainingEnergy"] == {"remainingEnergyValue": 74.3, "lastUpdate": stamp}
    assert m["energyThroughput"] == {"energyThroughputValue": 15_400.0, "lastUpdate": stamp}
    assert m["stateOfCharge"] == {"stateOfChargeValue": 63.0, "lastUpdate": stamp}
    assert m["internalResistanceIncrease"] == [
        {"batteryComponent": "pack", "internalResistanceIncreaseValue": 6.0, "lastUpdate": stamp}
    ]
    assert m["temperatureInformation"] == {
        "timeExtremeHighTemp": 60.0,
        "timeExtremeLowTemp": 0.0,
        "timeExtremeHighTempCharging": 10.0,
        "timeExtremeLowTempCharging": 0.5,
        "lastUpdate": stamp,
    }
    assert m["negativeEvents"] == [
        {"negativeEvent": "deep_discharge: cycle 9", "lastUpdate": "2025-05-01T08:00:00Z"}
    ]
    assert "capacityFade" not in m and "remainingCapacity" not in m  # unknown: left out, never null


def test_bad_input_is_refused_with_the_field_named() -> None:
    with pytest.raises(DataError, match="discharge_capacity_ah"):
        battery_condition(_table().drop("discharge_capacity_ah"), 2.0, 7.4, as_of=LATER)
    with pytest.raises(DataError, match="rated_capacity_ah"):
        battery_condition(_table(), 0.0, 7.4, as_of=LATER)
    with pytest.raises(DataError, match="component"):
        battery_condition(_table(), 2.0, 7.4, as_of=LATER, component="vehicle")
    with pytest.raises(ValueError, match="kind"):
        NegativeEvent("meltdown", "", LATER)
