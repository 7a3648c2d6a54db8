"""country counts by difference (activity_country); an index on every foreign key column

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-01 20:40:00

``country_activities`` was recounted, after each ingest, over every activity of the reporting
organisations a changed file touched (at registry scale, a whole publisher for one changed
file). ``activity_country`` keeps what the last refresh counted, one row per activity and
country, so that an incremental refresh takes the changed activities' rows away and adds their
new ones (issue 14). An existing store has none yet: the next refresh rebuilds everything (the
row of NULLs asks for it), as ``iatiportal rebuild`` does.

Also an index on each foreign key column that had none: deleting a file's document links (or
indicators) read the whole table of their categories and languages (or references) once per
deleted row on PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_FOREIGN_KEYS = (
    ("document_link_category", "document_link_id"),
    ("document_link_language", "document_link_id"),
    ("indicator_reference", "indicator_id"),
)


def upgrade() -> None:
    op.create_table(
        "activity_country",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("recipient_country_code", sa.String(), nullable=False),
        sa.Column("reporting_org_ref", sa.String(), nullable=True),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "activity_id", "recipient_country_code", name=op.f("pk_activity_country")
        ),
    )
    op.create_index(
        "ix_activity_country_org_country",
        "activity_country",
        ["recipient_country_code", "reporting_org_ref"],
        unique=False,
    )
    for table, column in _FOREIGN_KEYS:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
    op.execute(
        "INSERT INTO derive_pending (activity_id, iati_identifier, reporting_org_ref) "
        "SELECT NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM activity)"
    )


def downgrade() -> None:
    for table, column in _FOREIGN_KEYS:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    op.drop_index("ix_activity_country_org_country", table_name="activity_country")
    op.drop_table("activity_country")
