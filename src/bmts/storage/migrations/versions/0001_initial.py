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

# Tables whose shape has not changed since this migration; later changes are migrations of their own
# (0002 adds passport_versions, 0003 two columns of ledger_heads, created here as first released).
UNCHANGED = [tables.batteries, tables.battery_links, tables.lifecycle_events, tables.segments]


def upgrade() -> None:
    bind = op.get_bind()
    for table in UNCHANGED:
        table.create(bind, checkfirst=True)
    op.create_table(
        "ledger_heads",
        sa.Column("battery_id", sa.String(200), sa.ForeignKey("batteries.id"), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_heads")
    bind = op.get_bind()
    for table in reversed(UNCHANGED):
        table.drop(bind, checkfirst=True)
