"""what a refresh remembers of each URL: validators for conditional GET, digest, dataset

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-01 17:30:00

``iatiportal refresh`` (issue 14, point 5) sends a publisher's server the ETag and
Last-Modified it answered last time, skips a body whose digest it has seen, and removes a
file once the IATI Registry no longer lists its dataset; ``refresh_source`` keeps those,
one row per URL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refresh_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_key", sa.String(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("publisher", sa.String(), nullable=True),
        sa.Column("dataset", sa.String(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_source")),
        sa.UniqueConstraint("location_key", name=op.f("uq_refresh_source_location_key")),
    )


def downgrade() -> None:
    op.drop_table("refresh_source")
