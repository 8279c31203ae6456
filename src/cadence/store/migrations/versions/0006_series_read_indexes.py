"""series read indexes: events and statements narrowed by lower(kind/source/target)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOWER = (
    ("ix_events_lower_kind", "events", "kind"),
    ("ix_events_lower_source", "events", "source"),
    ("ix_events_lower_target", "events", "target"),
    ("ix_statements_lower_source", "statements", "source"),
)


def upgrade() -> None:
    for name, table, column in LOWER:
        op.create_index(name, table, [sa.text(f"lower({column})")], unique=False)
    op.create_index("ix_events_source_date", "events", ["source", "date"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_source_date", table_name="events")
    for name, table, _ in reversed(LOWER):
        op.drop_index(name, table_name=table)
