"""the IATI Registry's publishers: their organisation identifiers, for rules 1.14.8 and 1.18.8

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 02:45:00

The rule set's rules 1.14.8 and 1.18.8 (a reporting-org identifier starts with a registration
agency prefix) spare the identifiers of publishers registered with the IATI Registry, as the
IATI Validator does. ``iatiportal registry publishers`` loads their identifiers here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_publisher",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_registry_publisher")),
    )


def downgrade() -> None:
    op.drop_table("registry_publisher")
