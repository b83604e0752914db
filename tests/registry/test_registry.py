"""Registry and ledger rules, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from bmts.registry import Battery, Registry, verify
from bmts.registry.ledger import GENESIS, event_hash
from bmts.schema import DataError
from bmts.storage import tables as t

T0 = datetime(2024, 1, 10, tzinfo=UTC)


def _pack(registry: Registry) -> None:
    registry.register(
        Battery("P1", kind="pack", category="ev", manufacturer="Acme", manufactured_on=date(2024, 1, 5))
    )
    for m in ("M1", "M2", "M3"):
        registry.register(Battery(m, kind="module", manufactured_on=date(2024, 1, 3)))
    registry.install("P1", "M1", T0)
    registry.install("P1", "M2", T0)


def test_module_swap_keeps_both_histories(registry: Registry) -> None:
    _pack(registry)
    registry.replace("P1", "M2", "M3", T0 + timedelta(days=300), reason="cell fault")
    assert registry.children("P1") == ["M1", "M3"]
    assert registry.children("P1", at=T0 + timedelta(days=1)) == ["M1", "M2"]
    assert registry.parent("M2") is None and registry.parent("M2", at=T0 + timedelta(days=10)) == "P1"
    assert [e.kind for e in registry.history("M2")] == ["manufactured", "installed", "removed"]
    swap = registry.history("P1")[-1]
    assert (
        swap.kind == "module_replaced"
        and swap.payload["removed"] == "M2"
        and swap.payload["installed"] == "M3"
    )
    assert verify(registry.engine).events == 9


def test_genealogy_refuses_loops_and_wrong_nesting(registry: Registry) -> None:
    _pack(registry)
    registry.register(Battery("C1", kind="cell", manufactured_on=date(2024, 1, 1)))
    registry.install("M1", "C1", T0)
    with pytest.raises(DataError, match="cannot be installed"):
        registry.install("C1", "M3", T0)
    with pytest.raises(DataError, match="already installed"):
        registry.install("P1", "M1", T0)
    registry.register(Battery("M9", kind="module", manufactured_on=date(2024, 1, 1)))
    registry.register(Battery("P9", kind="pack", manufactured_on=date(2024, 1, 1)))
    registry.register(Battery("S1", kind="system", manufactured_on=date(2024, 1, 1)))
    registry.install("S1", "P9", T0)
    with pytest.raises(DataError, match="cannot be installed"):
        registry.install("M9", "S1", T0)


def test_bad_input_is_refused_and_ledger_stays_valid(registry: Registry) -> None:
    _pack(registry)
    with pytest.raises(DataError, match="unknown battery"):
        registry.add_event("nope", "serviced", T0)
    with pytest.raises(DataError, match="before the battery was manufactured"):
        registry.add_event("P1", "serviced", datetime(2023, 1, 1, tzinfo=UTC))
    with pytest.raises(DataError, match="in the future"):
        registry.add_event("P1", "serviced", datetime.now(UTC) + timedelta(days=30))
    with pytest.raises(DataError, match="already registered"):
        registry.register(Battery("P1", kind="pack"))
    with pytest.raises(DataError, match="positive"):
        registry.register(Battery("X", nominal_capacity_ah=-3))
    with pytest.raises(DataError, match="unknown event kind"):
        registry.add_event("P1", "exploded", T0)
    registry.add_event("P1", "recycled", T0 + timedelta(days=300))
    with pytest.raises(DataError, match="no further events"):
        registry.add_event("P1", "serviced", T0 + timedelta(days=301))
    verify(registry.engine)


def test_ownership_on_a_date(registry: Registry) -> None:
    _pack(registry)
    registry.add_event("P1", "ownership_transferred", T0 + timedelta(days=10), payload={"to": "Fleet Co"})
    registry.add_event(
        "P1", "ownership_transferred", T0 + timedelta(days=500), payload={"to": "Second Life Ltd"}
    )
    assert registry.owner_at("P1", T0) == "Acme"
    assert registry.owner_at("P1", T0 + timedelta(days=100)) == "Fleet Co"
    assert registry.owner_at("P1", T0 + timedelta(days=600)) == "Second Life Ltd"


def test_repurposing_issues_a_new_linked_identity(registry: Registry) -> None:
    _pack(registry)
    registry.reissue(
        "P1", Battery("P1-R", kind="pack", category="stationary"), "repurposed", T0 + timedelta(days=600)
    )
    assert registry.get("P1-R").predecessor_id == "P1"
    assert registry.history("P1")[-1].payload == {"successor": "P1-R"}


@pytest.mark.parametrize("column", ["kind", "payload", "actor", "occurred_at"])
def test_verify_names_an_edited_event(registry: Registry, column: str) -> None:
    _pack(registry)
    registry.add_event("P1", "serviced", T0 + timedelta(days=5), payload={"work": "coolant"})
    events = t.lifecycle_events
    with registry.engine.begin() as con:
        target = con.execute(
            sa.select(events.c.id).where(events.c.battery_id == "P1", events.c.seq == 2)
        ).scalar()
        value = '{"work": "nothing"}' if column == "payload" else "2024-01-16T00:00:00.000000Z"
        value = {"kind": "fault", "actor": "mallory"}.get(column, value)
        con.execute(sa.update(events).where(events.c.id == target).values({column: value}))
    with pytest.raises(DataError, match=f"event {target} .*edited"):
        verify(registry.engine)


def test_verify_catches_deleted_and_reordered_events(registry: Registry) -> None:
    _pack(registry)
    for day in (5, 6, 7):
        registry.add_event("P1", "serviced", T0 + timedelta(days=day))
    events = t.lifecycle_events
    with registry.engine.begin() as con:
        con.execute(sa.delete(events).where(events.c.battery_id == "P1", events.c.seq == 4))
    with pytest.raises(DataError, match="head"):
        verify(registry.engine)
    with registry.engine.begin() as con:
        con.execute(sa.delete(events).where(events.c.battery_id == "P1", events.c.seq == 2))
    with pytest.raises(DataError, match="missing"):
        verify(registry.engine)


def test_verify_refuses_events_of_a_battery_without_a_head(registry: Registry) -> None:
    """The events table has no foreign key to batteries (migration 0004): verify stands in for it."""
    _pack(registry)
    stamp = "2024-01-11T00:00:00.000000Z"
    digest = event_hash(GENESIS, "GHOST", 1, "manufactured", stamp, "bmts", "{}")
    with registry.engine.begin() as con:  # a well-chained event of a battery nobody registered
        con.execute(
            sa.insert(t.lifecycle_events).values(
                battery_id="GHOST",
                seq=1,
                kind="manufactured",
                occurred_at=stamp,
                actor="bmts",
                payload="{}",
                prev_hash=GENESIS,
                hash=digest,
                recorded_unix_second=0.0,
            )
        )
    with pytest.raises(DataError, match=r"battery GHOST: .*ledger head records #None"):
        verify(registry.engine)
    with pytest.raises(DataError, match="unknown battery"):
        registry.history("GHOST-2")


def test_published_root_detects_rewrites(registry: Registry) -> None:
    _pack(registry)
    root = verify(registry.engine).root
    assert verify(registry.engine, expected_root=root).root == root
    registry.add_event("P1", "serviced", T0 + timedelta(days=5))
    with pytest.raises(DataError, match="published root"):
        verify(registry.engine, expected_root=root)


def test_concurrent_appends_all_land_in_one_valid_chain(registry: Registry) -> None:
    _pack(registry)
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda n: registry.add_event("P1", "note", T0 + timedelta(minutes=n), payload={"n": n}),
                range(40),
            )
        )
    history = registry.history("P1")
    assert [e.seq for e in history] == list(range(1, 42))
    assert sorted(e.payload["n"] for e in history if e.kind == "note") == list(range(40))
    verify(registry.engine)


def test_bulk_append_chains_like_single_appends(registry: Registry) -> None:
    from bmts.registry.bulk import NewEvent, append_many

    _pack(registry)
    batch = [
        NewEvent(b, "note", T0 + timedelta(hours=n), "importer", {"n": n, "text": "tab\there"})
        for n in range(30)
        for b in ("P1", "M1", "M3")
    ]
    assert append_many(registry.engine, batch) == 90
    registry.add_event("P1", "serviced", T0 + timedelta(days=40))  # single appends continue the chain
    assert [e.payload.get("n") for e in registry.history("M3")][1:] == list(range(30))
    assert registry.history("P1")[-2].payload["text"] == "tab\there"
    assert verify(registry.engine).events == 6 + 90 + 1


def test_bulk_append_is_all_or_nothing(registry: Registry) -> None:
    from bmts.registry.bulk import NewEvent, append_many

    _pack(registry)
    # rows stream into COPY as they are chained: 3,000 good events reach the server before the bad one
    batch = [NewEvent("P1", "note", T0 + timedelta(minutes=n), payload={"n": n}) for n in range(3000)]
    batch.append(NewEvent("P1", "note", datetime(2020, 1, 1, tzinfo=UTC)))
    with pytest.raises(DataError, match="before the battery was manufactured") as info:
        append_many(registry.engine, batch)
    assert info.value.issue.row == 3001
    assert len(registry.history("P1")) == 1
    verify(registry.engine)
    assert append_many(registry.engine, batch[:2]) == 2  # the connection is usable again


@settings(max_examples=200, deadline=None)
@given(
    actor=st.text(),
    battery=st.text(min_size=1),
    kind=st.text(),
    payload=st.dictionaries(st.text(), st.text()),
)
def test_event_hash_is_the_hash_of_the_canonical_event(
    actor: str, battery: str, kind: str, payload: dict
) -> None:
    """The hand-built hash body equals canonical JSON of the event, whatever the characters."""
    import hashlib

    from bmts.registry.ledger import GENESIS, canonical, event_hash

    when = "2024-01-01T00:00:00.000000Z"
    body = canonical(
        {
            "battery_id": battery,
            "seq": 7,
            "kind": kind,
            "occurred_at": when,
            "actor": actor,
            "payload": payload,
        }
    )
    expected = hashlib.sha256(f"{GENESIS}\n{body}".encode()).hexdigest()
    assert event_hash(GENESIS, battery, 7, kind, when, actor, canonical(payload)) == expected


def test_passport_data_versions_by_date_and_tamper_evident(registry: Registry) -> None:
    registry.register(
        Battery(
            "P1",
            kind="pack",
            category="ev",
            manufactured_on=date(2024, 1, 5),
            passport_data={"GeneralProductInformation": {"batteryStatus": "Original"}},
        )
    )
    registry.update_passport_data(
        "P1", {"GeneralProductInformation": {"batteryStatus": "Repurposed"}}, T0 + timedelta(days=100)
    )
    status = lambda when: registry.passport_data("P1", when)["GeneralProductInformation"]["batteryStatus"]  # noqa: E731
    assert status(T0) == "Original" and status(T0 + timedelta(days=101)) == "Repurposed"
    assert registry.passport_data("P1")["GeneralProductInformation"]["batteryStatus"] == "Repurposed"
    assert registry.verify_passport_data() == 2
    versions = t.passport_versions
    with registry.engine.begin() as con:
        con.execute(
            sa.update(versions)
            .where(versions.c.valid_from < "2024-02-01")
            .values(data='{"GeneralProductInformation":{"batteryStatus":"Waste"}}')
        )
    with pytest.raises(DataError, match="does not match the ledger"):
        registry.verify_passport_data()
