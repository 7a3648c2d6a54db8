"""exchange rates, and money facts converted to USD and EUR

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = ("money_fact", "money_total", "money_total_sector")


def upgrade() -> None:
    op.create_table(
        "exchange_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("rate_date", sa.Date(), nullable=False),
        sa.Column("usd_per_unit", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rate")),
    )
    with op.batch_alter_table("exchange_rate", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_rate_currency_date", ["currency", "rate_date"], unique=True
        )
    for table in FACT_TABLES:
        # Emptied here and rebuilt by the next refresh (every ingest); names are constants.
        op.execute(f"DELETE FROM {table}")  # noqa: S608
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("converted_to", sa.String(), nullable=True))
            batch_op.add_column(
                sa.Column("rate_missing", sa.Boolean(), nullable=False, server_default=sa.false())
            )
    op.execute("DELETE FROM money_refresh")


def downgrade() -> None:
    for table in FACT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("rate_missing")
            batch_op.drop_column("converted_to")
    with op.batch_alter_table("exchange_rate", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_rate_currency_date")
    op.drop_table("exchange_rate")
