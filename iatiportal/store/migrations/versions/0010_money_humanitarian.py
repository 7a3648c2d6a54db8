"""money facts marked development or humanitarian

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:30:00

Every money fact carries ``humanitarian``: the transaction's flag, else its activity's (budgets:
the activity's), NULL where neither says (the money rules in ``store/money.py``). The facts of
a store migrated here are emptied and rebuilt by the next refresh (every ingest), as in 0007:
they cannot be split by a flag they did not keep. The store's version is left as it is: the
refresh raises it, and until then a page kept from the old facts is still right.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = ("money_fact", "money_total", "money_total_sector")


def upgrade() -> None:
    # Sector shares point at the facts by id: emptied with them. Names are constants.
    op.execute("DELETE FROM money_fact_sector")
    for table in FACT_TABLES:
        op.execute(f"DELETE FROM {table}")  # noqa: S608
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("humanitarian", sa.Boolean(), nullable=True))
    op.execute("DELETE FROM money_refresh")


def downgrade() -> None:
    for table in FACT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("humanitarian")
