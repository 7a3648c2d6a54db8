"""years of each activity's money, for the search's Year facet

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_year",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", "year", name=op.f("pk_activity_year")),
    )
    with op.batch_alter_table("activity_year", schema=None) as batch_op:
        batch_op.create_index("ix_activity_year_year", ["year"], unique=False)
    # Existing stores get their years at the next refresh of the money facts (every ingest).
    op.execute("DELETE FROM money_refresh")


def downgrade() -> None:
    with op.batch_alter_table("activity_year", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_year_year")
    op.drop_table("activity_year")
