"""Read endpoints for series and their observed counts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from sqlalchemy import Engine

from cadence.columns import COUNT
from cadence.features.errors import FeatureError
from cadence.service.api.auth import ReadKey
from cadence.service.api.deps import EngineDep
from cadence.service.api.schemas import ObservationOut, ObservationsOut, SeriesOut
from cadence.service.api.series_names import SERIES
from cadence.service.panels import load_panel
from cadence.store.reads import observations_frame
from cadence.store.series_repo import get_series, list_series

router = APIRouter(prefix="/v1", tags=["series"], dependencies=[ReadKey])


@router.get("/series", response_model=list[SeriesOut], summary="Every declared series")
def all_series(engine: EngineDep) -> list[SeriesOut]:
    return [
        SeriesOut(
            name=s.name,
            frequency=s.frequency,
            observed=s.observed,
            description=s.description,
            definition=s.definition,
        )
        for s in list_series(engine)
    ]


@router.get(
    SERIES,
    response_model=SeriesOut,
    summary="One series",
    responses={404: {"description": "no such series"}},
)
def one_series(name: str, engine: EngineDep) -> SeriesOut:
    s = get_series(engine, name)
    return SeriesOut(
        name=s.name,
        frequency=s.frequency,
        observed=s.observed,
        description=s.description,
        definition=s.definition,
    )


_PERIOD = {"D": pd.DateOffset(days=1), "W": pd.DateOffset(weeks=1), "M": pd.DateOffset(months=1)}


def event_period_counts(engine: Engine, name: str) -> pd.DataFrame:
    """Columns ``start, end, count, source`` of an event-counted series: one row per
    period of its panel (``end`` exclusive, ``source`` = ``events``); empty when it has
    no matching event yet."""
    try:
        frame = load_panel(engine, name).frame
    except FeatureError:  # nothing to count yet
        return pd.DataFrame(columns=["start", "end", "count", "source"])
    starts = pd.DatetimeIndex(frame.index)
    step = _PERIOD[str(get_series(engine, name).frequency)]
    return pd.DataFrame(
        {
            "start": starts,
            "end": starts + step,
            "count": frame[COUNT].to_numpy(),
            "source": "events",
        }
    )


@router.get(
    f"{SERIES}/observations",
    response_model=ObservationsOut,
    summary="Observed counts of a series, periods starting from start to end (both included)",
    description="For a series declared on observations, the stored rows (interval totals "
    "included); for a series counted from events, the count per period of the events its "
    "target selects (source `events`), zeros included, up to where its sources end.",
    responses={404: {"description": "no such series"}},
)
def observations(
    name: str,
    engine: EngineDep,
    start: Annotated[dt.date | None, Query(description="first period start to include")] = None,
    end: Annotated[dt.date | None, Query(description="last period start to include")] = None,
) -> ObservationsOut:
    if get_series(engine, name).observed:
        obs = observations_frame(engine, name)
    else:
        obs = event_period_counts(engine, name)
    if start is not None:
        obs = obs[obs["start"] >= str(start)]
    if end is not None:
        obs = obs[obs["start"] <= str(end)]
    return ObservationsOut(
        series=name,
        observations=[
            ObservationOut(
                start=r.start.date(), end=r.end.date(), count=int(r.count), source=r.source
            )
            for r in obs.itertuples(index=False)
        ],
    )
