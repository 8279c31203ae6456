"""``GET /v1/series/{name}/events``: the retaliation events and statements that drive a
series, for timeline markers.

The rows are those the series' driver filters select (``drivers.retaliation`` among the
stored events, ``drivers.statements`` among the stored statements), as the feature panel
reads them; a series without a driver filter has no markers of that kind.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, cast

import pandas as pd
from fastapi import APIRouter, Query
from sqlalchemy import Engine

from cadence import columns as C
from cadence.features import apply_filter
from cadence.service.api.auth import ReadKey
from cadence.service.api.deps import EngineDep
from cadence.service.api.schemas_events import EVENTS_EXAMPLE, MarkerOut, MarkersOut
from cadence.service.api.series_names import SERIES
from cadence.service.panels import spec_for
from cadence.store.reads import events_frame, statements_frame

router = APIRouter(prefix="/v1", tags=["series"], dependencies=[ReadKey])

TEXT_CHARS = 240


def _cell(value: Any) -> str | None:
    """A text cell, or None when blank or missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _short(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1].rstrip() + "…"


def _fatalities(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None


def _event_text(row: pd.Series) -> str:
    parts = [_cell(row.get(c)) for c in (C.TARGET, C.LOCATION, C.NOTES)]
    return _short(" — ".join(p for p in parts if p) or "retaliation")


def series_markers(
    engine: Engine, name: str, start: dt.date | None, end: dt.date | None
) -> list[MarkerOut]:
    """The series' retaliation events and statements dated in ``[start, end]`` (inclusive),
    oldest first and, on one day, events before statements."""
    spec = spec_for(engine, name)
    out: list[MarkerOut] = []
    if spec.retaliation is not None:
        events = events_frame(engine, start=start, end=end, match=[spec.retaliation])
        for _, row in events[apply_filter(events, spec.retaliation)].iterrows():
            out.append(
                MarkerOut(
                    date=row[C.DATE].date(),
                    kind="retaliation",
                    stance=None,
                    actor=_cell(row[C.ACTOR]),
                    text=_event_text(row),
                    fatalities=_fatalities(row[C.FATALITIES]),
                    source=str(row[C.SOURCE]),
                )
            )
    if spec.statements is not None:
        statements = statements_frame(engine, start=start, end=end, match=[spec.statements])
        for _, row in statements[apply_filter(statements, spec.statements)].iterrows():
            stance = (_cell(row[C.STANCE]) or C.NEUTRAL).casefold()
            out.append(
                MarkerOut(
                    date=row[C.DATE].date(),
                    kind="statement",
                    stance=cast(C.Stance, stance if stance in C.STANCES else C.NEUTRAL),
                    actor=_cell(row[C.ACTOR]),
                    text=_short(_cell(row[C.TEXT]) or "statement"),
                    fatalities=None,
                    source=str(row[C.SOURCE]),
                )
            )
    # a stable sort keeps events (added first) before statements on the same day
    return sorted(out, key=lambda m: m.date)


@router.get(
    f"{SERIES}/events",
    response_model=MarkersOut,
    summary="Retaliation events and statements driving a series (timeline markers)",
    responses={
        200: {"content": {"application/json": {"example": EVENTS_EXAMPLE}}},
        404: {"description": "no such series"},
        422: {"description": "bad start or end"},
    },
)
def events(
    name: str,
    engine: EngineDep,
    start: Annotated[dt.date | None, Query(description="first day to include")] = None,
    end: Annotated[dt.date | None, Query(description="last day to include")] = None,
) -> MarkersOut:
    return MarkersOut(
        series=name, start=start, end=end, markers=series_markers(engine, name, start, end)
    )
