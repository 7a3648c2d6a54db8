"""source_file.mtime_ns: a local file found with the size and modification time it had when
last read is unchanged without reading it again

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 03:00:00

An unchanged re-ingest hashed the whole file to find it unchanged: 0.15-0.3 s of the 69 MB
benchmark file's re-ingest, most of the command after start-up (issue 14). NULL (an existing
row, a URL's download) means the file is hashed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN in place on both databases (a batch would copy the table, which the foreign
    # keys into source_file forbid on SQLite).
    op.add_column("source_file", sa.Column("mtime_ns", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # In place too (SQLite 3.35 and later drop a column without copying the table).
    op.execute("ALTER TABLE source_file DROP COLUMN mtime_ns")
