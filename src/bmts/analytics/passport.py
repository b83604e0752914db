"""EU battery passport documents (Regulation (EU) 2023/1542, BatteryPass data model v1.2): assembly and the
role filter. Pure: mappings in, a new JSON-ready dict out.

A passport view is ONE JSON object whose top-level keys are the seven BatteryPass categories, each an
instance of that category's schema (Performance as in schema 1.2.1). The static part comes from what the
manufacturer registered; `Performance.batteryCondition` is computed from telemetry (`BatteryCondition`);
then everything the role may not read is removed - absent, not null - following `passport_access`.
Categories left empty are dropped. Key order is deterministic: categories in `CATEGORIES` order, keys
within them sorted; list order is kept.

Units as BatteryPass v1.2 wants them: percentages 0-100, energy kWh, capacity Ah, power W, time at
extreme temperatures in minutes. Numbers are rounded to `SIGNIFICANT_DIGITS` significant digits.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from bmts.analytics.condition import BatteryCondition
from bmts.analytics.passport_access import ROLE_LEVELS, ROLES, Item, Step, governing_level
from bmts.schema import DataError, Issue

CATEGORIES: Final = (
    "GeneralProductInformation",
    "CarbonFootprint",
    "Circularity",
    "Labels",
    "MaterialComposition",
    "Performance",
    "SupplyChainDueDiligence",
)
BATTERY_CATEGORIES: Final = ("ev", "lmt", "industrial", "stationary")
SIGNIFICANT_DIGITS: Final = 6
_DROP: Final = object()


def _error(message: str, where: str | None = None) -> DataError:
    return DataError(Issue("passport", message, column=where))


def timestamp(moment: datetime) -> str:
    """xsd:dateTime in UTC to the second, e.g. 2025-06-30T12:00:00Z (naive = UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}") + 0.0  # + 0.0 turns -0.0 into 0.0


def condition_members(condition: BatteryCondition) -> dict[str, Any]:
    """`Performance.batteryCondition` (schema 1.2.1) for a condition; unknown figures are left out."""
    when = timestamp(condition.last_update)
    out: dict[str, Any] = {}

    def put(member: str, value_key: str, value: float | None, scale: float = 1.0) -> None:
        if value is not None:
            out[member] = {value_key: _number(value * scale), "lastUpdate": when}

    c = condition
    put("capacityFade", "capacityFadeValue", c.capacity_fade_percent)
    put("remainingCapacity", "remainingCapacityValue", c.remaining_capacity_ah)
    put("remainingEnergy", "remainingEnergyValue", c.remaining_energy_wh, 1e-3)
    put("stateOfCertifiedEnergy", "stateOfCertifiedEnergyValue", c.state_of_certified_energy_percent)
    put("stateOfCharge", "stateOfChargeValue", c.state_of_charge_percent)
    put("numberOfFullCycles", "numberOfFullCyclesValue", c.full_cycles)
    put("capacityThroughput", "capacityThroughputValue", c.capacity_throughput_ah)
    put("energyThroughput", "energyThroughputValue", c.energy_throughput_wh, 1e-3)
    put(
        "remainingRoundTripEnergyEfficiency",
        "remainingRoundTripEnergyEfficiencyValue",
        c.remaining_round_trip_efficiency_percent,
    )
    put("currentSelfDischargingRate", "currentSelfDischargingRateValue", c.self_discharge_percent_per_month)
    put("evolutionOfSelfDischarge", "evolutionOfSelfDischargeValue", c.self_discharge_evolution_percent)
    if c.internal_resistance_increase_percent is not None:
        out["internalResistanceIncrease"] = [
            {
                "batteryComponent": c.component,
                "internalResistanceIncreaseValue": _number(c.internal_resistance_increase_percent),
                "lastUpdate": when,
            }
        ]
    if c.remaining_power_w is not None and c.remaining_power_at_soc_percent is not None:
        out["remainingPowerCapability"] = {
            "remainingPowerCapabilityValue": {
                "atSoC": _number(c.remaining_power_at_soc_percent),
                "powerCapabilityAt": _number(c.remaining_power_w),
                "rPCLastUpdated": when,
            },
            "lastUpdate": when,
        }
    if c.temperature is not None:
        minutes = 1 / 60
        out["temperatureInformation"] = {
            "timeExtremeHighTemp": _number(c.temperature.above_second * minutes),
            "timeExtremeLowTemp": _number(c.temperature.below_second * minutes),
            "timeExtremeHighTempCharging": _number(c.temperature.charging_above_second * minutes),
            "timeExtremeLowTempCharging": _number(c.temperature.charging_below_second * minutes),
            "lastUpdate": when,
        }
    out["negativeEvents"] = [
        {"negativeEvent": f"{e.kind}: {e.details}", "lastUpdate": timestamp(e.time)}
        for e in c.negative_events
    ]
    return out


def condition_inputs(static: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `battery_condition` from the rated figures of a battery's static passport
    data: rated capacity and energy (ratedEnergy, else ratedCapacity x nominalVoltage), voltage limits,
    idle temperature range, the first original power capability, initial self-discharge. Figures the data
    lacks are left out; rated capacity and energy are required."""
    tech = (static.get("Performance") or {}).get("batteryTechicalProperties") or {}

    def number(key: str) -> float | None:
        value = tech.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        return None

    where = "Performance.batteryTechicalProperties"
    capacity, energy_kwh, nominal = number("ratedCapacity"), number("ratedEnergy"), number("nominalVoltage")
    if capacity is None or capacity <= 0:
        raise _error(
            "a positive rated capacity is needed for the battery condition", f"{where}.ratedCapacity"
        )
    energy_wh = energy_kwh * 1000 if energy_kwh else (capacity * nominal if nominal else None)
    if not energy_wh or energy_wh <= 0:
        raise _error("a rated energy (or nominal voltage) is needed", f"{where}.ratedEnergy")
    out: dict[str, Any] = {"rated_capacity_ah": capacity, "rated_energy_wh": energy_wh}
    low, high = number("minimumVoltage"), number("maximumVoltage")
    if low is not None and high is not None and 0 < low < high:
        out["voltage_limits"] = (low, high)
    idle = tech.get("temperatureRangeIdleState")
    if isinstance(idle, Mapping) and all(
        isinstance(idle.get(k), int | float) for k in ("minimum", "maximum")
    ):
        out["temperature_limits"] = (float(idle["minimum"]), float(idle["maximum"]))
    power = tech.get("originalPowerCapability")
    if isinstance(power, list) and power and isinstance(power[0], Mapping):
        soc, watts = power[0].get("atSoC"), power[0].get("powerCapabilityAt")
        if isinstance(soc, int | float) and isinstance(watts, int | float):
            out["original_power"] = (float(soc), float(watts))
    if (self_discharge := number("initialSelfDischarge")) is not None:
        out["initial_self_discharge_percent_per_month"] = self_discharge
    return out


def _where(path: tuple[Step, ...]) -> str:
    text = ""
    for step in path:
        text += f"[{step.index}]" if isinstance(step, Item) else (f".{step}" if text else step)
    return text


def _filter(node: Any, path: tuple[Step, ...], levels: frozenset[str]) -> Any:
    """A copy of `node` with every value the levels do not cover removed; _DROP if nothing is left.
    Errors name the path, never the value."""
    if node is None:
        return _DROP
    if isinstance(node, Mapping) and node:
        kept = {}
        for key in sorted(node):
            if not isinstance(key, str):
                raise _error("keys must be strings", _where(path))
            value = _filter(node[key], (*path, key), levels)
            if value is not _DROP:
                kept[key] = value
        return kept or _DROP
    if isinstance(node, list | tuple) and node:
        items = [_filter(e, (*path, Item(n, e)), levels) for n, e in enumerate(node)]
        return [e for e in items if e is not _DROP] or _DROP
    if not (isinstance(node, str | bool | int | float | Mapping | list | tuple)):
        raise _error(f"not a JSON value ({type(node).__name__})", _where(path))
    if isinstance(node, float) and not math.isfinite(node):
        raise _error("not a finite number", _where(path))
    if governing_level(path) not in levels:
        return _DROP
    return {} if isinstance(node, Mapping) else [] if isinstance(node, list | tuple) else node


def filter_for_role(doc: Mapping[str, Any], role: str) -> dict[str, Any]:
    """The view of a passport document that `role` (public, legitimate_interest, authority) may read."""
    if role not in ROLE_LEVELS:
        raise _error(f"unknown role; expected one of {', '.join(ROLES)}", "role")
    for key in doc:
        if key not in CATEGORIES:
            raise _error(f"unknown passport category; expected one of {', '.join(CATEGORIES)}", str(key))
    levels = ROLE_LEVELS[role]
    out: dict[str, Any] = {}
    for category in CATEGORIES:
        value = _filter(doc.get(category), (category,), levels)
        if isinstance(value, dict) and value:
            out[category] = value
        elif value is not _DROP:
            raise _error("a passport category must be a JSON object", category)
    return out


def assemble_passport(
    static: Mapping[str, Any], condition: BatteryCondition | None, role: str, category: str
) -> dict[str, Any]:
    """One passport view: the registered static data (BatteryPass v1.2 shape per category) with the
    condition computed from telemetry as `Performance.batteryCondition` (replacing members of the same
    name in `static`), battery category `category` (ev, lmt, industrial, stationary), filtered for
    `role`."""
    if category not in BATTERY_CATEGORIES:
        raise _error(f"unknown battery category; expected one of {', '.join(BATTERY_CATEGORIES)}", "category")
    if role not in ROLE_LEVELS:
        raise _error(f"unknown role; expected one of {', '.join(ROLES)}", "role")
    doc: dict[str, Any] = {}
    for key, value in static.items():
        if key not in CATEGORIES:
            raise _error(f"unknown passport category; expected one of {', '.join(CATEGORIES)}", str(key))
        if value is not None and not isinstance(value, Mapping):
            raise _error("a passport category must be a JSON object", key)
        doc[key] = copy.deepcopy(dict(value)) if value is not None else None
    general = doc.get("GeneralProductInformation") or {}
    registered = general.get("batteryCategory")
    if registered is not None and registered != category:
        raise _error(
            f"battery category {registered!r} registered but {category!r} requested",
            "GeneralProductInformation.batteryCategory",
        )
    doc["GeneralProductInformation"] = {**general, "batteryCategory": category}
    if condition is not None:
        performance = doc.get("Performance") or {}
        members = {**(performance.get("batteryCondition") or {}), **condition_members(condition)}
        doc["Performance"] = {**performance, "batteryCondition": members}
    return filter_for_role(doc, role)
