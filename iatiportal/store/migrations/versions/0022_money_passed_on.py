"""money facts mark the disbursements passed on to an activity we hold

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 02:40:00

Every money fact carries ``passed_on``: a disbursement whose receiver-activity-id is a current
activity we hold that reports its own disbursements or expenditure. Under a profile that
counts disbursements as expenditure such a disbursement is not counted as expenditure: the
money is counted where it is spent, once (issue 15). The facts of a store migrated here are
emptied and rebuilt by the next refresh, as in 0020. The store's version is left as it is:
the refresh raises it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = ("money_fact", "money_total", "money_total_sector")


def upgrade() -> None:
    # Sector shares point at the facts by id: emptied with them. Names are constants.
    op.execute("DELETE FROM money_fact_sector")
    for table in FACT_TABLES:
        op.execute(f"DELETE FROM {table}")  # noqa: S608
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("passed_on", sa.Boolean(), nullable=False, server_default=sa.false())
            )
    op.execute("DELETE FROM money_refresh")
    # The next refresh rebuilds everything (the emptied facts are not a change it would see).
    op.execute(
        "INSERT INTO derive_pending (activity_id, iati_identifier, reporting_org_ref) "
        "SELECT NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM activity)"
    )


def downgrade() -> None:
    for table in FACT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("passed_on")
