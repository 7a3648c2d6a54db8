"""narratives indexed by activity and element

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-01 18:00:00

Pages read the titles (or descriptions) of a page of activities with ``activity_id IN (...)
AND element = ?``. With an index on ``activity_id`` alone beside ``(element, owner_id)``,
SQLite chose the latter and read every title of the store for each list page (93 to 218 ms
per query on the store of all shared files, issue 14). ``(activity_id, element)`` answers both
and still serves every lookup by activity (the deletes of an activity's rows), so it replaces
the index on ``activity_id``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("narrative", schema=None) as batch_op:
        batch_op.create_index(
            "ix_narrative_activity_element", ["activity_id", "element"], unique=False
        )
        batch_op.drop_index(batch_op.f("ix_narrative_activity_id"))


def downgrade() -> None:
    with op.batch_alter_table("narrative", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_narrative_activity_id"), ["activity_id"], unique=False)
        batch_op.drop_index("ix_narrative_activity_element")
