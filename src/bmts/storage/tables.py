"""The relational schema of bmts's metadata (SQLAlchemy Core): SQLite embedded, PostgreSQL in production.

Changes go through Alembic migrations in `bmts/storage/migrations`; this module is their reference.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

batteries = sa.Table(
    "batteries",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False, server_default="cell"),  # cell, module, pack, system
    sa.Column("category", sa.String(20)),  # ev, lmt, industrial, stationary (EU 2023/1542)
    sa.Column("chemistry", sa.String(60)),
    sa.Column("manufacturer", sa.String(200)),
    sa.Column("model", sa.String(200)),
    sa.Column("serial_number", sa.String(200), unique=True),
    sa.Column("passport_id", sa.String(300), unique=True),  # urn:... identifier of the passport
    sa.Column("nominal_capacity_ah", sa.Float),
    sa.Column("nominal_energy_wh", sa.Float),
    sa.Column("nominal_voltage_v", sa.Float),
    sa.Column("rated_power_w", sa.Float),
    sa.Column("mass_kg", sa.Float),
    sa.Column("manufactured_on", sa.Date),
    sa.Column("manufacturing_place", sa.String(200)),
    sa.Column("predecessor_id", sa.String(200), sa.ForeignKey("batteries.id")),  # remanufactured / repurposed
    sa.Column("passport_data", sa.Text),  # static BatteryPass data as registered (JSON)
    sa.Column("created_unix_second", sa.Float, nullable=False),
)

battery_links = sa.Table(
    "battery_links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("parent_id", sa.String(200), sa.ForeignKey("batteries.id"), nullable=False),
    sa.Column("child_id", sa.String(200), sa.ForeignKey("batteries.id"), nullable=False),
    sa.Column("position", sa.String(60)),
    sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("valid_to", sa.DateTime(timezone=True)),
    sa.Index("ix_battery_links_child", "child_id", "valid_to"),
    sa.Index("ix_battery_links_parent", "parent_id", "valid_to"),
)

lifecycle_events = sa.Table(
    "lifecycle_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    # no foreign key to batteries (dropped by migration 0004): its per-row check, a row lock on the battery,
    # halved PostgreSQL's bulk append rate. Appends require the battery's ledger head, which has the foreign
    # key, and `verify` refuses events of a battery without a head.
    sa.Column("battery_id", sa.String(200), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),  # 1, 2, ... per battery
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("occurred_at", sa.String(40), nullable=False),  # ISO 8601 UTC, hashed as text
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # canonical JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("recorded_unix_second", sa.Float, nullable=False),
    sa.UniqueConstraint("battery_id", "seq", name="uq_lifecycle_events_battery_seq"),
)

ledger_heads = sa.Table(
    "ledger_heads",
    metadata,
    sa.Column("battery_id", sa.String(200), sa.ForeignKey("batteries.id"), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # the chain's first event time and last event kind, so appends check their rules without
    # searching the events table (migration 0003)
    sa.Column("first_occurred_at", sa.String(40)),
    sa.Column("last_kind", sa.String(40)),
)

passport_versions = sa.Table(
    "passport_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("battery_id", sa.String(200), sa.ForeignKey("batteries.id"), nullable=False),
    sa.Column("valid_from", sa.String(40), nullable=False),  # ISO 8601 UTC, as ledger times
    sa.Column("data", sa.Text, nullable=False),  # static BatteryPass data (JSON)
    sa.Column("sha256", sa.String(64), nullable=False),  # also recorded in the ledger event
    sa.Column("recorded_unix_second", sa.Float, nullable=False),
    sa.Index("ix_passport_versions_battery", "battery_id", "valid_from"),
)

segments = sa.Table(
    "segments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("battery_id", sa.String(200), sa.ForeignKey("batteries.id"), nullable=False),
    sa.Column("source_path", sa.Text, nullable=False),
    sa.Column("source_sha256", sa.String(64), nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("reader", sa.String(60), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("first_time_second", sa.Float),
    sa.Column("last_time_second", sa.Float),
    sa.Column("start_unix_second", sa.Float),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("repairs", sa.Text, nullable=False, server_default="[]"),
    sa.Column("attributes", sa.Text, nullable=False, server_default="{}"),
    sa.Column("relative_path", sa.Text, nullable=False),
    sa.Column("ingested_unix_second", sa.Float, nullable=False),
    sa.UniqueConstraint("battery_id", "source_sha256", name="uq_segments_battery_source"),
    sa.UniqueConstraint("battery_id", "content_sha256", name="uq_segments_battery_content"),
    sa.Index("ix_segments_battery_sequence", "battery_id", "sequence"),
)
