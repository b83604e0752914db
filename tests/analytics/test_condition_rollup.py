"""Rolling cells' conditions up to a module or pack: layouts from ratings, the series/parallel rules, and a
cross-check against the condition computed directly from a parallel group's summed per-cycle table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from bmts.analytics import cycle_summary
from bmts.analytics.condition import BatteryCondition, NegativeEvent, TemperatureExposure, battery_condition
from bmts.analytics.condition_rollup import Constituent, Layout, Rating, infer_layout, rollup_condition
from bmts.pipeline.sample_data import CellSpec, simulate_cell
from bmts.schema import DataError

T0 = datetime(2025, 3, 1, tzinfo=UTC)
CELL = Rating(2.5, 9.125, 3.65)


def _cell(
    capacity_ah: float = 2.3,
    *,
    increase: float | None = 10.0,
    soc: float | None = 50.0,
    throughput_ah: float = 100.0,
    hours: int = 0,
    events: tuple[NegativeEvent, ...] = (),
    hot_second: float = 0.0,
) -> BatteryCondition:
    return BatteryCondition(
        last_update=T0 + timedelta(hours=hours),
        capacity_fade_percent=100 * (1 - capacity_ah / 2.5),
        remaining_capacity_ah=capacity_ah,
        remaining_energy_wh=capacity_ah * 3.65,
        state_of_certified_energy_percent=100 * capacity_ah / 2.5,
        state_of_charge_percent=soc,
        full_cycles=throughput_ah / 5.0,
        capacity_throughput_ah=throughput_ah,
        energy_throughput_wh=throughput_ah * 3.65,
        internal_resistance_increase_percent=increase,
        remaining_round_trip_efficiency_percent=95.0,
        temperature=TemperatureExposure(hot_second, 0.0, hot_second / 2, 0.0),
        negative_events=events,
    )


def _parts(*conditions: BatteryCondition | None) -> list[Constituent]:
    return [Constituent(f"c{n + 1}", c, CELL) for n, c in enumerate(conditions)]


def _string(*conditions: BatteryCondition | None, **options: Any) -> BatteryCondition:
    """The rollup of constituents all in series, as a 2.5 Ah string of them."""
    return rollup_condition(
        _parts(*conditions),
        Layout(len(conditions), 1, "ratings"),
        rated_capacity_ah=2.5,
        rated_energy_wh=9.125 * len(conditions),
        **options,
    )


def test_layout_from_the_ratings() -> None:
    cells = [CELL] * 288
    assert infer_layout(288, Rating(60.0, None, 43.8), cells) == Layout(12, 24, "ratings")
    assert infer_layout(3, Rating(7.5, None, 3.65), [CELL] * 3) == Layout(1, 3, "ratings")
    assert infer_layout(6, Rating(None, None, 7.3), [CELL] * 6) == Layout(2, 3, "voltage ratio")
    assert infer_layout(6, Rating(5.0, None, None), [CELL] * 6) == Layout(3, 2, "capacity ratio")
    # ratings that disagree with the genealogy (a 12s24p rating, 3 cells installed): the conservative reading
    assert infer_layout(3, Rating(60.0, None, 43.8), [CELL] * 3) == Layout(3, 1, "assumed series")
    assert infer_layout(4, Rating(None, None, None), [Rating()] * 4) == Layout(4, 1, "assumed series")
    with pytest.raises(DataError, match="count"):
        infer_layout(0, Rating(), [])


def test_identical_cells_in_2s3p_scale_the_cell() -> None:
    cell = _cell()
    pack = rollup_condition(
        _parts(*[cell] * 6), Layout(2, 3, "ratings"), rated_capacity_ah=7.5, rated_energy_wh=6 * 9.125
    )
    assert pack.remaining_capacity_ah == pytest.approx(3 * 2.3)
    assert pack.capacity_fade_percent == pytest.approx(cell.capacity_fade_percent)
    assert pack.remaining_energy_wh == pytest.approx(6 * 2.3 * 3.65)
    assert pack.state_of_certified_energy_percent == pytest.approx(cell.state_of_certified_energy_percent)
    assert pack.capacity_throughput_ah == pytest.approx(3 * 100.0)  # the same charge passes both groups
    assert pack.energy_throughput_wh == pytest.approx(6 * 365.0)
    assert pack.full_cycles == pytest.approx(cell.full_cycles)
    assert pack.internal_resistance_increase_percent == pytest.approx(10.0)
    assert pack.state_of_charge_percent == pytest.approx(50.0)
    assert pack.component == "pack"


def test_the_weakest_series_group_limits_capacity_and_energy() -> None:
    strong, weak = _cell(2.4), _cell(1.8)
    pack = rollup_condition(
        _parts(strong, strong, weak, strong),
        Layout(2, 2, "ratings"),
        rated_capacity_ah=5.0,
        rated_energy_wh=4 * 9.125,
    )
    assert pack.remaining_capacity_ah == pytest.approx(1.8 + 2.4)  # the weak group, not the mean
    assert pack.capacity_fade_percent == pytest.approx(100 * (1 - 4.2 / 5.0))
    # the strong group delivers only as much charge as the weak one holds
    assert pack.remaining_energy_wh == pytest.approx((4.8 * 3.65) * 4.2 / 4.8 + 4.2 * 3.65)
    parallel = rollup_condition(
        _parts(strong, weak), Layout(1, 2, "ratings"), rated_capacity_ah=5.0, rated_energy_wh=18.25
    )
    assert parallel.remaining_capacity_ah == pytest.approx(4.2)  # parallel cells add up


def test_resistance_soc_and_power_follow_the_circuit() -> None:
    # two cells in parallel, one unchanged and one at twice its resistance: 1 / (1/1 + 1/2) / (1/2) = 4/3
    pair = rollup_condition(
        _parts(_cell(increase=0.0), _cell(increase=100.0)),
        Layout(1, 2, "ratings"),
        rated_capacity_ah=5.0,
        rated_energy_wh=18.25,
        original_power=(80.0, 100.0),
    )
    assert pair.internal_resistance_increase_percent == pytest.approx(100 / 3)
    assert pair.remaining_power_w == pytest.approx(75.0) and pair.remaining_power_at_soc_percent == 80.0
    # in series resistances add: (1 + 2) / 2
    string = _string(_cell(increase=0.0), _cell(increase=100.0))
    assert string.internal_resistance_increase_percent == pytest.approx(50.0)
    # series cells at 20% and 80%: 0.2 Q can still be discharged, 0.2 Q charged -> the string reads 50%
    unbalanced = _string(_cell(soc=20.0), _cell(soc=80.0))
    assert unbalanced.state_of_charge_percent == pytest.approx(50.0)


def test_events_temperatures_and_last_update() -> None:
    deep = NegativeEvent("deep_discharge", "cycle 4, minimum 2.1 V", T0)
    accident = NegativeEvent("accident", "water ingress", T0 + timedelta(days=1))
    pack = _string(
        _cell(hours=5, hot_second=120.0), _cell(events=(deep,), hours=2, hot_second=600.0), events=[accident]
    )
    assert [e.details for e in pack.negative_events] == ["c2: cycle 4, minimum 2.1 V", "water ingress"]
    assert pack.temperature == TemperatureExposure(600.0, 0.0, 300.0, 0.0)
    assert pack.last_update == T0 + timedelta(hours=5)


def test_a_constituent_without_data_leaves_the_sums_unknown() -> None:
    pack = _string(_cell(hot_second=60.0), None)
    assert pack.remaining_capacity_ah is None and pack.capacity_fade_percent is None
    assert pack.capacity_throughput_ah is None and pack.internal_resistance_increase_percent is None
    assert pack.temperature is not None and pack.temperature.above_second == 60.0
    no_resistance = _string(_cell(), _cell(increase=None))
    assert no_resistance.internal_resistance_increase_percent is None
    assert no_resistance.remaining_capacity_ah == pytest.approx(2.3)


def test_bad_input_is_refused() -> None:
    with pytest.raises(DataError, match="layout"):
        rollup_condition(_parts(_cell()), Layout(2, 1, "ratings"), rated_capacity_ah=2.5, rated_energy_wh=9.0)
    with pytest.raises(DataError, match="no constituent"):
        rollup_condition(_parts(None), Layout(1, 1, "ratings"), rated_capacity_ah=2.5, rated_energy_wh=9.0)
    with pytest.raises(DataError, match="rated_energy_wh"):
        rollup_condition(_parts(_cell()), Layout(1, 1, "ratings"), rated_capacity_ah=2.5, rated_energy_wh=0.0)
    unrated = [Constituent("c1", _cell(), Rating(2.5, None, 3.65))]
    with pytest.raises(DataError, match="c1"):
        rollup_condition(unrated, Layout(1, 1, "ratings"), rated_capacity_ah=2.5, rated_energy_wh=9.0)


def test_parallel_group_agrees_with_its_summed_cycle_table() -> None:
    """Three simulated cells in parallel: the rolled-up condition against battery_condition of the summed
    per-cycle table (what a module with its own telemetry would report)."""
    specs = [
        CellSpec(f"p{k}", capacity_ah=2.5 * (1 + 0.01 * k), fade_per_cycle=0.001 * (k + 1)) for k in range(3)
    ]
    tables = [cycle_summary(simulate_cell(s, cycles=10, seed=k)) for k, s in enumerate(specs)]
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    cells = [battery_condition(t, 2.5, 9.125, as_of=as_of) for t in tables]
    summed = tables[0].select("cycle")
    for name in ("charge_capacity_ah", "discharge_capacity_ah", "charge_energy_wh", "discharge_energy_wh"):
        summed = summed.with_columns(pl.sum_horizontal([t[name] for t in tables]).alias(name))
    direct = battery_condition(summed, 7.5, 27.375, as_of=as_of, component="module")
    rolled = rollup_condition(
        [Constituent(s.cell_id, c, CELL) for s, c in zip(specs, cells, strict=True)],
        Layout(1, 3, "ratings"),
        rated_capacity_ah=7.5,
        rated_energy_wh=27.375,
        component="module",
    )
    for name in (
        "remaining_capacity_ah",
        "capacity_fade_percent",
        "remaining_energy_wh",
        "capacity_throughput_ah",
        "energy_throughput_wh",
        "full_cycles",
    ):
        assert getattr(rolled, name) == pytest.approx(getattr(direct, name), rel=0.01), name
    assert rolled.component == "module"
