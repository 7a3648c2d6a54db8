"""Alembic environment: runs on the connection that iatiportal.store.db passes in."""

from alembic import context

from iatiportal.store.schema import metadata

# Full-text indexes that SQLAlchemy cannot describe: SQLite's FTS5 table (and its shadow
# tables), made by migration 0003, and PostgreSQL's GIN index (migration 0024).
FULL_TEXT = ("search_fts", "ix_search_text_tsv")


def include_object(
    obj: object, name: str | None, kind: str, reflected: bool, compare_to: object
) -> bool:
    return not (name or "").startswith(FULL_TEXT)


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite can only ALTER through table copies
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
