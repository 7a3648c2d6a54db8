"""transaction_provider_index: the transactions that name a provider, by provider and type

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 21:50:00

A funding partner's page selects the activities it funds: its participating-org entries of
role 1 and its incoming funds (store.filters). The incoming funds were found by transaction
type only, so every incoming transaction of the store was read for each partner's page
(issue 14). The index holds only the transactions that name a provider.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_transaction_provider_org_ref",
        "transaction",
        ["provider_org_ref", "transaction_type"],
        sqlite_where=sa.text("provider_org_ref IS NOT NULL"),
        postgresql_where=sa.text("provider_org_ref IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ANALYZE "transaction"')


def downgrade() -> None:
    op.drop_index("ix_transaction_provider_org_ref", table_name="transaction")
