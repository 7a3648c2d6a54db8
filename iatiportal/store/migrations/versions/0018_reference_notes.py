"""reference values: a note for the unusual-but-possible, beside the refusal

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-01 17:45:00

The ``population-female-share`` rule refused real figures (Qatar, the UAE, Bahrain, Kuwait,
Oman, Saudi Arabia and the Maldives are outside 40-60 % female, issue 15): it now notes them
and they are shown. The values it refused become values shown with its note.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULE = "population-female-share"


def upgrade() -> None:
    with op.batch_alter_table("reference_value", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note_rule", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("note_message", sa.Text(), nullable=True))
    op.execute(
        sa.text(
            "UPDATE reference_value SET note_rule = refused_rule, note_message = "
            "refused_message, refused_rule = NULL, refused_message = NULL "
            "WHERE refused_rule = :rule"
        ).bindparams(rule=RULE)
    )


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE reference_value SET refused_rule = note_rule, refused_message = "
            "note_message WHERE note_rule = :rule AND refused_rule IS NULL"
        ).bindparams(rule=RULE)
    )
    with op.batch_alter_table("reference_value", schema=None) as batch_op:
        batch_op.drop_column("note_message")
        batch_op.drop_column("note_rule")
