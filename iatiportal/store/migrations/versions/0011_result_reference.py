"""result references, and each activity's descendants for rolled-up money

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 15:00:00

``result_reference`` holds IATI 2.03 ``result/reference`` (vocabulary, code, vocabulary-uri):
a profile's ``[results] activity_vocabulary`` reads such a code as the activity that carries
the result's budget and expenditure. ``activity_descendant`` keeps the parent and child
closure that the money refresh computes, so that the money of an activity asked for by name is
its own and its descendants'. Stores ingested before get no references until their files are
ingested again (``iatiportal ingest --force``), and their closure at the next money refresh.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "result_reference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("vocabulary", sa.String(), nullable=True),
        sa.Column("code", sa.String(), nullable=True),
        sa.Column("vocabulary_uri", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_result_reference_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["result.id"],
            name=op.f("fk_result_reference_result_id_result"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_reference")),
    )
    with op.batch_alter_table("result_reference", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_result_reference_activity_id"), ["activity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_result_reference_result_id"), ["result_id"], unique=False
        )
    op.create_table(
        "activity_descendant",
        sa.Column("ancestor_id", sa.Integer(), nullable=False),
        sa.Column("descendant_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "ancestor_id", "descendant_id", name=op.f("pk_activity_descendant")
        ),
    )
    with op.batch_alter_table("activity_descendant", schema=None) as batch_op:
        batch_op.create_index("ix_activity_descendant_descendant", ["descendant_id"], unique=False)
    # Existing stores get their closure at the next refresh of the money facts (every ingest).
    op.execute("DELETE FROM money_refresh")


def downgrade() -> None:
    with op.batch_alter_table("activity_descendant", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_descendant_descendant")
    op.drop_table("activity_descendant")
    with op.batch_alter_table("result_reference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_result_reference_result_id"))
        batch_op.drop_index(batch_op.f("ix_result_reference_activity_id"))
    op.drop_table("result_reference")
