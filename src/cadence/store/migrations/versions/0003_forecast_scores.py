"""forecast scores: served forecasts scored against the truth as it arrives

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("forecast_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("origin", sa.Date(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("truth", sa.Float(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("crps", sa.Float(), nullable=False),
        sa.Column("log_score", sa.Float(), nullable=False),
        sa.Column("coverage_50", sa.Float(), nullable=False),
        sa.Column("coverage_80", sa.Float(), nullable=False),
        sa.Column("coverage_95", sa.Float(), nullable=False),
        sa.Column("pit", sa.Float(), nullable=False),
        sa.Column("baseline_crps", sa.Float(), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("previous_truth", sa.Float(), nullable=True),
        sa.Column("previous_crps", sa.Float(), nullable=True),
        sa.Column("revisions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_forecast_scores_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_scores")),
        sa.UniqueConstraint(
            "forecast_id", "target", "start", "span", name="uq_forecast_scores_key"
        ),
    )
    with op.batch_alter_table("forecast_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forecast_scores_forecast_id"), ["forecast_id"], unique=False
        )
        batch_op.create_index(
            "ix_forecast_scores_series_start", ["series_id", "start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("forecast_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_forecast_scores_series_start")
        batch_op.drop_index(batch_op.f("ix_forecast_scores_forecast_id"))
    op.drop_table("forecast_scores")
