"""row versions: corrected events, statements and observations keep their earlier values

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "row_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_row_versions")),
    )
    with op.batch_alter_table("row_versions", schema=None) as batch_op:
        batch_op.create_index("ix_row_versions_table_row", ["table_name", "row_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("row_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_row_versions_table_row")
    op.drop_table("row_versions")
