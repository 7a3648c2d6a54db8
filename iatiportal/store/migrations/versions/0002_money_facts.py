"""money facts: derived tables that iatiportal.store.facts.refresh rebuilds after ingest

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 15:13:59.757408
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import iatiportal.store.schema

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "money_fact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("reporting_org_ref", sa.String(), nullable=True),
        sa.Column("measure", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.Column("budget_status", sa.String(), nullable=True),
        sa.Column("budget_superseded", sa.Boolean(), nullable=False),
        sa.Column("provider_org_ref", sa.String(), nullable=True),
        sa.Column("provider_org_name", sa.Text(), nullable=True),
        sa.Column("recipient_country_code", sa.String(), nullable=True),
        sa.Column("recipient_region_code", sa.String(), nullable=True),
        sa.Column("recipient_region_vocabulary", sa.String(), nullable=True),
        sa.Column("transaction_sector_vocabulary", sa.String(), nullable=True),
        sa.Column("transaction_sector_code", sa.String(), nullable=True),
        sa.Column("value", iatiportal.store.schema.Exact(precision=24, scale=4), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_fact")),
    )
    with op.batch_alter_table("money_fact", schema=None) as batch_op:
        batch_op.create_index("ix_money_fact_activity", ["activity_id", "measure"], unique=False)
        batch_op.create_index(
            "ix_money_fact_country", ["recipient_country_code", "measure", "year"], unique=False
        )
        batch_op.create_index(
            "ix_money_fact_provider", ["provider_org_ref", "measure"], unique=False
        )
        batch_op.create_index(
            "ix_money_fact_region", ["recipient_region_code", "measure", "year"], unique=False
        )

    op.create_table(
        "money_fact_sector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("money_fact_id", sa.Integer(), nullable=False),
        sa.Column("sector_vocabulary", sa.String(), nullable=False),
        sa.Column("sector_code", sa.String(), nullable=False),
        sa.Column("value", iatiportal.store.schema.Exact(precision=24, scale=4), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_fact_sector")),
    )
    with op.batch_alter_table("money_fact_sector", schema=None) as batch_op:
        batch_op.create_index(
            "ix_money_fact_sector_code", ["sector_vocabulary", "sector_code"], unique=False
        )
        batch_op.create_index(
            "ix_money_fact_sector_fact", ["money_fact_id", "sector_vocabulary"], unique=False
        )

    op.create_table(
        "money_refresh",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("facts", sa.Integer(), nullable=False),
        sa.Column("sector_facts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_refresh")),
    )
    op.create_table(
        "money_total",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporting_org_ref", sa.String(), nullable=True),
        sa.Column("measure", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.Column("budget_status", sa.String(), nullable=True),
        sa.Column("budget_superseded", sa.Boolean(), nullable=False),
        sa.Column("provider_org_ref", sa.String(), nullable=True),
        sa.Column("provider_org_name", sa.Text(), nullable=True),
        sa.Column("recipient_country_code", sa.String(), nullable=True),
        sa.Column("recipient_region_code", sa.String(), nullable=True),
        sa.Column("recipient_region_vocabulary", sa.String(), nullable=True),
        sa.Column("value", iatiportal.store.schema.Exact(precision=24, scale=4), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_total")),
    )
    with op.batch_alter_table("money_total", schema=None) as batch_op:
        batch_op.create_index(
            "ix_money_total_country", ["recipient_country_code", "measure", "year"], unique=False
        )
        batch_op.create_index("ix_money_total_measure_year", ["measure", "year"], unique=False)
        batch_op.create_index(
            "ix_money_total_provider", ["provider_org_ref", "measure"], unique=False
        )
        batch_op.create_index(
            "ix_money_total_region", ["recipient_region_code", "measure", "year"], unique=False
        )

    op.create_table(
        "money_total_sector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporting_org_ref", sa.String(), nullable=True),
        sa.Column("measure", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.Column("budget_status", sa.String(), nullable=True),
        sa.Column("budget_superseded", sa.Boolean(), nullable=False),
        sa.Column("provider_org_ref", sa.String(), nullable=True),
        sa.Column("provider_org_name", sa.Text(), nullable=True),
        sa.Column("recipient_country_code", sa.String(), nullable=True),
        sa.Column("recipient_region_code", sa.String(), nullable=True),
        sa.Column("recipient_region_vocabulary", sa.String(), nullable=True),
        sa.Column("sector_vocabulary", sa.String(), nullable=False),
        sa.Column("sector_code", sa.String(), nullable=False),
        sa.Column("value", iatiportal.store.schema.Exact(precision=24, scale=4), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_total_sector")),
    )
    with op.batch_alter_table("money_total_sector", schema=None) as batch_op:
        batch_op.create_index(
            "ix_money_total_sector_code",
            ["sector_vocabulary", "sector_code", "measure", "year"],
            unique=False,
        )
        batch_op.create_index(
            "ix_money_total_sector_country",
            ["recipient_country_code", "sector_vocabulary"],
            unique=False,
        )

    op.create_table(
        "participating_funder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("reporting_org_ref", sa.String(), nullable=True),
        sa.Column("ref", sa.String(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("first_year", sa.Integer(), nullable=True),
        sa.Column("last_year", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participating_funder")),
    )
    with op.batch_alter_table("participating_funder", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participating_funder_activity_id"), ["activity_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("participating_funder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participating_funder_activity_id"))

    op.drop_table("participating_funder")
    with op.batch_alter_table("money_total_sector", schema=None) as batch_op:
        batch_op.drop_index("ix_money_total_sector_country")
        batch_op.drop_index("ix_money_total_sector_code")

    op.drop_table("money_total_sector")
    with op.batch_alter_table("money_total", schema=None) as batch_op:
        batch_op.drop_index("ix_money_total_region")
        batch_op.drop_index("ix_money_total_provider")
        batch_op.drop_index("ix_money_total_measure_year")
        batch_op.drop_index("ix_money_total_country")

    op.drop_table("money_total")
    op.drop_table("money_refresh")
    with op.batch_alter_table("money_fact_sector", schema=None) as batch_op:
        batch_op.drop_index("ix_money_fact_sector_fact")
        batch_op.drop_index("ix_money_fact_sector_code")

    op.drop_table("money_fact_sector")
    with op.batch_alter_table("money_fact", schema=None) as batch_op:
        batch_op.drop_index("ix_money_fact_region")
        batch_op.drop_index("ix_money_fact_provider")
        batch_op.drop_index("ix_money_fact_country")
        batch_op.drop_index("ix_money_fact_activity")

    op.drop_table("money_fact")
