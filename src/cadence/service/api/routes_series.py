"""Read endpoints for series and their observations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from cadence.service.api.auth import ReadKey
from cadence.service.api.deps import EngineDep
from cadence.service.api.schemas import ObservationOut, ObservationsOut, SeriesOut
from cadence.service.api.series_names import SERIES
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


@router.get(
    f"{SERIES}/observations",
    response_model=ObservationsOut,
    summary="Stored observations (counts over [start, end)) of a series",
    responses={404: {"description": "no such series"}},
)
def observations(
    name: str,
    engine: EngineDep,
    start: Annotated[dt.date | None, Query(description="first period start to include")] = None,
    end: Annotated[dt.date | None, Query(description="last period start to include")] = None,
) -> ObservationsOut:
    obs = observations_frame(engine, name)
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
