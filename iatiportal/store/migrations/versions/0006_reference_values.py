"""reference indicators of countries (income group, LDC, GII, GDI, population by sex)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import iatiportal.store.schema

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reference_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(), nullable=False),
        sa.Column("indicator", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("number", iatiportal.store.schema.Exact(precision=24, scale=4), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("edition", sa.String(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("refused_rule", sa.String(), nullable=True),
        sa.Column("refused_message", sa.Text(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_value")),
    )
    with op.batch_alter_table("reference_value", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reference_value_country", ["country_code", "indicator", "year"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reference_value", schema=None) as batch_op:
        batch_op.drop_index("ix_reference_value_country")
    op.drop_table("reference_value")
