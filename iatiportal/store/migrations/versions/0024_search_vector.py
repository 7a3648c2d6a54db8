"""PostgreSQL: each search text row's tsvector stored (search_text.vector), GIN-indexed

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 02:30:00

PostgreSQL computed the tsvector of every matching row from its text at query time, to match
and again to rank: a common word, which the GIN index on that expression cannot narrow (it is
in nearly every row), took 4.3 s on 20,000 activities. The vector is now written with the row
(``store.search.VECTOR``); the index ix_search_text_tsv is made again on the column instead of
the expression. SQLite gets the column too, left NULL (its FTS5 table is the index there).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import iatiportal.store.schema
from iatiportal.store.search import VECTOR

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXPRESSION = VECTOR.format("title", "body")


def upgrade() -> None:
    op.add_column(
        "search_text",
        sa.Column("vector", iatiportal.store.schema.SearchVector(), nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_text_tsv")
        op.execute(f"UPDATE search_text SET vector = {_EXPRESSION}")  # noqa: S608 - constants
        op.execute("CREATE INDEX ix_search_text_tsv ON search_text USING GIN (vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_text_tsv")
        op.execute(f"CREATE INDEX ix_search_text_tsv ON search_text USING GIN ({_EXPRESSION})")
    with op.batch_alter_table("search_text") as batch:
        batch.drop_column("vector")
