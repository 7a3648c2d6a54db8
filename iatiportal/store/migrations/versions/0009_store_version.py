"""one store version, raised by every writer

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00

Pages and ETags followed a version computed from ``source_file`` and ``money_refresh``, which
``reference load`` never changed (a running server kept the old country header and answered
304 for it). Every writer now raises ``store_version.version`` in its transaction; a store
that holds data when migrated starts at version 1.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "store_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_store_version_one_row"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_version")),
    )
    conn = op.get_bind()
    # A store that holds anything starts at version 1. An empty one (a new store, or the copy
    # that snapshot._copy_to_sqlite fills with the rows of another) has no row until its
    # first writer (``version.bump``), so a copy takes its source's row as it is.
    held = any(
        conn.execute(sa.text(f"SELECT 1 FROM {name} LIMIT 1")).first()  # noqa: S608 - constants
        for name in ("source_file", "reference_value", "exchange_rate")
    )
    if held:
        # In UTC, as every time the store keeps (PostgreSQL's CURRENT_TIMESTAMP is local).
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        op.bulk_insert(table, [{"id": 1, "version": 1, "content_version": 1, "changed_at": now}])


def downgrade() -> None:
    op.drop_table("store_version")
