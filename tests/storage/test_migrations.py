"""Migrations: a store created by an older bmts upgrades in place and its ledger still verifies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from bmts.registry import Battery, Registry, verify
from bmts.registry.bulk import NewEvent, append_many
from bmts.storage.database import MIGRATIONS, create_engine, migrate


def test_upgrade_from_the_first_schema_keeps_the_ledger_valid(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as con:
        config.attributes["connection"] = con
        command.upgrade(config, "0001")
        con.exec_driver_sql("INSERT INTO batteries (id, kind, created_unix_second) VALUES ('old', 'cell', 0)")
        con.exec_driver_sql(
            "INSERT INTO lifecycle_events (battery_id, seq, kind, occurred_at, actor, payload, prev_hash, hash, "
            "recorded_unix_second) VALUES ('old', 1, 'manufactured', '2024-01-01T00:00:00.000000Z', 'bmts', '{}', "
            "'0000000000000000000000000000000000000000000000000000000000000000', 'x', 0)"
        )
    from bmts.registry.ledger import GENESIS, event_hash

    digest = event_hash(GENESIS, "old", 1, "manufactured", "2024-01-01T00:00:00.000000Z", "bmts", "{}")
    with engine.begin() as con:
        con.exec_driver_sql(f"UPDATE lifecycle_events SET hash = '{digest}'")
        con.exec_driver_sql(f"INSERT INTO ledger_heads (battery_id, seq, hash) VALUES ('old', 1, '{digest}')")
    assert sa.inspect(engine).get_foreign_keys("lifecycle_events")  # as first released
    migrate(engine)  # 0002, 0003: passport versions, head facts back-filled; 0004: events' key dropped
    assert sa.inspect(engine).get_foreign_keys("lifecycle_events") == []
    registry = Registry(engine)
    append_many(engine, [NewEvent("old", "tested", datetime(2024, 2, 1, tzinfo=UTC))])
    registry.register(Battery("new", manufactured_on=date(2024, 3, 1)))
    registry.add_event("old", "recycled", datetime(2024, 3, 2, tzinfo=UTC))
    assert [e.kind for e in registry.history("old")] == ["manufactured", "tested", "recycled"]
    assert verify(engine).events == 4
