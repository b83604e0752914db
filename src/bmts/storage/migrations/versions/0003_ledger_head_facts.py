"""Ledger heads also keep the chain's first event time and last event kind.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_heads") as batch:
        batch.add_column(sa.Column("first_occurred_at", sa.String(40)))
        batch.add_column(sa.Column("last_kind", sa.String(40)))
    op.execute(
        "UPDATE ledger_heads SET "
        "first_occurred_at = (SELECT e.occurred_at FROM lifecycle_events e "
        "WHERE e.battery_id = ledger_heads.battery_id AND e.seq = 1), "
        "last_kind = (SELECT e.kind FROM lifecycle_events e "
        "WHERE e.battery_id = ledger_heads.battery_id AND e.seq = ledger_heads.seq)"
    )


def downgrade() -> None:
    with op.batch_alter_table("ledger_heads") as batch:
        batch.drop_column("last_kind")
        batch.drop_column("first_occurred_at")
