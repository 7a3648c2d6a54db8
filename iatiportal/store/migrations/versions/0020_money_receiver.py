"""money facts name the receiver of commitments, disbursements and expenditure

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-01 21:20:00

Every money fact carries ``receiver_org_ref`` and ``receiver_org_name`` (the transaction's
receiver-org @ref and first narrative), as it carries the provider of incoming funds: the flow
of funds draws what the home publisher spent with each implementing partner (issue 15). The
facts of a store migrated here are emptied and rebuilt by the next refresh, as in 0010: they
cannot be split by a receiver they did not keep. The store's version is left as it is: the
refresh raises it, and until then a page kept from the old facts is still right.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = ("money_fact", "money_total", "money_total_sector")


def upgrade() -> None:
    # Sector shares point at the facts by id: emptied with them. Names are constants.
    op.execute("DELETE FROM money_fact_sector")
    for table in FACT_TABLES:
        op.execute(f"DELETE FROM {table}")  # noqa: S608
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("receiver_org_ref", sa.String(), nullable=True))
            batch_op.add_column(sa.Column("receiver_org_name", sa.Text(), nullable=True))
    op.execute("DELETE FROM money_refresh")
    # The next refresh rebuilds everything (the emptied facts are not a change it would see).
    op.execute(
        "INSERT INTO derive_pending (activity_id, iati_identifier, reporting_org_ref) "
        "SELECT NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM activity)"
    )


def downgrade() -> None:
    for table in FACT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("receiver_org_name")
            batch_op.drop_column("receiver_org_ref")
