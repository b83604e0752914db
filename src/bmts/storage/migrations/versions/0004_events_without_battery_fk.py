"""Lifecycle events lose their foreign key to batteries: bulk appends on PostgreSQL ran at half speed.

The per-row check of that key locks the battery's row (one write and one WAL record per event). Appends
already require the battery's ledger head, which keeps its foreign key to batteries, and `verify`
refuses events of a battery without a head. SQLite copies the table to drop the key (a one-off).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
FK_EVENTS_BATTERY = "fk_lifecycle_events_battery_id_batteries"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE lifecycle_events DROP CONSTRAINT IF EXISTS {FK_EVENTS_BATTERY}")
        return
    names = {fk["name"] for fk in sa.inspect(op.get_bind()).get_foreign_keys("lifecycle_events")}
    if FK_EVENTS_BATTERY in names:
        with op.batch_alter_table("lifecycle_events") as batch:
            batch.drop_constraint(FK_EVENTS_BATTERY, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("lifecycle_events") as batch:
        batch.create_foreign_key(FK_EVENTS_BATTERY, "batteries", ["battery_id"], ["id"])
