"""search text of every script: CJK characters as words, Arabic without vowel marks

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:00:00

Both tokenizers took a run of Chinese characters as one word, so a word inside a sentence
was not found, and FTS5 broke vocalised Arabic words apart (issue 13). The search text is
now ``searchable`` (``store.search``'s docstring says how and why): the index definitions
stay, the text indexed before is rewritten here and SQLite's FTS5 index rebuilt from it.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from iatiportal.store.search import make_searchable

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    if make_searchable(conn, vector=False) and conn.dialect.name == "sqlite":
        conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))


def downgrade() -> None:
    # The separators go; the Arabic marks come back with the next ingest's rebuild.
    conn = op.get_bind()
    conn.execute(
        text("UPDATE search_text SET title = replace(title, :z, ''), body = replace(body, :z, '')"),
        {"z": "\u200b"},
    )
    if conn.dialect.name == "sqlite":
        conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
