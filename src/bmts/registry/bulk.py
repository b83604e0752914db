"""Bulk appends to the ledger: many events in one transaction, for imports from other systems.

The same rules as one-by-one appends (known battery, not before manufacture, not in the future, nothing
after recycling), for the whole batch in one transaction, so a refused event leaves nothing of it;
hashes are chained as the rows stream into the table (PostgreSQL: COPY; elsewhere one multi-row
insert), then every battery's head moves with one statement.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine

from bmts.registry import ledger
from bmts.schema import DataError, Issue
from bmts.schema.lifecycle import EventKind
from bmts.storage import tables as t

KINDS = {k.value for k in EventKind}
LOOKUP_CHUNK = 5000


@dataclass(frozen=True)
class NewEvent:
    battery_id: str
    kind: str
    occurred_at: datetime
    actor: str = "bmts"
    payload: Mapping[str, Any] = field(default_factory=dict)


def _state(con: Connection, battery_ids: list[str]) -> dict[str, tuple[int, str, str, str]]:
    """battery -> (last seq, last hash, time of its first event, kind of its last event)."""
    heads = t.ledger_heads
    columns = (heads.c.battery_id, heads.c.seq, heads.c.hash, heads.c.first_occurred_at, heads.c.last_kind)
    found: dict[str, tuple[int, str, str, str]] = {}
    if con.dialect.name == "postgresql":  # one query: the batch's ids joined to the heads by index probes
        ledger.probe_by_key(con)
        keys = (
            sa.func.unnest(sa.cast(sa.bindparam("ids"), ARRAY(sa.Text)))
            .table_valued("battery_id")
            .render_derived()
        )
        query = sa.select(*columns).join_from(keys, heads, heads.c.battery_id == keys.c.battery_id)
        for battery_id, seq, digest, first_at, last_kind in con.execute(query, {"ids": battery_ids}):
            found[battery_id] = (seq, digest, first_at, last_kind)
        return found
    for start in range(0, len(battery_ids), LOOKUP_CHUNK):
        chunk = battery_ids[start : start + LOOKUP_CHUNK]
        for battery_id, seq, digest, first_at, last_kind in con.execute(
            sa.select(*columns).where(heads.c.battery_id.in_(chunk))
        ):
            found[battery_id] = (seq, digest, first_at, last_kind)
    return found


def _chained(
    batch: list[NewEvent], state: dict[str, tuple[int, str, str, str]], latest: str
) -> Iterator[tuple[Any, ...]]:
    """The batch's rows (ledger.EVENT_COLUMNS order), each checked against the rules and hash-chained;
    `state` follows along to each battery's new head. DataError naming the first event refused."""
    now = time.time()
    for n, e in enumerate(batch, start=1):
        if e.kind not in KINDS:
            raise DataError(Issue("events", f"unknown event kind {e.kind!r}", n, "kind"))
        if e.battery_id not in state:
            raise DataError(
                Issue("events", f"event {n} ({e.battery_id}): unknown battery (or not yet manufactured)", n)
            )
        seq, prev, first_at, last_kind = state[e.battery_id]
        when = ledger.iso_utc(e.occurred_at)  # naive times are UTC
        problem = ledger.refusal(when, first_at, last_kind, latest)
        if problem:
            raise DataError(Issue("events", f"event {n} ({e.battery_id}): {problem[0]}", n, problem[1]))
        body = ledger.canonical(e.payload if type(e.payload) is dict else dict(e.payload))
        digest = ledger.event_hash(prev, e.battery_id, seq + 1, e.kind, when, e.actor, body)
        yield (e.battery_id, seq + 1, e.kind, when, e.actor, body, prev, digest, now)
        state[e.battery_id] = (seq + 1, digest, first_at, e.kind)


def append_many(engine: Engine, new_events: Iterable[NewEvent]) -> int:
    """Append `new_events` (in the given order per battery) in one transaction; all or none.

    Rows are checked and chained while they stream into the table (PostgreSQL's COPY stores them as they
    arrive); the first refused event aborts the transaction, so nothing of the batch is kept."""
    batch = list(new_events)
    if not batch:
        return 0
    latest = ledger.iso_utc(ledger.now_utc() + ledger.CLOCK_SKEW)
    with engine.begin() as con:
        batteries = sorted({e.battery_id for e in batch})
        state = _state(con, batteries)
        ledger.insert_events(con, _chained(batch, state, latest))
        ledger.update_heads(
            con, {b: (state[b][0], state[b][1], state[b][3]) for b in batteries if b in state}
        )
    return len(batch)


def events_from_dicts(records: Iterable[Mapping[str, Any]]) -> list[NewEvent]:
    """NewEvents from JSON-like records with battery_id, kind, occurred_at (ISO), actor, payload."""
    out = []
    for n, r in enumerate(records, start=1):
        try:
            when = datetime.fromisoformat(str(r["occurred_at"]).replace("Z", "+00:00"))
            out.append(
                NewEvent(
                    str(r["battery_id"]),
                    str(r["kind"]),
                    when,
                    str(r.get("actor") or "bmts"),
                    dict(r.get("payload") or {}),
                )
            )
        except (KeyError, ValueError, TypeError) as e:
            raise DataError(Issue("events", f"invalid event record: {e}", n)) from None
    return out
