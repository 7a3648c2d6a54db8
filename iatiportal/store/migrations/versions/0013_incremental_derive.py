"""incremental refresh: what changed since the last refresh, and the links it follows

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 18:00:00

An ingest records the activity rows it stores and deletes in ``derive_pending`` (in its own
transaction), and the refresh that follows recomputes the derived tables for those activities
and the hierarchies they belong to (``store.facts``), following the links of ``activity_link``
as they were before the change. An existing store has no links yet: the next refresh rebuilds
everything (the row of NULLs asks for it), as ``iatiportal rebuild`` does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_link",
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("parent_id", "child_id", name=op.f("pk_activity_link")),
    )
    op.create_index("ix_activity_link_child", "activity_link", ["child_id"], unique=False)
    op.create_table(
        "derive_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("iati_identifier", sa.String(), nullable=True),
        sa.Column("reporting_org_ref", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_derive_pending")),
    )
    for table in ("money_total", "money_total_sector"):
        op.add_column(table, sa.Column("fact_count", sa.Integer(), nullable=True))
    op.execute(
        "INSERT INTO derive_pending (activity_id, iati_identifier, reporting_org_ref) "
        "SELECT NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM activity)"
    )


def downgrade() -> None:
    for table in ("money_total", "money_total_sector"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("fact_count")
    op.drop_table("derive_pending")
    op.drop_index("ix_activity_link_child", table_name="activity_link")
    op.drop_table("activity_link")
