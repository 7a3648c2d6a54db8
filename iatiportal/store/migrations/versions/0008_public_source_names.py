"""source files known by a public name; a private location only as a digest

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00

``source_file.path`` and ``problem.file_path`` held the absolute path of a file (or the URL as
given, tokens included), which pages, the API and the bulk snapshot published. They now hold
the public name (see ``iatiportal.ingest.sources.Source``); which file a row stands for is
``location_key``, the SHA-256 of its location, so nothing private is stored at all.
"""

import hashlib
from collections.abc import Sequence
from pathlib import PurePosixPath

import sqlalchemy as sa
from alembic import op

from iatiportal.ingest.sources import is_url, redact

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _public(path: str) -> tuple[str, str]:
    """(name, location key) of a row stored before this migration."""
    if is_url(path):
        name = redact(path)
        return name, hashlib.sha256(name.encode()).hexdigest()
    return PurePosixPath(path).name or path, hashlib.sha256(path.encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("source_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location_key", sa.String(), nullable=True))
        batch_op.drop_constraint("uq_source_file_path", type_="unique")
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, path FROM source_file")).all()
    for file_id, path in rows:
        name, key = _public(path)
        conn.execute(
            sa.text("UPDATE source_file SET path = :name, location_key = :key WHERE id = :id"),
            {"name": name, "key": key, "id": file_id},
        )
        conn.execute(
            sa.text("UPDATE problem SET file_path = :name WHERE source_file_id = :id"),
            {"name": name, "id": file_id},
        )
        # Duplicate-identifier messages name the file that won (another file's problem).
        conn.execute(
            sa.text("UPDATE problem SET message = replace(message, :path, :name)"),
            {"name": name, "path": path},
        )
    # Reference files are known by their names too (``reference.read_folder``).
    for (path,) in conn.execute(sa.text("SELECT DISTINCT source_file FROM reference_value")).all():
        conn.execute(
            sa.text("UPDATE reference_value SET source_file = :name WHERE source_file = :path"),
            {"name": PurePosixPath(path).name or path, "path": path},
        )
    with op.batch_alter_table("source_file", schema=None) as batch_op:
        batch_op.alter_column("location_key", existing_type=sa.String(), nullable=False)
        batch_op.create_unique_constraint("uq_source_file_location_key", ["location_key"])


def downgrade() -> None:
    with op.batch_alter_table("source_file", schema=None) as batch_op:
        batch_op.drop_constraint("uq_source_file_location_key", type_="unique")
        batch_op.drop_column("location_key")
        batch_op.create_unique_constraint("uq_source_file_path", ["path"])
