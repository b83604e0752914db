"""Versions of a battery's static passport data, each fingerprinted in the lifecycle ledger.

The data registered with a battery is version 1 (valid from manufacture; its SHA-256 is in the
`manufactured` event); each update is a `passport_updated` event carrying the new version's SHA-256,
so a passport can be shown as of any date and an edited version is caught by `verify_passport_data`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bmts.registry import ledger
from bmts.schema import DataError, Issue
from bmts.schema.lifecycle import EventKind
from bmts.storage import tables as t


class PassportVersions:
    """Mixed into `Registry`: static passport data over time."""

    engine: Engine
    _write: Callable[..., Any]
    _append: Callable[..., ledger.Event]
    get: Callable[[str], Any]

    def update_passport_data(
        self, battery_id: str, data: Mapping[str, Any], when: datetime | None = None, actor: str = "bmts"
    ) -> str:
        """Record new static passport data from `when` on; the ledger keeps its SHA-256. Returns the hash."""
        if not isinstance(data, Mapping) or not data:
            raise DataError(Issue(battery_id, "passport data must be a non-empty JSON object"))
        text = ledger.canonical(dict(data))
        digest = hashlib.sha256(text.encode()).hexdigest()
        moment = when or ledger.now_utc()

        def work(con: Connection) -> None:
            self._append(con, battery_id, EventKind.PASSPORT_UPDATED.value, moment, actor, {"sha256": digest})
            con.execute(
                sa.insert(t.passport_versions).values(
                    battery_id=battery_id,
                    valid_from=ledger.iso_utc(moment),
                    data=text,
                    sha256=digest,
                    recorded_unix_second=time.time(),
                )
            )
            con.execute(
                sa.update(t.batteries).where(t.batteries.c.id == battery_id).values(passport_data=text)
            )

        self._write(work)
        return digest

    def passport_data(self, battery_id: str, as_of: datetime | None = None) -> dict[str, Any]:
        """The static passport data in force at `as_of` (default: now); {} if there was none then."""
        registered = self.get(battery_id).passport_data
        v = t.passport_versions
        query = sa.select(v.c.valid_from, v.c.data).where(v.c.battery_id == battery_id)
        with self.engine.connect() as con:
            versions = con.execute(query.order_by(v.c.valid_from, v.c.id)).all()
        if not versions:  # registered before passport versions were kept: one undated version
            return dict(registered)
        limit = ledger.iso_utc(as_of) if as_of is not None else None
        valid = [data for start, data in versions if limit is None or start <= limit]
        return json.loads(valid[-1]) if valid else {}

    def verify_passport_data(self) -> int:
        """Every stored passport version must hash to the SHA-256 the ledger recorded for it."""
        recorded: set[tuple[str, str]] = set()
        events = t.lifecycle_events
        kinds = [EventKind.MANUFACTURED.value, EventKind.PASSPORT_UPDATED.value]
        with self.engine.connect() as con:
            for battery, payload in con.execute(
                sa.select(events.c.battery_id, events.c.payload).where(events.c.kind.in_(kinds))
            ):
                facts = json.loads(payload)
                digest = facts.get("sha256") or facts.get("passport_sha256")
                if digest:
                    recorded.add((battery, digest))
            count = 0
            for row in con.execute(sa.select(t.passport_versions)).mappings():
                if (row["battery_id"], hashlib.sha256(row["data"].encode()).hexdigest()) not in recorded:
                    raise DataError(
                        Issue(
                            "passport",
                            f"passport data of battery {row['battery_id']} valid from "
                            f"{row['valid_from']} does not match the ledger (edited)",
                        )
                    )
                count += 1
        return count
