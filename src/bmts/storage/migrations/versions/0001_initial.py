"""Initial schema: batteries, genealogy links, lifecycle ledger, time-series segments.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from bmts.storage import tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
FK_EVENTS_BATTERY = "fk_lifecycle_events_battery_id_batteries"

# Tables whose shape has not changed since this migration; later changes are migrations of their own
# (0002 adds passport_versions, 0003 two columns of ledger_heads, 0004 drops the foreign key of
# lifecycle_events: those two are created here as first released).
UNCHANGED = [tables.batteries, tables.battery_links, tables.segments]


def upgrade() -> None:
    bind = op.get_bind()
    for table in UNCHANGED:
        table.create(bind, checkfirst=True)
    op.create_table(
        "lifecycle_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True),
        sa.Column("battery_id", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("recorded_unix_second", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lifecycle_events"),
        sa.ForeignKeyConstraint(["battery_id"], ["batteries.id"], name=FK_EVENTS_BATTERY),
        sa.UniqueConstraint("battery_id", "seq", name="uq_lifecycle_events_battery_seq"),
    )
    op.create_table(
        "ledger_heads",
        sa.Column("battery_id", sa.String(200), sa.ForeignKey("batteries.id"), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_heads")
    op.drop_table("lifecycle_events")
    bind = op.get_bind()
    for table in reversed(UNCHANGED):
        table.drop(bind, checkfirst=True)
