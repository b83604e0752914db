"""Initial schema: batteries, genealogy links, lifecycle ledger, time-series segments.

Revision ID: 0001
Revises:
"""

from alembic import op

from bmts.storage import tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = [
    tables.batteries,
    tables.battery_links,
    tables.lifecycle_events,
    tables.ledger_heads,
    tables.segments,
]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind, checkfirst=True)
