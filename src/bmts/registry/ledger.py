"""The tamper-evident lifecycle ledger: append-only events, hash-chained per battery.

Each event's hash is SHA-256 over the previous event's hash and the canonical JSON of the event
(battery, sequence number, kind, time, actor, payload). Editing any field, deleting an event or
reordering events breaks the chain at a place `verify` names. A per-battery head (sequence and hash,
updated in the same transaction as each append) catches a deleted last event; the ledger root, a hash
over all heads, can be published elsewhere and checked with `verify(expected_root=...)`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bmts.schema import DataError, Issue
from bmts.schema.lifecycle import TERMINAL_EVENTS
from bmts.storage import tables as t

GENESIS = "0" * 64
#: how far in the future an event may be dated (clocks of other systems differ)
CLOCK_SKEW = timedelta(days=1)


@dataclass(frozen=True)
class Event:
    battery_id: str
    seq: int
    kind: str
    occurred_at: str  # ISO 8601, UTC
    actor: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


#: json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False), built once: json.dumps
#: builds a new encoder on every call with these options (a third of a bulk append's Python time)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(value: Any) -> str:
    return _CANONICAL.encode(value)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a Z; naive times are taken as UTC."""
    if moment.tzinfo is not None and moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _json_string(text: str) -> str:
    """json.dumps(text, ensure_ascii=False), without its cost for the plain strings ids and times are."""
    if '"' in text or "\\" in text or not text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    return f'"{text}"'


def event_hash(
    prev_hash: str, battery_id: str, seq: int, kind: str, occurred_at: str, actor: str, payload_json: str
) -> str:
    """SHA-256 of the previous hash and the event's canonical JSON (keys sorted; the payload as stored,
    which is itself canonical JSON). Built by hand: it is the hot loop of bulk appends and verification."""
    dump = _json_string
    body = (
        f'{{"actor":{dump(actor)},"battery_id":{dump(battery_id)},'
        f'"kind":{dump(kind)},"occurred_at":{dump(occurred_at)},'
        f'"payload":{payload_json},"seq":{int(seq)}}}'
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def refusal(
    when: str, first_at: str | None, last_kind: str | None, latest: str | None = None
) -> tuple[str, str | None] | None:
    """Why an event dated `when` (ISO UTC) may not join a chain that began at `first_at` and last took an
    event of `last_kind`: (message, field at fault), or None. The one place these rules live."""
    if when > (latest or iso_utc(now_utc() + CLOCK_SKEW)):
        return f"event time {when} is in the future", "at"
    if first_at and when < first_at:
        return f"event time {when} is before the battery was manufactured ({first_at})", "at"
    if last_kind in TERMINAL_EVENTS:
        return f"the battery was {last_kind}; it takes no further events", None
    return None


def append(
    con: Connection, battery_id: str, kind: str, occurred_at: datetime, actor: str, payload: Mapping[str, Any]
) -> Event:
    """Append one event inside the caller's transaction, if `refusal` has nothing against it."""
    head = (
        con.execute(sa.select(t.ledger_heads).where(t.ledger_heads.c.battery_id == battery_id))
        .mappings()
        .first()
    )
    when = iso_utc(occurred_at)
    problem = (
        refusal(when, head["first_occurred_at"], head["last_kind"]) if head else refusal(when, None, None)
    )
    if problem:
        raise DataError(Issue(battery_id, problem[0], column=problem[1]))
    seq = (head["seq"] if head else 0) + 1
    prev = head["hash"] if head else GENESIS
    body = canonical(dict(payload))
    digest = event_hash(prev, battery_id, seq, kind, when, actor, body)
    con.execute(
        sa.insert(t.lifecycle_events).values(
            battery_id=battery_id,
            seq=seq,
            kind=kind,
            occurred_at=when,
            actor=actor,
            payload=body,
            prev_hash=prev,
            hash=digest,
            recorded_unix_second=time.time(),
        )
    )
    if head:
        con.execute(
            sa.update(t.ledger_heads)
            .where(t.ledger_heads.c.battery_id == battery_id)
            .values(seq=seq, hash=digest, last_kind=kind)
        )
    else:
        con.execute(
            sa.insert(t.ledger_heads).values(
                battery_id=battery_id, seq=seq, hash=digest, first_occurred_at=when, last_kind=kind
            )
        )
    return Event(battery_id, seq, kind, when, actor, dict(payload), prev, digest)


def _rows(con: Connection) -> Iterator[sa.RowMapping]:
    query = sa.select(t.lifecycle_events).order_by(t.lifecycle_events.c.battery_id, t.lifecycle_events.c.seq)
    yield from con.execute(query.execution_options(yield_per=10_000)).mappings()


def events(engine: Engine, battery_id: str) -> list[Event]:
    """One battery's chain, in order: one indexed query, without the server-side cursor of `_rows`."""
    events = t.lifecycle_events
    query = sa.select(events).where(events.c.battery_id == battery_id).order_by(events.c.seq)
    with engine.connect() as con:
        if con.dialect.name == "postgresql":
            # a few rows: never worth parallel workers, which a planner without statistics (a server
            # without autovacuum) chose for a 10M-event table, at ~80 ms to start them
            con.execute(sa.text("SELECT set_config('max_parallel_workers_per_gather', '0', true)"))
        return [
            Event(
                r["battery_id"],
                r["seq"],
                r["kind"],
                r["occurred_at"],
                r["actor"],
                json.loads(r["payload"]),
                r["prev_hash"],
                r["hash"],
            )
            for r in con.execute(query).mappings()
        ]


@dataclass(frozen=True)
class Verification:
    events: int
    batteries: int
    root: str


def root_of(heads: Mapping[str, str]) -> str:
    """One hash over every battery's head hash: the ledger's fingerprint."""
    lines = "".join(f"{b}\t{h}\n" for b, h in sorted(heads.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def verify(engine: Engine, expected_root: str | None = None) -> Verification:
    """Recompute every chain; DataError naming the first event that was edited, moved or deleted."""
    count, heads = 0, dict[str, str]()
    with engine.connect() as con:
        recorded = {
            r["battery_id"]: (r["seq"], r["hash"]) for r in con.execute(sa.select(t.ledger_heads)).mappings()
        }
        battery, prev, expected_seq = None, GENESIS, 1
        for r in _rows(con):
            if r["battery_id"] != battery:
                _check_head(battery, expected_seq - 1, prev, recorded)
                battery, prev, expected_seq = r["battery_id"], GENESIS, 1
            where = f"event {r['id']} (battery {r['battery_id']}, #{r['seq']}, {r['kind']})"
            if r["seq"] != expected_seq:
                raise DataError(
                    Issue(
                        "ledger",
                        f"event #{expected_seq} of battery {battery} is missing "
                        f"(deleted or renumbered); next found: {where}",
                    )
                )
            if r["prev_hash"] != prev:
                raise DataError(
                    Issue("ledger", f"{where} does not follow its predecessor (reordered or replaced)")
                )
            digest = event_hash(
                prev, r["battery_id"], r["seq"], r["kind"], r["occurred_at"], r["actor"], r["payload"]
            )
            if digest != r["hash"]:
                raise DataError(Issue("ledger", f"{where} was edited after it was recorded (hash mismatch)"))
            prev, expected_seq = digest, expected_seq + 1
            heads[r["battery_id"]] = digest
            count += 1
        _check_head(battery, expected_seq - 1, prev, recorded)
        missing = set(recorded) - set(heads)
        if missing:
            raise DataError(Issue("ledger", f"all events of battery {sorted(missing)[0]} are missing"))
    root = root_of(heads)
    if expected_root is not None and root != expected_root:
        raise DataError(Issue("ledger", f"root {root} differs from the published root {expected_root}"))
    return Verification(count, len(heads), root)


def _check_head(
    battery: str | None, last_seq: int, last_hash: str, recorded: Mapping[str, tuple[int, str]]
) -> None:
    if battery is None:
        return
    seq, digest = recorded.get(battery, (None, None))
    if seq != last_seq or digest != last_hash:
        raise DataError(
            Issue(
                "ledger",
                f"battery {battery}: the chain ends at #{last_seq} but the ledger head "
                f"records #{seq} (events deleted or head edited)",
            )
        )


EVENT_COLUMNS = (
    "battery_id",
    "seq",
    "kind",
    "occurred_at",
    "actor",
    "payload",
    "prev_hash",
    "hash",
    "recorded_unix_second",
)


def copy_rows(con: Connection, table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> bool:
    """COPY rows into `table` on PostgreSQL (the fast bulk path); False on other databases. The rows are
    sent as they come, so the server stores them while the caller is still producing the next ones."""
    raw: Any = con.connection.dbapi_connection
    if con.dialect.name != "postgresql" or raw is None:
        return False
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return True


def insert_events(con: Connection, rows: Iterable[tuple[Any, ...]], table: str | None = None) -> None:
    """Insert event rows (tuples in EVENT_COLUMNS order): COPY on PostgreSQL, executemany elsewhere."""
    name = table or t.lifecycle_events.name
    if copy_rows(con, name, EVENT_COLUMNS, rows):  # checks the database before it takes a row
        return
    target = t.lifecycle_events if table is None else sa.table(name, *[sa.column(c) for c in EVENT_COLUMNS])
    con.execute(sa.insert(target), [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in rows])


def probe_by_key(con: Connection) -> None:
    """PostgreSQL, for the rest of the transaction: join a batch of keys to the heads by index probes.

    The planner has no statistics for a batch passed as an array (and none for tables a server without
    autovacuum never analysed), and would hash the whole heads table for every batch instead: a cost that
    grows with the ledger, not with the batch. No JIT either: it costs more than these queries."""
    con.execute(
        sa.text(
            "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), "
            "set_config('jit', 'off', true)"
        )
    )


def update_heads(con: Connection, heads: dict[str, tuple[int, str, str]]) -> None:
    """Move many batteries' ledger heads (seq, hash, last kind) at once (PostgreSQL: COPY into a
    temporary table, one UPDATE joining it to the heads by index probes)."""
    rows = sorted((b, seq, digest, kind) for b, (seq, digest, kind) in heads.items())
    if con.dialect.name == "postgresql":
        con.execute(
            sa.text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS heads_new "
                "(battery_id text, seq integer, hash text, last_kind text) ON COMMIT DELETE ROWS"
            )
        )
        copy_rows(con, "heads_new", ("battery_id", "seq", "hash", "last_kind"), rows)
        probe_by_key(con)
        con.execute(
            sa.text(
                "UPDATE ledger_heads h SET seq = n.seq, hash = n.hash, last_kind = n.last_kind FROM heads_new n "
                "WHERE h.battery_id = n.battery_id"
            )
        )
        return
    con.execute(
        sa.update(t.ledger_heads)
        .where(t.ledger_heads.c.battery_id == sa.bindparam("b"))
        .values(seq=sa.bindparam("s"), hash=sa.bindparam("h"), last_kind=sa.bindparam("k")),
        [{"b": b, "s": seq, "h": digest, "k": kind} for b, seq, digest, kind in rows],
    )


def now_utc() -> datetime:
    return datetime.now(UTC)
