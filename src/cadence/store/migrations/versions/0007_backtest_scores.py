"""backtest scores kept between retrains (a cache keyed by series, settings, model, origin)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 23:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backtest_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=255), nullable=False),
        sa.Column("settings", sa.String(length=128), nullable=False),
        sa.Column("model_key", sa.String(length=512), nullable=False),
        sa.Column("origin", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_scores")),
        sa.UniqueConstraint(
            "series", "settings", "model_key", "origin", name="uq_backtest_scores_key"
        ),
    )


def downgrade() -> None:
    op.drop_table("backtest_scores")
