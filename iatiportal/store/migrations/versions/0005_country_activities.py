"""activities per recipient country, counted at each refresh of the money facts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "country_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporting_org_ref", sa.String(), nullable=True),
        sa.Column("recipient_country_code", sa.String(), nullable=False),
        sa.Column("activities", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_country_activities")),
    )
    # Existing stores get their counts at the next refresh of the money facts (every ingest).
    op.execute("DELETE FROM money_refresh")


def downgrade() -> None:
    op.drop_table("country_activities")
