"""The condition of a module, pack or system that has no telemetry of its own, from the conditions of its
constituents (cells, or modules that were rolled up in turn). Pure: records in, a new record out.

**Layout.** The constituents form `series` groups of `parallel` constituents each, taken in the order
given (the registry's id order): constituents 1..p are the first parallel group, p+1..2p the second, ...
`infer_layout` takes the layout from the registered ratings: parallel = parent rated capacity / a
constituent's rated capacity, series = parent nominal voltage / a constituent's nominal voltage, used when
their product is the number of constituents (each ratio within `RATIO_TOLERANCE` of a whole number); else
the one ratio that divides the count; else (ratings missing or disagreeing with the genealogy) all in
series - the conservative reading, in which the weakest constituent limits the capacity.

**Rules** (fractions of the constituents' own ratings, then referred to the parent's ratings, so a pack whose
ratings agree with its constituents gets the plain sums):

* remaining capacity: a parallel group holds the sum of its members' remaining capacities, a series string
  the least of its groups': fraction f_Q = min_g sum(Q) / min_g sum(Q_rated); remaining capacity =
  f_Q x parent rated capacity; capacity fade = 100 (1 - f_Q) %, never below 0;
* remaining energy: a group delivers its energy only until the weakest group is empty,
  E = sum_g E_g min(1, Q_min / Q_g); SOCE = E / (the same sum over the rated figures), remaining energy =
  SOCE x parent rated energy;
* capacity throughput: the mean over series groups of each group's summed throughput (in a string the
  same charge passes every group), referred to the parent's rated capacity like the capacity; energy
  throughput: the sum over all constituents, referred to the parent's rated energy; equivalent full
  cycles = capacity throughput / (2 x parent rated capacity);
* internal resistance increase: with equal initial resistances, the string's resistance grows by the mean
  over groups of the harmonic mean of the members' (1 + increase) within each group, minus 1;
  remaining power capability = the parent's original power / (1 + that increase), as for a cell;
* state of charge: a group's charge-weighted SOC; the string's dischargeable charge is the least group's
  SOC x Q, its chargeable charge the least (1 - SOC) x Q, SOC = dischargeable / (both);
* round-trip efficiency: mean of the members' weighted by rated energy; self-discharge: the fastest member's;
* time at extreme temperatures: the longest of the members' (each figure separately; the members share
  the parent's history, so the parent spent at least that long there);
* negative events: every member's, its details prefixed with the member's id, plus the events passed in;
* last update: the latest of the members'.

A figure is reported only when every constituent has it (temperature, events and last update: from those
that have a condition); at least one constituent must have a condition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bmts.analytics.condition import (
    COMPONENTS,
    BatteryCondition,
    NegativeEvent,
    TemperatureExposure,
    as_utc,
)
from bmts.schema import DataError, Issue

#: a ratio of ratings counts as a whole number of cells when it is this close to one (relative)
RATIO_TOLERANCE = 0.05


@dataclass(frozen=True)
class Rating:
    """A battery's registered ratings; None = not registered."""

    capacity_ah: float | None = None
    energy_wh: float | None = None
    nominal_voltage_v: float | None = None


@dataclass(frozen=True)
class Constituent:
    """One constituent (cell or module) of a parent: its id, condition (None = nothing measured) and
    ratings (capacity and energy are required)."""

    battery_id: str
    condition: BatteryCondition | None
    rating: Rating

    @property
    def rated_capacity_ah(self) -> float:
        return float(self.rating.capacity_ah or math.nan)

    @property
    def rated_energy_wh(self) -> float:
        return float(self.rating.energy_wh or math.nan)


@dataclass(frozen=True)
class Layout:
    """`series` groups of `parallel` constituents; `source` says where it came from."""

    series: int
    parallel: int
    source: str  # "ratings", "voltage ratio", "capacity ratio" or "assumed series"


def _error(message: str, column: str | None = None) -> DataError:
    return DataError(Issue("battery condition rollup", message, column=column))


def _whole(ratio: float | None) -> int | None:
    if ratio is None or not math.isfinite(ratio) or ratio < 0.5:
        return None
    n = round(ratio)
    return n if abs(ratio - n) <= RATIO_TOLERANCE * n else None


def _median(values: Sequence[float | None]) -> float | None:
    known = sorted(v for v in values if v is not None and v > 0)
    return known[len(known) // 2] if known else None


def _ratio(parent: float | None, child: float | None) -> float | None:
    return parent / child if parent and child else None


def infer_layout(count: int, parent: Rating, constituents: Sequence[Rating]) -> Layout:
    """The series x parallel layout of `count` constituents from the parent's and constituents' ratings."""
    if count < 1:
        raise _error("a layout needs at least one constituent", "count")
    p = _whole(_ratio(parent.capacity_ah, _median([c.capacity_ah for c in constituents])))
    s = _whole(_ratio(parent.nominal_voltage_v, _median([c.nominal_voltage_v for c in constituents])))
    if s is not None and p is not None and s * p == count:
        return Layout(s, p, "ratings")
    if s is not None and count % s == 0:
        return Layout(s, count // s, "voltage ratio")
    if p is not None and count % p == 0:
        return Layout(count // p, p, "capacity ratio")
    return Layout(count, 1, "assumed series")


def _all(values: Sequence[float | None]) -> list[float] | None:
    return None if any(v is None for v in values) else [float(v) for v in values if v is not None]


def _fraction(per_group: list[list[float]], rated: list[list[float]]) -> float:
    """The weakest group's capacity over the weakest group's rating."""
    return min(sum(g) for g in per_group) / min(sum(g) for g in rated)


def rollup_condition(
    constituents: Sequence[Constituent],
    layout: Layout,
    *,
    rated_capacity_ah: float,
    rated_energy_wh: float,
    component: str = "pack",
    original_power: tuple[float, float] | None = None,
    initial_self_discharge_percent_per_month: float | None = None,
    events: Sequence[NegativeEvent] = (),
) -> BatteryCondition:
    """The parent's condition from its constituents' (see the module docstring for the rules)."""
    known = [c.condition for c in constituents if c.condition is not None]
    if not known:
        raise _error("no constituent has a condition", "constituents")
    for c in constituents:
        if not (c.rated_capacity_ah > 0 and c.rated_energy_wh > 0):
            raise _error("needs a positive rated capacity and energy", c.battery_id)
    if layout.series * layout.parallel != len(constituents):
        raise _error(
            f"layout {layout.series}s{layout.parallel}p does not fit {len(constituents)} constituents",
            "layout",
        )
    for name, value in (("rated_capacity_ah", rated_capacity_ah), ("rated_energy_wh", rated_energy_wh)):
        if not (value > 0 and math.isfinite(value)):
            raise _error("must be a positive number", name)
    if component not in COMPONENTS:
        raise _error(f"component must be one of {', '.join(COMPONENTS)}", "component")
    p = layout.parallel
    groups = [list(constituents[k : k + p]) for k in range(0, len(constituents), p)]
    conditions = [c.condition for c in constituents]

    def each(name: str) -> list[float] | None:
        """The figure of every constituent, None if any lacks it."""
        return _all([None if c is None else getattr(c, name) for c in conditions])

    def grouped(values: list[float]) -> list[list[float]]:
        return [values[k : k + p] for k in range(0, len(values), p)]

    rated_q = grouped([c.rated_capacity_ah for c in constituents])
    rated_e = grouped([c.rated_energy_wh for c in constituents])
    capacity = each("remaining_capacity_ah")
    fraction_q = None if capacity is None else _fraction(grouped(capacity), rated_q)
    energy = each("remaining_energy_wh")
    soce = None
    if capacity is not None and energy is not None:
        soce = _limited_energy(grouped(energy), grouped(capacity)) / _limited_energy(rated_e, rated_q)

    throughput_q = each("capacity_throughput_ah")
    throughput_ah = None
    if throughput_q is not None:
        mean_group = sum(sum(g) for g in grouped(throughput_q)) / len(groups)
        throughput_ah = mean_group / min(sum(g) for g in rated_q) * rated_capacity_ah
    throughput_e = each("energy_throughput_wh")
    throughput_wh = None
    if throughput_e is not None:
        throughput_wh = sum(throughput_e) / sum(c.rated_energy_wh for c in constituents) * rated_energy_wh

    increases = each("internal_resistance_increase_percent")
    increase = None
    if increases is not None:
        growth = [len(g) / sum(1.0 / (1.0 + x / 100.0) for x in g) for g in grouped(increases)]
        increase = 100.0 * (sum(growth) / len(growth) - 1.0)
    power = None
    if original_power is not None and increase is not None:
        power = original_power[1] / (1.0 + increase / 100.0)

    socs = each("state_of_charge_percent")
    soc = None
    if socs is not None:
        charge = grouped(capacity if capacity is not None else [c.rated_capacity_ah for c in constituents])
        soc = _string_soc(grouped([s / 100.0 for s in socs]), charge)
    efficiencies = each("remaining_round_trip_efficiency_percent")
    efficiency = None
    if efficiencies is not None:
        weights = [c.rated_energy_wh for c in constituents]
        efficiency = sum(e * w for e, w in zip(efficiencies, weights, strict=True)) / sum(weights)
    discharging = each("self_discharge_percent_per_month")
    self_discharge = None if discharging is None else max(discharging)
    evolution = None
    if self_discharge is not None and initial_self_discharge_percent_per_month:
        evolution = 100.0 * (self_discharge / initial_self_discharge_percent_per_month - 1.0)

    exposures = [c.temperature for c in known if c.temperature is not None]
    temperature = None
    if exposures:
        temperature = TemperatureExposure(
            above_second=max(e.above_second for e in exposures),
            below_second=max(e.below_second for e in exposures),
            charging_above_second=max(e.charging_above_second for e in exposures),
            charging_below_second=max(e.charging_below_second for e in exposures),
        )
    found = [
        NegativeEvent(e.kind, f"{c.battery_id}: {e.details}", e.time)
        for c in constituents
        for e in (c.condition.negative_events if c.condition is not None else ())
    ]
    every = sorted([*found, *events], key=lambda e: (as_utc(e.time), e.kind, e.details))
    return BatteryCondition(
        last_update=max(as_utc(c.last_update) for c in known),
        component=component,
        capacity_fade_percent=None if fraction_q is None else max(0.0, 100.0 * (1.0 - fraction_q)),
        remaining_capacity_ah=None if fraction_q is None else fraction_q * rated_capacity_ah,
        remaining_energy_wh=None if soce is None else soce * rated_energy_wh,
        state_of_certified_energy_percent=None if soce is None else 100.0 * soce,
        state_of_charge_percent=None if soc is None else 100.0 * soc,
        full_cycles=None if throughput_ah is None else throughput_ah / (2.0 * rated_capacity_ah),
        capacity_throughput_ah=throughput_ah,
        energy_throughput_wh=throughput_wh,
        internal_resistance_increase_percent=increase,
        remaining_round_trip_efficiency_percent=efficiency,
        remaining_power_w=power,
        remaining_power_at_soc_percent=None if power is None or original_power is None else original_power[0],
        self_discharge_percent_per_month=self_discharge,
        self_discharge_evolution_percent=evolution,
        temperature=temperature,
        negative_events=tuple(every),
    )


def _limited_energy(energy: list[list[float]], capacity: list[list[float]]) -> float:
    """Energy a series string delivers: each group's, cut off when the weakest group is empty."""
    group_q = [sum(g) for g in capacity]
    weakest = min(group_q)
    return sum(sum(e) * min(1.0, weakest / q) if q > 0 else 0.0 for e, q in zip(energy, group_q, strict=True))


def _string_soc(socs: list[list[float]], capacity: list[list[float]]) -> float | None:
    """SOC (0..1) of a series string of parallel groups: dischargeable / (dischargeable + chargeable)."""
    stored = [sum(s * q for s, q in zip(gs, gq, strict=True)) for gs, gq in zip(socs, capacity, strict=True)]
    room = [sum(gq) - held for gq, held in zip(capacity, stored, strict=True)]
    down, up = min(stored), min(room)
    return None if down + up <= 0 else max(0.0, min(1.0, down / (down + up)))
