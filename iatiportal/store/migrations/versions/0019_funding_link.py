"""funding links: activities linked across publishers, with each side's evidence

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 20:30:00

``funding_link`` is derived from the stored transactions, participating organisations and
related activities (``store.chains``, issue 15). An existing store has none yet: the next
refresh rebuilds everything (the row of NULLs asks for it), as ``iatiportal rebuild`` does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from iatiportal.store.schema import Exact

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "funding_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("funder_identifier", sa.String(), nullable=False),
        sa.Column("funded_identifier", sa.String(), nullable=False),
        sa.Column("funder_activity_id", sa.Integer(), nullable=True),
        sa.Column("funded_activity_id", sa.Integer(), nullable=True),
        sa.Column("funder_reporting_org_ref", sa.String(), nullable=True),
        sa.Column("funded_reporting_org_ref", sa.String(), nullable=True),
        sa.Column("evidence", sa.String(), nullable=False),
        sa.Column("funder_measure", sa.String(), nullable=True),
        sa.Column("funder_value", Exact(), nullable=True),
        sa.Column("funder_currency", sa.String(), nullable=True),
        sa.Column("funder_value_usd", Exact(), nullable=True),
        sa.Column("funder_transactions", sa.Integer(), nullable=False),
        sa.Column("funded_value", Exact(), nullable=True),
        sa.Column("funded_currency", sa.String(), nullable=True),
        sa.Column("funded_value_usd", Exact(), nullable=True),
        sa.Column("funded_transactions", sa.Integer(), nullable=False),
        sa.Column("amounts_agree", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_link")),
    )
    for column in (
        "funder_identifier",
        "funded_identifier",
        "funder_reporting_org_ref",
        "funded_reporting_org_ref",
    ):
        op.create_index(op.f(f"ix_funding_link_{column}"), "funding_link", [column], unique=False)
    op.execute(
        "INSERT INTO derive_pending (activity_id, iati_identifier, reporting_org_ref) "
        "SELECT NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM activity)"
    )


def downgrade() -> None:
    for column in (
        "funder_identifier",
        "funded_identifier",
        "funder_reporting_org_ref",
        "funded_reporting_org_ref",
    ):
        op.drop_index(op.f(f"ix_funding_link_{column}"), table_name="funding_link")
    op.drop_table("funding_link")
