"""activity_implementer: each activity's implementing partners, counted once per ingest

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 15:05:00

A page's implementing partners read every disbursement and expenditure of its activities and
looked up the first name of each receiver: one country of a 200,000-activity PostgreSQL store
took 350 ms of its page's 510 (issue 14). The counts per activity, role, ref, first name and
year are now kept by the refresh (store.facts._implementers); they are filled here with the
SQL of this revision, so that no rebuild is needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_implementer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_implementer")),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    when = "COALESCE(t.transaction_date, t.value_date)"
    year = (
        f"CAST(substr({when}, 1, 4) AS INTEGER)"
        if sqlite
        else f"CAST(EXTRACT(YEAR FROM {when}) AS INTEGER)"
    )
    op.execute(
        f"""INSERT INTO activity_implementer (activity_id, role, ref, name, year, n)
        SELECT activity_id, role, ref, name, year, COUNT(*) FROM (
            SELECT po.activity_id, 'participating-org' AS role, po.ref,
                   (SELECT n.text FROM narrative n
                    WHERE n.element = 'participating-org' AND n.owner_id = po.id
                    ORDER BY n.id LIMIT 1) AS name,
                   CAST(NULL AS INTEGER) AS year
            FROM participating_org po JOIN activity a ON a.id = po.activity_id
            WHERE a.is_current = TRUE AND po.role = '4'
            UNION ALL
            SELECT t.activity_id, 'receiver-org', t.receiver_org_ref,
                   (SELECT n.text FROM narrative n
                    WHERE n.element = 'transaction/receiver-org' AND n.owner_id = t.id
                    ORDER BY n.id LIMIT 1),
                   {year}
            FROM "transaction" t JOIN activity a ON a.id = t.activity_id
            WHERE a.is_current = TRUE AND t.transaction_type IN ('3', '4')
        ) named
        WHERE ref IS NOT NULL OR name <> ''
        GROUP BY activity_id, role, ref, name, year"""  # noqa: S608 - constant SQL
    )
    op.create_index(
        op.f("ix_activity_implementer_activity_id"),
        "activity_implementer",
        ["activity_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_activity_implementer_activity_id"), table_name="activity_implementer")
    op.drop_table("activity_implementer")
