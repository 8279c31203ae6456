"""SQLAlchemy tables. Classes are *tables* or *rows*, never "models" (that word means
forecasting models here).

Natural keys make re-ingesting the same file a no-op: events and statements are keyed by
``(source, source_id)``; observations by ``(series_id, period_start, period_end, source)``.
Extra input columns are kept in ``extra``: a JSON object encoded as text (encoded once
per chunk on ingest, so a million rows stay fast). Every row keeps ``ingested_at``
(first stored) and ``updated_at`` (last changed) in UTC, and a ``content_hash`` of its
normalized content so an unchanged row is recognised without comparing field by field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class EventRow(Base):
    """One dated occurrence (an attack, a retaliation strike, ...)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_events_source_key"),
        Index("ix_events_date_kind", "date", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    time: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    theatre: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(128))
    admin1: Mapped[str | None] = mapped_column(String(256))
    location: Mapped[str | None] = mapped_column(String(512))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str | None] = mapped_column(String(512))
    target: Mapped[str | None] = mapped_column(String(512))
    weapon: Mapped[str | None] = mapped_column(String(256))
    fatalities: Mapped[int | None] = mapped_column(Integer)
    injuries: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(256), nullable=False)
    source_id: Mapped[str] = mapped_column(String(256), nullable=False)
    extra: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class StatementRow(Base):
    """Dated text by a group, with a stance coded by an analyst or by the extractor."""

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_statements_source_key"),
        Index("ix_statements_date", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    actor: Mapped[str | None] = mapped_column(String(512))
    language: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    stance: Mapped[str | None] = mapped_column(String(16))
    stance_source: Mapped[str | None] = mapped_column(String(16))
    extractor_version: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(256), nullable=False)
    source_id: Mapped[str] = mapped_column(String(256), nullable=False)
    extra: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class SeriesRow(Base):
    """A named forecast target. ``definition`` is the catalog entry (target and drivers)."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False, unique=True)
    frequency: Mapped[str] = mapped_column(String(1), nullable=False)
    observed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ObservationRow(Base):
    """Counts that arrive aggregated: a total over ``[period_start, period_end)``."""

    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint(
            "series_id", "period_start", "period_end", "source", name="uq_observations_key"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), nullable=False, index=True
    )
    period_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    period_end: Mapped[dt.date] = mapped_column(Date, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(256), nullable=False)
    extra: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ForecastRow(Base):
    """A forecast written for serving: summaries in ``payload`` (JSON, the API body),
    sample paths in ``samples`` (compressed ``.npy`` bytes, int64 n_samples x horizon)."""

    __tablename__ = "forecasts"
    __table_args__ = (
        Index("ix_forecasts_series_kind_generated", "series_id", "kind", "generated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="champion")
    origin: Mapped[dt.date] = mapped_column(Date, nullable=False)
    horizon: Mapped[int] = mapped_column(Integer, nullable=False)
    generated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    model_name: Mapped[str] = mapped_column(String(128), nullable=False)
    model_version: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    samples: Mapped[bytes | None] = mapped_column(LargeBinary)


class ScoreRow(Base):
    """The score of one stored forecast on one target whose truth is known: a period
    (``target == "period"``, ``span`` 1) or a window total over the first ``span``
    periods (``target == "window"``, ``days`` long). ``forecast_id`` is not a foreign key:
    scores outlive the pruning of old forecast rows. A rescore that changes the truth or
    the CRPS keeps the previous values, ``changed_at`` and a ``revisions`` count."""

    __tablename__ = "forecast_scores"
    __table_args__ = (
        UniqueConstraint("forecast_id", "target", "start", "span", name="uq_forecast_scores_key"),
        Index("ix_forecast_scores_series_start", "series_id", "start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    forecast_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    model_name: Mapped[str] = mapped_column(String(128), nullable=False)
    model_version: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[dt.date] = mapped_column(Date, nullable=False)
    generated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    target: Mapped[str] = mapped_column(String(8), nullable=False)
    start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    span: Mapped[int] = mapped_column(Integer, nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    horizon: Mapped[int] = mapped_column(Integer, nullable=False)
    truth: Mapped[float] = mapped_column(Float, nullable=False)
    mean: Mapped[float] = mapped_column(Float, nullable=False)
    crps: Mapped[float] = mapped_column(Float, nullable=False)
    log_score: Mapped[float] = mapped_column(Float, nullable=False)
    coverage_50: Mapped[float] = mapped_column(Float, nullable=False)
    coverage_80: Mapped[float] = mapped_column(Float, nullable=False)
    coverage_95: Mapped[float] = mapped_column(Float, nullable=False)
    pit: Mapped[float] = mapped_column(Float, nullable=False)
    baseline_crps: Mapped[float | None] = mapped_column(Float)
    scored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    previous_truth: Mapped[float | None] = mapped_column(Float)
    previous_crps: Mapped[float | None] = mapped_column(Float)
    revisions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class RowVersionRow(Base):
    """A replaced version of an event, statement or observation row: its stored columns
    (``content``, JSON text with ISO dates) as they were from ``valid_from`` (the row's
    ``updated_at`` then) until ``valid_to`` (the ingest that changed it). Reads as of an
    instant (``known_at``) put these values back, so a replay sees a corrected row as it
    was before the correction."""

    __tablename__ = "row_versions"
    __table_args__ = (Index("ix_row_versions_table_row", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(32), nullable=False)
    row_id: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    valid_to: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class JobRow(Base):
    """A unit of background work (retrain, backtest). At most one running job per
    ``(kind, series)``: enforced by a partial unique index, so two retrains of one series
    never run at once, whichever process starts them. A running job holds a lease:
    ``heartbeat_at`` is renewed while its process lives (``cadence.store.job_lease``)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_one_running",
            "kind",
            "series",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    series: Mapped[str] = mapped_column(String(256), nullable=False, default="*")
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is stored; ``prefix`` (public) finds the row.
    ``scopes`` is a comma-separated subset of ``read,write,admin``."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    scopes: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BacktestScoreRow(Base):
    """The scores of one model configuration (``model_key``) at one backtest origin of a
    series, kept so the next retrain need not fit that pair again
    (``cadence.experiments.score_cache``): valid while ``fingerprint`` matches the data
    and ``settings`` (horizon, paths, seed, code version) the run's. ``payload`` is JSON
    text. A cache: deleting rows loses nothing but time."""

    __tablename__ = "backtest_scores"
    __table_args__ = (
        UniqueConstraint(
            "series", "settings", "model_key", "origin", name="uq_backtest_scores_key"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series: Mapped[str] = mapped_column(String(255), nullable=False)
    settings: Mapped[str] = mapped_column(String(128), nullable=False)
    model_key: Mapped[str] = mapped_column(String(512), nullable=False)
    origin: Mapped[dt.date] = mapped_column(Date, nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


events_table = cast(Table, EventRow.__table__)
statements_table = cast(Table, StatementRow.__table__)
series_table = cast(Table, SeriesRow.__table__)
observations_table = cast(Table, ObservationRow.__table__)
forecasts_table = cast(Table, ForecastRow.__table__)
jobs_table = cast(Table, JobRow.__table__)
api_keys_table = cast(Table, ApiKeyRow.__table__)
scores_table = cast(Table, ScoreRow.__table__)
row_versions_table = cast(Table, RowVersionRow.__table__)
backtest_scores_table = cast(Table, BacktestScoreRow.__table__)

# Reads of one series narrow rows by ``lower(column) IN (...)`` (``store.row_filters``)
# and find where each source ends (``store.feed_ends``): these indexes serve both, so a
# read costs the series' own rows, not the table (migration 0006).
Index("ix_events_lower_kind", func.lower(events_table.c.kind))
Index("ix_events_lower_source", func.lower(events_table.c.source))
Index("ix_events_lower_target", func.lower(events_table.c.target))
Index("ix_events_source_date", events_table.c.source, events_table.c.date)
Index("ix_statements_lower_source", func.lower(statements_table.c.source))
