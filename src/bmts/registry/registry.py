"""The battery registry: identities, genealogy over time, ownership, and the lifecycle ledger on top.

Rules kept here: identifiers are unique; a battery sits in at most one parent at a time and never in
its own descendants; kinds nest cell -> module -> pack -> system; events are not dated before the
battery was made nor in the future, and a recycled battery takes no more events; remanufacturing or
repurposing issues a new identity linked to the old one (Regulation (EU) 2023/1542, Art. 77(6)).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bmts.registry import ledger
from bmts.registry.passport_versions import PassportVersions
from bmts.schema import DataError, Issue
from bmts.schema.lifecycle import ALLOWED_PARENTS, BatteryCategory, BatteryKind, EventKind
from bmts.storage import tables as t

T = TypeVar("T")
RETRIES = 20
LOOKUP_CHUNK = 5000


@dataclass
class Battery:
    """What is registered about one battery."""

    id: str
    kind: str = "cell"
    category: str | None = None
    chemistry: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    passport_id: str | None = None
    nominal_capacity_ah: float | None = None
    nominal_energy_wh: float | None = None
    nominal_voltage_v: float | None = None
    rated_power_w: float | None = None
    mass_kg: float | None = None
    manufactured_on: date | None = None
    manufacturing_place: str | None = None
    predecessor_id: str | None = None
    passport_data: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None  # current parent, read-only

    def public_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "passport_data"}
        out["manufactured_on"] = self.manufactured_on.isoformat() if self.manufactured_on else None
        return out


COLUMNS = [c for c in Battery.__dataclass_fields__ if c != "parent_id"]


def _validate(b: Battery) -> None:
    if not b.id or len(b.id) > 200 or any(ch in b.id for ch in "\n\t"):
        raise DataError(Issue(b.id or "battery", "invalid battery id", column="id"))
    if b.kind not in {k.value for k in BatteryKind}:
        raise DataError(Issue(b.id, f"unknown kind {b.kind!r} (cell, module, pack, system)", column="kind"))
    if b.category is not None and b.category not in {c.value for c in BatteryCategory}:
        raise DataError(
            Issue(
                b.id, f"unknown category {b.category!r} (ev, lmt, industrial, stationary)", column="category"
            )
        )
    for name in ("nominal_capacity_ah", "nominal_energy_wh", "nominal_voltage_v", "rated_power_w", "mass_kg"):
        value = getattr(b, name)
        if value is not None and not (value > 0 and value < 1e9):
            raise DataError(Issue(b.id, f"{name} must be a positive number, got {value!r}", column=name))
    if b.manufactured_on and b.manufactured_on > date.today() + ledger.CLOCK_SKEW:
        raise DataError(Issue(b.id, "manufacturing date is in the future", column="manufactured_on"))


class Registry(PassportVersions):
    """Batteries, genealogy and ledger in one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in a transaction, retrying when a concurrent writer got there first."""
        for attempt in range(RETRIES):
            try:
                with self.engine.begin() as con:
                    return work(con)
            except (sa.exc.IntegrityError, sa.exc.OperationalError) as e:
                if attempt == RETRIES - 1 or not _transient(e):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    # -- identities --------------------------------------------------------------------------
    def register(self, battery: Battery, actor: str = "bmts", when: datetime | None = None) -> Battery:
        """Register a battery and record its `manufactured` event."""
        self.register_many([battery], actor, when)
        return battery

    def register_many(
        self, batteries: list[Battery], actor: str = "bmts", when: datetime | None = None
    ) -> None:
        """Register several batteries in one transaction: all of them or none."""
        for battery in batteries:
            _validate(battery)
        ids = [b.id for b in batteries]
        if len(set(ids)) != len(ids):
            duplicate = next(i for i in ids if ids.count(i) > 1)
            raise DataError(Issue(duplicate, "the same battery id appears twice", column="id"))

        for name in ("serial_number", "passport_id"):
            seen: dict[str, str] = {}
            for b in batteries:
                value = getattr(b, name)
                if value and value in seen:
                    raise DataError(
                        Issue(b.id, f"{name} {value!r} is already used by {seen[value]}", column=name)
                    )
                if value:
                    seen[value] = b.id
        self._write(lambda con: self._insert_batteries(con, batteries, actor, when))

    def _insert_batteries(
        self, con: Connection, batteries: list[Battery], actor: str, when: datetime | None
    ) -> None:
        """Set-based registration: one lookup per rule for the whole batch, then bulk inserts."""
        b = t.batteries.c
        for start in range(0, len(batteries), LOOKUP_CHUNK):
            chunk = batteries[start : start + LOOKUP_CHUNK]
            taken = con.execute(sa.select(b.id).where(b.id.in_([x.id for x in chunk]))).scalars().first()
            if taken is not None:
                raise DataError(Issue(taken, "a battery with this id is already registered", column="id"))
            for name in ("serial_number", "passport_id"):
                wanted = [getattr(x, name) for x in chunk if getattr(x, name)]
                used = con.execute(
                    sa.select(b.id, getattr(b, name)).where(getattr(b, name).in_(wanted))
                ).first()
                if used is not None:
                    owner = next(x.id for x in chunk if getattr(x, name) == used[1])
                    raise DataError(Issue(owner, f"{name} {used[1]!r} is already used", column=name))
        known = {x.id for x in batteries}
        for x in batteries:
            if x.predecessor_id and x.predecessor_id not in known and not self._exists(con, x.predecessor_id):
                raise DataError(Issue(x.id, f"unknown predecessor {x.predecessor_id}"))
        now = time.time()
        rows = []
        for x in batteries:
            values = {c: getattr(x, c) for c in COLUMNS}
            values["passport_data"] = json.dumps(x.passport_data) if x.passport_data else None
            rows.append({**values, "created_unix_second": now})
        con.execute(sa.insert(t.batteries), rows)
        events, heads, versions = [], [], []
        for x in batteries:
            made = when or datetime.combine(x.manufactured_on or date.today(), datetime.min.time(), UTC)
            facts: dict[str, Any] = {"owner": x.manufacturer or actor, "place": x.manufacturing_place}
            if x.passport_data:
                data = ledger.canonical(x.passport_data)
                facts["passport_sha256"] = hashlib.sha256(data.encode()).hexdigest()
                versions.append(
                    {
                        "battery_id": x.id,
                        "valid_from": ledger.iso_utc(made),
                        "data": data,
                        "sha256": facts["passport_sha256"],
                        "recorded_unix_second": now,
                    }
                )
            stamp, payload = ledger.iso_utc(made), ledger.canonical(facts)
            digest = ledger.event_hash(
                ledger.GENESIS, x.id, 1, EventKind.MANUFACTURED.value, stamp, actor, payload
            )
            events.append(
                {
                    "battery_id": x.id,
                    "seq": 1,
                    "kind": EventKind.MANUFACTURED.value,
                    "occurred_at": stamp,
                    "actor": actor,
                    "payload": payload,
                    "prev_hash": ledger.GENESIS,
                    "hash": digest,
                    "recorded_unix_second": now,
                }
            )
            heads.append(
                {
                    "battery_id": x.id,
                    "seq": 1,
                    "hash": digest,
                    "first_occurred_at": stamp,
                    "last_kind": EventKind.MANUFACTURED.value,
                }
            )
        ledger.insert_events(con, [tuple(e[c] for c in ledger.EVENT_COLUMNS) for e in events])
        con.execute(sa.insert(t.ledger_heads), heads)
        if versions:
            con.execute(sa.insert(t.passport_versions), versions)

    def get(self, battery_id: str) -> Battery:
        with self.engine.connect() as con:
            row = con.execute(sa.select(t.batteries).where(t.batteries.c.id == battery_id)).mappings().first()
            if row is None:
                raise DataError(Issue(battery_id, "unknown battery"))
            parent = self._parent(con, battery_id)
        values = {c: row[c] for c in COLUMNS}
        values["passport_data"] = json.loads(row["passport_data"]) if row["passport_data"] else {}
        return Battery(**values, parent_id=parent)

    def _exists(self, con: Connection, battery_id: str) -> bool:
        return (
            con.execute(sa.select(t.batteries.c.id).where(t.batteries.c.id == battery_id)).first() is not None
        )

    def _parent(self, con: Connection, battery_id: str, at: datetime | None = None) -> str | None:
        link = t.battery_links
        query = sa.select(link.c.parent_id).where(link.c.child_id == battery_id, _linked_at(at))
        return con.execute(query).scalar()

    # -- events ------------------------------------------------------------------------------
    def add_event(
        self,
        battery_id: str,
        kind: str,
        when: datetime | None = None,
        actor: str = "bmts",
        payload: Mapping[str, Any] | None = None,
    ) -> ledger.Event:
        """Append a lifecycle event after checking it against the battery's history."""
        if kind not in {k.value for k in EventKind}:
            raise DataError(Issue(battery_id, f"unknown event kind {kind!r}", column="kind"))
        moment = when or ledger.now_utc()
        return self._write(
            lambda con: self._append(con, battery_id, kind, moment, actor, dict(payload or {}))
        )

    def _append(
        self, con: Connection, battery_id: str, kind: str, when: datetime, actor: str, payload: dict[str, Any]
    ) -> ledger.Event:
        if not self._exists(con, battery_id):
            raise DataError(Issue(battery_id, "unknown battery"))
        return ledger.append(con, battery_id, kind, when, actor, payload)

    def history(self, battery_id: str) -> list[ledger.Event]:
        found = ledger.events(self.engine, battery_id)
        if not found:  # every registered battery has its manufactured event: this one is unknown
            self.get(battery_id)
        return found

    def owner_at(self, battery_id: str, moment: datetime) -> str | None:
        """Who held the battery at `moment`: the last ownership record at or before it."""
        owner = None
        stamp = ledger.iso_utc(moment)
        for event in self.history(battery_id):
            if event.occurred_at > stamp:
                break
            if event.kind == EventKind.MANUFACTURED.value:
                owner = event.payload.get("owner") or owner
            elif event.kind == EventKind.OWNERSHIP_TRANSFERRED.value:
                owner = event.payload.get("to") or owner
        return owner

    # -- genealogy ---------------------------------------------------------------------------
    def install(
        self,
        parent_id: str,
        child_id: str,
        when: datetime | None = None,
        actor: str = "bmts",
        position: str | None = None,
    ) -> None:
        """Put `child_id` into `parent_id` from `when` on; refused if it would make a loop."""
        moment = when or ledger.now_utc()

        def work(con: Connection) -> None:
            parent, child = self._kind(con, parent_id), self._kind(con, child_id)
            if parent not in ALLOWED_PARENTS[child]:
                raise DataError(Issue(child_id, f"a {child} cannot be installed in a {parent}"))
            ancestor: str | None = parent_id
            while ancestor is not None:
                if ancestor == child_id:
                    raise DataError(
                        Issue(child_id, f"installing it in {parent_id} would make it its own ancestor")
                    )
                ancestor = self._parent(con, ancestor)
            current = self._parent(con, child_id)
            if current is not None:
                raise DataError(Issue(child_id, f"already installed in {current}; remove it first"))
            con.execute(
                sa.insert(t.battery_links).values(
                    parent_id=parent_id, child_id=child_id, position=position, valid_from=moment
                )
            )
            self._append(
                con,
                child_id,
                EventKind.INSTALLED.value,
                moment,
                actor,
                {"parent": parent_id, "position": position},
            )

        self._write(work)

    def remove(
        self, parent_id: str, child_id: str, when: datetime | None = None, actor: str = "bmts"
    ) -> None:
        moment = when or ledger.now_utc()

        def work(con: Connection) -> None:
            self._close_link(con, parent_id, child_id, moment)
            self._append(con, child_id, EventKind.REMOVED.value, moment, actor, {"parent": parent_id})

        self._write(work)

    def replace(
        self,
        parent_id: str,
        old_child: str,
        new_child: str,
        when: datetime | None = None,
        actor: str = "bmts",
        reason: str | None = None,
    ) -> None:
        """Swap a module (or cell) during repair: both keep their own histories; the parent records the swap."""
        moment = when or ledger.now_utc()

        def work(con: Connection) -> None:
            link = self._close_link(con, parent_id, old_child, moment)
            if self._parent(con, new_child) is not None:
                raise DataError(Issue(new_child, "the replacement is already installed elsewhere"))
            con.execute(
                sa.insert(t.battery_links).values(
                    parent_id=parent_id, child_id=new_child, position=link["position"], valid_from=moment
                )
            )
            self._append(con, old_child, EventKind.REMOVED.value, moment, actor, {"parent": parent_id})
            self._append(
                con,
                new_child,
                EventKind.INSTALLED.value,
                moment,
                actor,
                {"parent": parent_id, "position": link["position"]},
            )
            self._append(
                con,
                parent_id,
                EventKind.MODULE_REPLACED.value,
                moment,
                actor,
                {
                    "removed": old_child,
                    "installed": new_child,
                    "position": link["position"],
                    "reason": reason,
                },
            )

        self._write(work)

    def reissue(
        self, old_id: str, new: Battery, kind: str, when: datetime | None = None, actor: str = "bmts"
    ) -> None:
        """Remanufacture or repurpose: a new identity that names the old one as predecessor."""
        if kind not in (EventKind.REMANUFACTURED.value, EventKind.REPURPOSED.value):
            raise DataError(Issue(old_id, "reissue is for remanufactured or repurposed batteries"))
        self.get(old_id)
        moment = when or ledger.now_utc()
        new.predecessor_id = old_id
        self.register(new, actor, moment)
        self.add_event(old_id, kind, moment, actor, {"successor": new.id})
        self.add_event(new.id, kind, moment, actor, {"predecessor": old_id})

    def children(self, parent_id: str, at: datetime | None = None) -> list[str]:
        link = t.battery_links
        query = sa.select(link.c.child_id).where(link.c.parent_id == parent_id, _linked_at(at))
        with self.engine.connect() as con:
            return sorted(con.execute(query).scalars())

    def parent(self, battery_id: str, at: datetime | None = None) -> str | None:
        with self.engine.connect() as con:
            return self._parent(con, battery_id, at)

    def _kind(self, con: Connection, battery_id: str) -> str:
        kind = con.execute(sa.select(t.batteries.c.kind).where(t.batteries.c.id == battery_id)).scalar()
        if kind is None:
            raise DataError(Issue(battery_id, "unknown battery"))
        return str(kind)

    def _close_link(self, con: Connection, parent_id: str, child_id: str, moment: datetime) -> sa.RowMapping:
        link = t.battery_links
        row = (
            con.execute(
                sa.select(link).where(
                    link.c.parent_id == parent_id, link.c.child_id == child_id, link.c.valid_to.is_(None)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise DataError(Issue(child_id, f"is not installed in {parent_id}"))
        con.execute(sa.update(link).where(link.c.id == row["id"]).values(valid_to=moment))
        return row


def _linked_at(at: datetime | None) -> sa.ColumnElement[bool]:
    """Genealogy links in force at `at`, or now (the open ones) when `at` is None."""
    link = t.battery_links
    if at is None:
        return link.c.valid_to.is_(None)
    return sa.and_(link.c.valid_from <= at, sa.or_(link.c.valid_to.is_(None), link.c.valid_to > at))


def _transient(error: Exception) -> bool:
    text = str(error).lower()
    return "unique" in text or "duplicate key" in text or "locked" in text or "deadlock" in text
