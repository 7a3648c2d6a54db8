"""money totals carry their group as one indexed text (group_key); disbursements are indexed
by the activity they go to

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 06:00:00

An incremental refresh found the groups of ``money_total`` and ``money_total_sector`` it
changes by comparing every dimension, an expression no index covered: each changed file read
the whole tables of totals twice (6.6 s of a 300-activity file's refresh in an 84,000-activity
PostgreSQL store, issue 14). ``group_key`` holds the dimensions as one text (see
``facts._group_key``), hash-indexed on PostgreSQL (no length limit; a B-tree refuses a key
longer than a third of a page). The existing totals get their keys here, with the expression a
refresh of this revision writes, so that no rebuild is needed.

An index on each column naming another activity (a transaction's provider and receiver
activity, a participating organisation's activity): the scope of an incremental refresh takes
in the activities that disburse to a changed identifier, and ``store.chains`` the links to and
from the changed identifiers; each read every transaction (and participating organisation).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIMENSIONS = (
    "reporting_org_ref", "measure", "year", "currency", "budget_status", "budget_superseded",
    "provider_org_ref", "provider_org_name", "receiver_org_ref", "receiver_org_name",
    "passed_on", "recipient_country_code", "recipient_region_code",
    "recipient_region_vocabulary", "converted_to", "rate_missing", "humanitarian",
)  # fmt: skip
_FLAGS = ("budget_superseded", "passed_on", "rate_missing", "humanitarian")
_TABLES = {"money_total": (), "money_total_sector": ("sector_vocabulary", "sector_code")}
_LINKS = (
    ("transaction", "provider_org_activity_id"),
    ("transaction", "receiver_org_activity_id"),
    ("participating_org", "org_activity_id"),
)


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


def upgrade() -> None:
    for table, extra in _TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("group_key", sa.Text(), nullable=True))
        op.execute(f"UPDATE {table} SET group_key = {_key([*_DIMENSIONS, *extra])}")  # noqa: S608
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("group_key", existing_type=sa.Text(), nullable=False)
            batch_op.create_index(
                f"ix_{table}_group_key", ["group_key"], unique=False, postgresql_using="hash"
            )
    for table, column in _LINKS:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # The planner's figures for the new column (without them it expects half of the
        # table to match any set of keys, and reads all of it).
        for table in _TABLES:
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for table, column in _LINKS:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_group_key")
            batch_op.drop_column("group_key")
