"""money summaries: the totals summed over the provider and receiver organisations

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 15:30:00

``money_total`` groups the facts by every dimension, the transaction's receiver included, and
receivers are nearly as many as transactions: a country's totals by year read about a row per
fact (2,700 rows for one country of an 18,000-activity store; 30,000 at 200,000 activities,
issue 14). ``money_summary`` and ``money_summary_sector`` are the same sums without the
provider and receiver organisations, what the questions that name neither read. They are
filled here from the totals, with the group keys a refresh of this revision writes, so that no
rebuild is needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import iatiportal.store.schema

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIMENSIONS = (
    "reporting_org_ref", "measure", "year", "currency", "budget_status", "budget_superseded",
    "passed_on", "recipient_country_code", "recipient_region_code",
    "recipient_region_vocabulary", "converted_to", "rate_missing", "humanitarian",
)  # fmt: skip
_FLAGS = ("budget_superseded", "passed_on", "rate_missing", "humanitarian")
_SECTOR = ("sector_vocabulary", "sector_code")
_TABLES = {
    "money_summary": ("money_total", ()),
    "money_summary_sector": ("money_total_sector", _SECTOR),
}


def _key(columns: Sequence[str]) -> str:
    """facts._group_key as of this revision."""
    parts = []
    for col in columns:
        if col in _FLAGS:
            parts.append(f"CASE WHEN {col} IS NULL THEN '-' WHEN {col} THEN '1' ELSE '0' END")
            continue
        value = f"CAST({col} AS VARCHAR)" if col == "year" else col
        parts.append(f"CASE WHEN {col} IS NULL THEN '-' ELSE length({value}) || ':' || {value} END")
    return " || ".join(parts)


def _columns(extra: Sequence[str]) -> list[sa.Column[object]]:
    flags = {"budget_superseded", "passed_on", "rate_missing"}
    columns: list[sa.Column[object]] = [sa.Column("id", sa.Integer(), nullable=False)]
    for name in _DIMENSIONS:
        if name in flags:
            columns.append(sa.Column(name, sa.Boolean(), nullable=False))
        elif name == "humanitarian":
            columns.append(sa.Column(name, sa.Boolean(), nullable=True))
        elif name == "year":
            columns.append(sa.Column(name, sa.Integer(), nullable=True))
        else:
            columns.append(sa.Column(name, sa.String(), nullable=name != "measure"))
    columns += [sa.Column(name, sa.String(), nullable=False) for name in extra]
    columns += [
        sa.Column("value", iatiportal.store.schema.Exact(precision=24, scale=4), nullable=False),
        sa.Column("fact_count", sa.Integer(), nullable=True),
        sa.Column("group_key", sa.Text(), nullable=False),
    ]
    return columns


def upgrade() -> None:
    for table, (source, extra) in _TABLES.items():
        op.create_table(
            table, *_columns(extra), sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))
        )
        grouped = ", ".join([*_DIMENSIONS, *extra])
        op.execute(
            f"INSERT INTO {table} ({grouped}, group_key, value, fact_count) "  # noqa: S608
            f"SELECT {grouped}, {_key([*_DIMENSIONS, *extra])}, SUM(value), SUM(fact_count) "
            f"FROM {source} GROUP BY {grouped}"
        )
    with op.batch_alter_table("money_summary", schema=None) as batch_op:
        batch_op.create_index(
            "ix_money_summary_country", ["recipient_country_code", "measure", "year"], unique=False
        )
        batch_op.create_index("ix_money_summary_measure_year", ["measure", "year"], unique=False)
        batch_op.create_index(
            "ix_money_summary_region", ["recipient_region_code", "measure", "year"], unique=False
        )
        batch_op.create_index(
            "ix_money_summary_group_key", ["group_key"], unique=False, postgresql_using="hash"
        )
    with op.batch_alter_table("money_summary_sector", schema=None) as batch_op:
        batch_op.create_index(
            "ix_money_summary_sector_code",
            ["sector_vocabulary", "sector_code", "measure", "year"],
            unique=False,
        )
        batch_op.create_index(
            "ix_money_summary_sector_country",
            ["recipient_country_code", "sector_vocabulary"],
            unique=False,
        )
        batch_op.create_index(
            "ix_money_summary_sector_group_key",
            ["group_key"],
            unique=False,
            postgresql_using="hash",
        )
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for table in reversed(list(_TABLES)):
        op.drop_table(table)
