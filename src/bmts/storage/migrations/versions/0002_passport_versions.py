"""Passport data versions: the static passport data of a battery as it was from a date on.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passport_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("battery_id", sa.String(200), sa.ForeignKey("batteries.id"), nullable=False),
        sa.Column("valid_from", sa.String(40), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("recorded_unix_second", sa.Float, nullable=False),
    )
    op.create_index("ix_passport_versions_battery", "passport_versions", ["battery_id", "valid_from"])
    # batteries registered before this migration keep their data in batteries.passport_data


def downgrade() -> None:
    op.drop_index("ix_passport_versions_battery", "passport_versions")
    op.drop_table("passport_versions")
