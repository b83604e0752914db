"""The battery's condition for its passport (the dynamic `Performance.batteryCondition` figures), computed
from the per-cycle table of `bmts.analytics.cycle_summary` and, where given, the time series itself.

Definitions (units as bmts keeps them; the passport converts to the BatteryPass units):

* capacity and energy throughput: all charge and energy moved in and out, sum over cycles of
  `charge + discharge (+ deep discharge)`, Ah and Wh;
* equivalent full cycles: capacity throughput / (2 x rated capacity);
* remaining capacity / energy: median discharge capacity / energy of the latest `window` cycles that
  discharged at least `MIN_FULL_FRACTION` of the rated capacity (partial cycles do not measure capacity);
* capacity fade: 1 - remaining capacity / rated capacity, as the Regulation defines it (with respect to the
  rated capacity), in %, never below 0 (`capacity_reference="initial"`: with respect to the median capacity
  of the first `window` capacity-measuring cycles instead); state of certified energy: remaining energy / rated energy, %;
* internal resistance increase: median DC resistance of the latest `window` cycles over that of the first
  `window` cycles with a resistance, minus 1, in %;
* remaining round-trip energy efficiency: median energy efficiency of the latest `window` cycles, %;
* time at extreme temperatures: from the time series, every sampling interval booked to its end sample
  (as cyclers log), intervals capped at `MAX_INTERVAL_SECOND` so that a logging gap does not count;
* negative events: deep discharge (Ah discharged below the end-of-discharge voltage, or a minimum voltage
  below `voltage_limits`) and overcharge (maximum voltage above it), one event per run of consecutive
  cycles, plus the events passed in (accidents, from the lifecycle ledger).

Pure: no clock is read; `as_of` says when the condition is taken.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from bmts.analytics.cycles import interval_charge_ah, step_labels, step_modes
from bmts.schema import DataError, Issue

#: a cycle measures capacity if it discharged at least this fraction of the rated capacity
MIN_FULL_FRACTION = 0.5
#: sampling intervals longer than this count only this long towards time at extreme temperatures
MAX_INTERVAL_SECOND = 3600.0
#: overcharge: maximum voltage above the upper limit by more than this fraction (noise, CV overshoot)
OVERVOLTAGE_FRACTION = 0.01
#: deep discharge: minimum voltage below the lower limit by more than this fraction (a discharge under
#: load logged a sample after the cut-off dips a little below it; that is not a deep discharge)
UNDERVOLTAGE_FRACTION = 0.05
#: a cycle has a deep discharge above this fraction of the rated capacity below the cut-off
DEEP_DISCHARGE_FRACTION = 0.001
#: SOC anchors: the voltage is at a limit within this fraction of it
ANCHOR_TOLERANCE_FRACTION = 0.005
NEGATIVE_EVENT_KINDS = ("deep_discharge", "overcharge", "accident")
COMPONENTS = ("pack", "module", "cell")
_REQUIRED = (
    "cycle",
    "charge_capacity_ah",
    "discharge_capacity_ah",
    "charge_energy_wh",
    "discharge_energy_wh",
)
_CELL_TEMPERATURES = ("temperature_celsius", *(f"temperature_t{k}_celsius" for k in range(1, 6)))


@dataclass(frozen=True)
class NegativeEvent:
    """A deep discharge, an overcharge or an accident, for the passport's `negativeEvents`."""

    kind: str  # one of NEGATIVE_EVENT_KINDS
    details: str
    time: datetime

    def __post_init__(self) -> None:
        if self.kind not in NEGATIVE_EVENT_KINDS:
            raise ValueError(f"negative event kind must be one of {', '.join(NEGATIVE_EVENT_KINDS)}")


@dataclass(frozen=True)
class TemperatureExposure:
    """Seconds spent above / below the temperature limits, in total and while charging."""

    above_second: float
    below_second: float
    charging_above_second: float
    charging_below_second: float


@dataclass(frozen=True)
class BatteryCondition:
    """What the passport reports about a battery's state of health and use. None = not known."""

    last_update: datetime
    component: str = "cell"  # pack | module | cell: the level the figures describe
    capacity_fade_percent: float | None = None
    remaining_capacity_ah: float | None = None
    remaining_energy_wh: float | None = None
    state_of_certified_energy_percent: float | None = None
    state_of_charge_percent: float | None = None
    full_cycles: float | None = None  # equivalent full cycles
    capacity_throughput_ah: float | None = None
    energy_throughput_wh: float | None = None
    internal_resistance_increase_percent: float | None = None
    remaining_round_trip_efficiency_percent: float | None = None
    remaining_power_w: float | None = None
    remaining_power_at_soc_percent: float | None = None
    self_discharge_percent_per_month: float | None = None
    self_discharge_evolution_percent: float | None = None
    temperature: TemperatureExposure | None = None
    negative_events: tuple[NegativeEvent, ...] = ()


def _error(message: str, column: str | None = None) -> DataError:
    return DataError(Issue("battery condition", message, column=column))


def as_utc(moment: datetime) -> datetime:
    """Timezone-aware UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _median_tail(values: np.ndarray, window: int) -> float | None:
    values = values[np.isfinite(values)]
    return float(np.median(values[-window:])) if values.size else None


def temperature_exposure(
    frame: pl.DataFrame,
    limits: tuple[float, float],
    charging_limits: tuple[float, float] | None = None,
) -> TemperatureExposure | None:
    """Time above/below `limits` (and charging above/below `charging_limits`, default `limits`) of one
    battery's time series; the hottest cell sensor counts for "above", the coldest for "below". None when
    the series has no temperature."""
    names = [c for c in _CELL_TEMPERATURES if c in frame.columns] or [
        c for c in ("ambient_temperature_celsius",) if c in frame.columns
    ]
    if not names or frame.height == 0:
        return None
    temps = np.column_stack([frame[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in names])
    if not np.isfinite(temps).any():
        return None
    with np.errstate(all="ignore"):
        hottest = np.nanmax(np.where(np.isfinite(temps), temps, -np.inf), axis=1)
        coldest = np.nanmin(np.where(np.isfinite(temps), temps, np.inf), axis=1)
    t = frame["test_time_second"].cast(pl.Float64).to_numpy()
    dt = np.zeros(t.size)
    dt[1:] = np.clip(np.diff(t), 0.0, MAX_INTERVAL_SECOND)
    charging = step_modes(frame["current_ampere"].cast(pl.Float64).to_numpy()) == 1
    low, high = limits
    charge_low, charge_high = charging_limits or limits
    return TemperatureExposure(
        above_second=float(dt[hottest > high].sum()),
        below_second=float(dt[coldest < low].sum()),
        charging_above_second=float(dt[charging & (hottest > charge_high)].sum()),
        charging_below_second=float(dt[charging & (coldest < charge_low)].sum()),
    )


def coulomb_counted_soc(
    frame: pl.DataFrame, capacity_ah: float, voltage_limits: tuple[float, float]
) -> float | None:
    """SOC (0..1) at the last sample by coulomb counting from the latest sample at a voltage limit
    (at the upper limit while charging or resting: full; at the lower limit while discharging or
    resting: empty). None without such an anchor."""
    if frame.height == 0 or capacity_ah <= 0:
        return None
    t = frame["test_time_second"].cast(pl.Float64).to_numpy()
    v = frame["voltage_volt"].cast(pl.Float64).to_numpy()
    i = frame["current_ampere"].cast(pl.Float64).to_numpy()
    v_min, v_max = voltage_limits
    modes = step_modes(i)
    full = (v >= v_max * (1 - ANCHOR_TOLERANCE_FRACTION)) & (modes >= 0)
    empty = (v <= v_min * (1 + ANCHOR_TOLERANCE_FRACTION)) & (modes <= 0)
    anchors = np.flatnonzero(full | empty)
    if anchors.size == 0:
        return None
    last = int(anchors[-1])
    moved = float(interval_charge_ah(t, i, step_labels(i))[last + 1 :].sum())
    start = 1.0 if full[last] else 0.0
    return float(np.clip(start + moved / capacity_ah, 0.0, 1.0))


def _has_clock(frame: pl.DataFrame) -> bool:
    return (
        bool(frame.height)
        and frame.get_column("unix_time_second", default=None) is not None
        and (frame["unix_time_second"].null_count() == 0)
    )


def _runs(cycle_numbers: list[int]) -> list[list[int]]:
    """[3, 4, 5, 9] -> [[3, 4, 5], [9]] (positions in the table, consecutive rows)."""
    runs: list[list[int]] = []
    for k in cycle_numbers:
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    return runs


def _voltage_events(
    cycles: pl.DataFrame,
    rated_capacity_ah: float,
    voltage_limits: tuple[float, float] | None,
    when: list[datetime],
) -> list[NegativeEvent]:
    rows = cycles.to_dicts()
    deep, over = [], []
    for n, row in enumerate(rows):
        below = row.get("deep_discharge_capacity_ah") or 0.0
        low = row.get("min_voltage_volt")
        high = row.get("max_voltage_volt")
        is_deep = below > DEEP_DISCHARGE_FRACTION * rated_capacity_ah
        if voltage_limits is not None and low is not None:
            is_deep |= low < voltage_limits[0] * (1 - UNDERVOLTAGE_FRACTION)
        if is_deep:
            deep.append(n)
        limit = None if voltage_limits is None else voltage_limits[1] * (1 + OVERVOLTAGE_FRACTION)
        if limit is not None and high is not None and high > limit:
            over.append(n)
    events = []
    for kind, positions in (("deep_discharge", deep), ("overcharge", over)):
        for run in _runs(positions):
            first, last = rows[run[0]]["cycle"], rows[run[-1]]["cycle"]
            label = f"cycle {first}" if first == last else f"cycles {first}-{last}"
            if kind == "deep_discharge":
                ah = sum(rows[n].get("deep_discharge_capacity_ah") or 0.0 for n in run)
                lowest = min((rows[n].get("min_voltage_volt") or math.inf) for n in run)
                details = f"{label}, minimum {lowest:.3f} V" + (f", {ah:.4g} Ah below cut-off" if ah else "")
            else:
                highest = max((rows[n].get("max_voltage_volt") or -math.inf) for n in run)
                details = f"{label}, maximum {highest:.3f} V"
            events.append(NegativeEvent(kind, details, when[run[0]]))
    return events


def battery_condition(
    cycles: pl.DataFrame,
    rated_capacity_ah: float,
    rated_energy_wh: float,
    *,
    as_of: datetime,
    component: str = "cell",
    timeseries: pl.DataFrame | None = None,
    origin: datetime | None = None,
    temperature_limits: tuple[float, float] = (-20.0, 60.0),
    charging_temperature_limits: tuple[float, float] | None = None,
    voltage_limits: tuple[float, float] | None = None,
    state_of_charge: float | None = None,
    original_power: tuple[float, float] | None = None,
    self_discharge_percent_per_month: float | None = None,
    initial_self_discharge_percent_per_month: float | None = None,
    events: Sequence[NegativeEvent] = (),
    window: int = 3,
    capacity_reference: str = "rated",
) -> BatteryCondition:
    """The condition of one battery as of `as_of`.

    `cycles`: its per-cycle table (`cycle_summary`); `timeseries`: its canonical time series, for the
    time at extreme temperatures and, with `voltage_limits` (min, max V), a coulomb-counted SOC.
    `origin`: the wall-clock time of test time 0 (default: from the series' `unix_time_second`); with it,
    data after `as_of` is left out, events get their own times and `last_update` is the time of the latest
    data, else `as_of`. `state_of_charge`: a SOC (0..1) from a better estimator, preferred when given.
    `original_power`: (SOC %, W) of the rated power capability, scaled by the resistance growth for the
    remaining power capability.
    """
    if not (rated_capacity_ah > 0 and math.isfinite(rated_capacity_ah)):
        raise _error("rated capacity must be a positive number of Ah", "rated_capacity_ah")
    if not (rated_energy_wh > 0 and math.isfinite(rated_energy_wh)):
        raise _error("rated energy must be a positive number of Wh", "rated_energy_wh")
    if component not in COMPONENTS:
        raise _error(f"component must be one of {', '.join(COMPONENTS)}", "component")
    if capacity_reference not in ("rated", "initial"):
        raise _error("capacity reference must be 'rated' or 'initial'", "capacity_reference")
    if window < 1:
        raise _error("window must be at least 1 cycle", "window")
    if state_of_charge is not None and not 0.0 <= state_of_charge <= 1.0:
        raise _error("state of charge must be a fraction from 0 to 1", "state_of_charge")
    for name in _REQUIRED:
        if name not in cycles.columns:
            raise _error("the per-cycle table lacks a required column", name)
    as_of = as_utc(as_of)
    if origin is None and timeseries is not None and _has_clock(timeseries):
        first = timeseries.row(0, named=True)
        origin = datetime.fromtimestamp(first["unix_time_second"] - first["test_time_second"], UTC)
    origin = None if origin is None else as_utc(origin)

    table = cycles.sort("cycle")
    timed = origin is not None and "start_time_second" in table.columns
    last_update = as_of
    if origin is not None and timed:
        limit = (as_of - origin).total_seconds()
        table = table.filter(pl.col("start_time_second") <= limit)
        if timeseries is not None:
            timeseries = timeseries.filter(pl.col("test_time_second") <= limit)
        ends = table["start_time_second"].to_numpy().astype(np.float64)
        if "duration_second" in table.columns:
            ends = ends + np.nan_to_num(table["duration_second"].to_numpy().astype(np.float64))
        if timeseries is not None and timeseries.height:
            ends = np.r_[ends, timeseries["test_time_second"].to_numpy().astype(np.float64)]
        ends = ends[np.isfinite(ends)]
        if ends.size:
            last_update = min(as_of, origin + timedelta(seconds=float(ends.max())))
    if origin is not None and timed:
        starts = np.nan_to_num(table["start_time_second"].to_numpy().astype(np.float64))
        when = [origin + timedelta(seconds=float(s)) for s in starts]
    else:
        when = [last_update] * table.height

    def column(name: str) -> np.ndarray:
        if name not in table.columns:
            return np.full(table.height, np.nan)
        return table[name].cast(pl.Float64).fill_null(np.nan).to_numpy()

    charge, discharge = column("charge_capacity_ah"), column("discharge_capacity_ah")
    deep = np.nan_to_num(column("deep_discharge_capacity_ah"))
    throughput_ah = float(np.nansum(charge) + np.nansum(discharge) + deep.sum())
    throughput_wh = float(np.nansum(column("charge_energy_wh")) + np.nansum(column("discharge_energy_wh")))

    measured = discharge >= MIN_FULL_FRACTION * rated_capacity_ah
    remaining_ah = _median_tail(discharge[measured], window)
    reference_ah = rated_capacity_ah
    if capacity_reference == "initial" and remaining_ah is not None:
        reference_ah = float(np.median(discharge[measured][:window]))
    remaining_wh = _median_tail(column("discharge_energy_wh")[measured], window)
    efficiency = _median_tail(column("energy_efficiency")[measured], window)
    resistance = column("dc_resistance_ohm")
    resistance = resistance[np.isfinite(resistance) & (resistance > 0)]
    r_first = float(np.median(resistance[:window])) if resistance.size else None
    r_last = _median_tail(resistance, window)
    r_increase = 100.0 * (r_last / r_first - 1.0) if r_first and r_last else None

    soc = state_of_charge
    if soc is None and timeseries is not None and voltage_limits is not None:
        soc = coulomb_counted_soc(timeseries, remaining_ah or rated_capacity_ah, voltage_limits)
    power = None
    if original_power is not None:
        power = original_power[1] * (r_first / r_last if r_first and r_last else 1.0)
    evolution = None
    if self_discharge_percent_per_month is not None and initial_self_discharge_percent_per_month:
        evolution = 100.0 * (self_discharge_percent_per_month / initial_self_discharge_percent_per_month - 1)
    exposure = None
    if timeseries is not None:
        exposure = temperature_exposure(timeseries, temperature_limits, charging_temperature_limits)
    found = _voltage_events(table, rated_capacity_ah, voltage_limits, when)
    every = sorted([*found, *events], key=lambda e: (as_utc(e.time), e.kind, e.details))

    return BatteryCondition(
        last_update=last_update,
        component=component,
        capacity_fade_percent=None
        if remaining_ah is None
        else max(0.0, 100.0 * (1.0 - remaining_ah / reference_ah)),
        remaining_capacity_ah=remaining_ah,
        remaining_energy_wh=remaining_wh,
        state_of_certified_energy_percent=None
        if remaining_wh is None
        else 100.0 * remaining_wh / rated_energy_wh,
        state_of_charge_percent=None if soc is None else 100.0 * soc,
        full_cycles=throughput_ah / (2.0 * rated_capacity_ah),
        capacity_throughput_ah=throughput_ah,
        energy_throughput_wh=throughput_wh,
        internal_resistance_increase_percent=_finite(r_increase),
        remaining_round_trip_efficiency_percent=None if efficiency is None else 100.0 * efficiency,
        remaining_power_w=_finite(power),
        remaining_power_at_soc_percent=None if original_power is None else original_power[0],
        self_discharge_percent_per_month=_finite(self_discharge_percent_per_month),
        self_discharge_evolution_percent=_finite(evolution),
        temperature=exposure,
        negative_events=tuple(every),
    )
