"""Write endpoints: batches of events, statements and counts, all-or-nothing, idempotent.

A batch is validated whole before anything is written (one transaction); invalid rows
come back as 422 with ``row`` (1-based within the batch), ``field``, ``expected`` and
``got``. Re-posting the same batch changes nothing. Requires a key with ``write``. New counts
(or events) put the series whose served forecasts they may hold the truth of, and only
those, on the bounded, debounced rescoring queue (``cadence.service.rescore_queue``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from cadence.features.counts import check_observations
from cadence.features.stance import resolve_stances
from cadence.service.accuracy.rescoring import series_touched_by_events, series_with_forecasts
from cadence.service.api.auth import WriteKey
from cadence.service.api.deps import EngineDep, SettingsDep
from cadence.service.rescore_queue import RescoreQueue
from cadence.store.bounds import UNSAFE_TEXT, unsafe_text
from cadence.store.ingest import (
    IngestSummary,
    ingest_counts,
    ingest_events,
    ingest_statements,
)
from cadence.store.readers import json_rows_frame

router = APIRouter(prefix="/v1", tags=["ingest"], dependencies=[WriteKey])
log = logging.getLogger("cadence.accuracy")


def _valid_text(value: str) -> str:
    if unsafe_text(pd.Series([value], dtype=object)).any():
        raise ValueError(UNSAFE_TEXT)
    return value


# a batch-level name: stored in a VARCHAR(256) column, refused on both backends alike
Label = Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(_valid_text)]


class Batch(BaseModel):
    rows: list[dict[str, Any]] = Field(
        description="rows in the native layout (see docs/guide.md, Input formats)"
    )


class EventBatch(Batch):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rows": [
                        {
                            "date": "2024-02-04",
                            "kind": "attack",
                            "country": "Syria",
                            "location": "Rumalyn",
                            "target": "US forces",
                            "weapon": "drone",
                            "source": "analyst-list",
                            "source_id": "a-311",
                        }
                    ]
                }
            ]
        }
    )


class StatementBatch(Batch):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rows": [
                        {
                            "date": "2024-01-30",
                            "actor": "Kataib Hezbollah",
                            "language": "en",
                            "text": "We announce the suspension of military operations.",
                            "source": "analyst-list",
                            "source_id": "s-12",
                        }
                    ]
                }
            ]
        }
    )


class CountBatch(Batch):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"series": "israel-alerts", "rows": [{"date": "2024-07-01", "count": 42}]}]
        }
    )

    series: Label | None = Field(None, description="series for rows without a `series` field")
    frequency: Literal["D", "W", "M"] | None = Field(
        None, description="create unknown series as observed series of this frequency"
    )
    source: Label = Field("api", description="source label (part of the natural key)")


class IngestOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "events",
                    "source": "api",
                    "rows": 1,
                    "inserted": 1,
                    "updated": 0,
                    "unchanged": 0,
                    "rejected": 0,
                    "removed": 0,
                }
            ]
        }
    )

    kind: str
    source: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    removed: int


def _frame(batch: Batch, limit: int) -> pd.DataFrame:
    if not batch.rows:
        raise HTTPException(422, "the batch has no rows")
    if len(batch.rows) > limit:
        raise HTTPException(413, f"at most {limit} rows per request, got {len(batch.rows)}")
    return json_rows_frame(batch.rows)


def _out(s: IngestSummary) -> IngestOut:
    return IngestOut(
        kind=s.kind,
        source=s.source,
        rows=s.rows,
        inserted=s.inserted,
        updated=s.updated,
        unchanged=s.unchanged,
        rejected=s.rejected,
        removed=s.removed,
    )


@router.post(
    "/events",
    response_model=IngestOut,
    summary="Ingest a batch of events",
    responses={401: {}, 403: {}, 413: {}, 422: {"description": "invalid rows"}},
)
def post_events(
    batch: EventBatch,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    tasks: BackgroundTasks,
) -> IngestOut:
    chunk = _frame(batch, settings.max_batch_rows)
    summary = ingest_events(engine, [chunk], source_label="api", window=settings.ingest_window())
    if summary.inserted + summary.updated:  # after the answer: the series it touched
        queue: RescoreQueue = request.app.state.rescore_queue
        tasks.add_task(_queue_touched, queue, lambda: series_touched_by_events(engine, chunk))
    return _out(summary)


def _queue_touched(queue: RescoreQueue, touched: Callable[[], list[str]]) -> None:
    """Queue the series a committed write touched; never raises (scoring is repaired by
    the next write or ``cadence accuracy --rescore``)."""
    try:
        queue.submit(touched())
    except Exception:
        log.exception("finding the series a write touched failed")


@router.post(
    "/statements",
    response_model=IngestOut,
    summary="Ingest a batch of statements (stance extracted when not given)",
    responses={401: {}, 403: {}, 413: {}, 422: {}},
)
def post_statements(batch: StatementBatch, engine: EngineDep, settings: SettingsDep) -> IngestOut:
    chunk = _frame(batch, settings.max_batch_rows)
    summary = ingest_statements(
        engine,
        [chunk],
        source_label="api",
        enrich=resolve_stances,
        window=settings.ingest_window(),
    )
    return _out(summary)


@router.post(
    "/counts",
    response_model=IngestOut,
    summary="Ingest aggregated counts",
    responses={401: {}, 403: {}, 413: {}, 422: {}},
)
def post_counts(
    batch: CountBatch,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    tasks: BackgroundTasks,
) -> IngestOut:
    chunk = _frame(batch, settings.max_batch_rows)
    summary = ingest_counts(
        engine,
        [chunk],
        series=batch.series,
        frequency=batch.frequency,
        source=batch.source,
        window=settings.ingest_window(),
        check=check_observations,
    )
    if summary.inserted + summary.updated:  # after the answer: the series it touched
        named = {batch.series} if batch.series else set()
        if "series" in chunk.columns:
            named |= {str(v).strip() for v in chunk["series"] if str(v).strip()}

        def touched() -> list[str]:
            return [n for n in series_with_forecasts(engine, observed=True) if n in named]

        queue: RescoreQueue = request.app.state.rescore_queue
        tasks.add_task(_queue_touched, queue, touched)
    return _out(summary)
