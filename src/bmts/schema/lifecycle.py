"""Vocabulary of battery identity and life: kinds, categories, lifecycle events."""

from __future__ import annotations

from enum import StrEnum


class BatteryKind(StrEnum):
    CELL = "cell"
    MODULE = "module"
    PACK = "pack"
    SYSTEM = "system"  # a vehicle or a stationary storage system


#: where each kind may sit in the genealogy (child kind -> allowed parent kinds)
ALLOWED_PARENTS: dict[str, frozenset[str]] = {
    "cell": frozenset({"module", "pack"}),
    "module": frozenset({"pack"}),
    "pack": frozenset({"system"}),
    "system": frozenset(),
}


class BatteryCategory(StrEnum):
    """Categories of Regulation (EU) 2023/1542 that carry a battery passport."""

    EV = "ev"
    LMT = "lmt"
    INDUSTRIAL = "industrial"
    STATIONARY = "stationary"


class EventKind(StrEnum):
    MANUFACTURED = "manufactured"
    SHIPPED = "shipped"
    INSTALLED = "installed"
    PUT_INTO_SERVICE = "put_into_service"
    SERVICED = "serviced"
    FAULT = "fault"
    MODULE_REPLACED = "module_replaced"
    REMOVED = "removed"
    TESTED = "tested"
    GRADED = "graded"
    REPURPOSED = "repurposed"
    REMANUFACTURED = "remanufactured"
    RECYCLED = "recycled"
    OWNERSHIP_TRANSFERRED = "ownership_transferred"
    STATUS_CHANGED = "status_changed"
    PASSPORT_UPDATED = "passport_updated"
    NOTE = "note"


#: events after which a battery takes no further events (its life, or this identity, has ended)
TERMINAL_EVENTS = frozenset({EventKind.RECYCLED.value})
