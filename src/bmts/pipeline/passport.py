"""Use case: the EU battery passport of a registered battery, for one role, as of a date.

Static data is what was registered for the battery (BatteryPass v1.2 shape); the dynamic
`batteryCondition` is computed from the telemetry in the store and from the ledger's fault events,
using only data up to the requested date.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bmts.analytics.condition import BatteryCondition, NegativeEvent, battery_condition
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


def condition_of(
    store: EmbeddedStore, registry: Registry, battery: Battery, static: dict[str, Any], as_of: datetime
) -> BatteryCondition | None:
    """The battery's condition from its telemetry, or None when nothing was measured on it."""
    if not store.segments(battery.id):
        return None
    frame = battery_frame(store, battery.id, [*CORE, "unix_time_second"])  # read once: cycles and series
    return battery_condition(
        cycle_table(frame),
        as_of=as_of,
        component=battery.kind if battery.kind != "system" else "pack",
        timeseries=frame,
        events=_negative_events(registry, battery.id, as_of),
        **condition_inputs(static),
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
