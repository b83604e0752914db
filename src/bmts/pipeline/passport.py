"""Use case: the EU battery passport of a registered battery, for one role, as of a date.

Static data is what was registered for the battery (BatteryPass v1.2 shape); the dynamic
`batteryCondition` is computed from the telemetry in the store and from the ledger's fault events,
using only data up to the requested date. A module, pack or system without telemetry of its own gets
the condition rolled up from its constituents installed at that date (`bmts.analytics.condition_rollup`),
recursively down to the cells.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bmts.analytics.condition import BatteryCondition, NegativeEvent, battery_condition
from bmts.analytics.condition_rollup import Constituent, Rating, infer_layout, rollup_condition
from bmts.analytics.passport import assemble_passport, condition_inputs
from bmts.pipeline.analysis import CORE, battery_frame, cycle_table
from bmts.registry import Battery, Registry
from bmts.schema import DataError, Issue
from bmts.storage import EmbeddedStore

#: ledger events that the passport reports among its negative events
ACCIDENT_EVENTS = {"fault"}


def _negative_events(registry: Registry, battery_id: str, as_of: datetime) -> list[NegativeEvent]:
    found = []
    for event in registry.history(battery_id):
        when = datetime.fromisoformat(event.occurred_at.replace("Z", "+00:00"))
        if event.kind in ACCIDENT_EVENTS and when <= as_of:
            details = str(event.payload.get("description") or event.payload.get("fault") or event.kind)
            found.append(NegativeEvent("accident", details, when))
    return found


def _component(battery: Battery) -> str:
    return battery.kind if battery.kind != "system" else "pack"


def ratings_of(battery: Battery, static: dict[str, Any]) -> tuple[Rating, dict[str, Any]]:
    """The battery's ratings and `battery_condition` inputs: from its static passport data, else (for a
    constituent registered without passport data) from its registered nominal figures."""
    tech = (static.get("Performance") or {}).get("batteryTechicalProperties") or {}
    voltage = tech.get("nominalVoltage")
    voltage = (
        float(voltage) if isinstance(voltage, int | float) and voltage > 0 else battery.nominal_voltage_v
    )
    try:
        inputs = condition_inputs(static)
    except DataError:
        capacity = battery.nominal_capacity_ah
        energy = battery.nominal_energy_wh or (capacity * voltage if capacity and voltage else None)
        if not capacity or not energy:
            raise DataError(
                Issue(
                    battery.id,
                    "neither passport data nor a registered capacity and energy (or voltage): "
                    "its condition cannot be rated",
                    column="nominal_capacity_ah",
                )
            ) from None
        inputs = {"rated_capacity_ah": capacity, "rated_energy_wh": energy}
    return Rating(inputs["rated_capacity_ah"], inputs["rated_energy_wh"], voltage), inputs


def condition_of(
    store: EmbeddedStore, registry: Registry, battery: Battery, static: dict[str, Any], as_of: datetime
) -> BatteryCondition | None:
    """The battery's condition from its own telemetry, else rolled up from the constituents installed in
    it at `as_of`; None when nothing was measured on it or on any of them."""
    if store.segments(battery.id):
        frame = battery_frame(store, battery.id, [*CORE, "unix_time_second"])  # read once: cycles and series
        return battery_condition(
            cycle_table(frame),
            as_of=as_of,
            component=_component(battery),
            timeseries=frame,
            events=_negative_events(registry, battery.id, as_of),
            **condition_inputs(static),
        )
    children = registry.children(battery.id, at=as_of)
    if not children:
        return None
    parts: list[Constituent] = []
    for child_id in children:
        child = registry.get(child_id)
        child_static = registry.passport_data(child_id, as_of)
        rating, _ = ratings_of(child, child_static)
        parts.append(Constituent(child_id, condition_of(store, registry, child, child_static, as_of), rating))
    if all(p.condition is None for p in parts):
        return None
    own, inputs = ratings_of(battery, static)
    return rollup_condition(
        parts,
        infer_layout(len(parts), own, [p.rating for p in parts]),
        rated_capacity_ah=inputs["rated_capacity_ah"],
        rated_energy_wh=inputs["rated_energy_wh"],
        component=_component(battery),
        original_power=inputs.get("original_power"),
        initial_self_discharge_percent_per_month=inputs.get("initial_self_discharge_percent_per_month"),
        events=_negative_events(registry, battery.id, as_of),
    )


def battery_passport(
    store: EmbeddedStore, battery_id: str, role: str, as_of: datetime | None = None
) -> dict[str, Any]:
    """The passport document of `battery_id` as the `role` may see it."""
    registry = Registry(store.engine)
    battery = registry.get(battery_id)
    static = registry.passport_data(battery_id, as_of)
    if not static:
        raise DataError(
            Issue(
                battery_id,
                "no passport data registered for this battery "
                "(bmts battery register ... --passport-data FILE.json)",
            )
        )
    moment = as_of or datetime.now(UTC)
    category = battery.category or (static.get("GeneralProductInformation") or {}).get("batteryCategory")
    if category is None:
        raise DataError(Issue(battery_id, "the battery has no category (ev, lmt, industrial, stationary)"))
    condition = condition_of(store, registry, battery, static, moment)
    return assemble_passport(static, condition, role, category)
