"""``GET /v1/series/{name}/forecast``: the champion's stored forecast, fast and cacheable.

Nothing is fitted on a read. The body is rendered once per stored forecast and served
from memory with an ``ETag``; a poll with ``If-None-Match`` gets ``304 Not Modified``.
The one exception is a replay (``?as_of=YYYY-MM-DD``, optionally ``&model=NAME``): the
champion's configuration refitted on what was dated on or before that day, computed per
request and never cached, as ``cadence forecast --as-of``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from cadence.experiments.errors import ExperimentError
from cadence.jobs.replay import REPLAY_HORIZON, replay_forecast
from cadence.service.api.auth import ReadKey
from cadence.service.api.conditional import etag_matches
from cadence.service.api.fast_forecast import start_refresh
from cadence.service.api.forecast_cache import ForecastCache
from cadence.service.api.forecast_query import MAX_HORIZON, quantile_levels
from cadence.service.api.series_names import SERIES
from cadence.service.candidates import parse_candidates
from cadence.service.settings import Settings

router = APIRouter(prefix="/v1", tags=["forecasts"], dependencies=[ReadKey])

EXAMPLE = {
    "series": "israel-alerts",
    "frequency": "D",
    "origin": "2024-06-30",
    "generated_at": "2024-07-01T06:00:00+00:00",
    "model": {"name": "negbin_glm", "version": "3", "run_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"},
    "periods": [
        {
            "date": "2024-07-01",
            "mean": 31.2,
            "quantiles": {"0.1": 9, "0.5": 26, "0.9": 58},
            "p_any": 0.97,
        }
    ],
    "windows": [
        {
            "days": 7,
            "mean": 214.0,
            "quantiles": {"0.1": 120, "0.5": 205, "0.9": 320},
            "p_at_least": {"1": 1.0, "5": 1.0, "10": 0.999},
        }
    ],
}


@router.get(
    f"{SERIES}/forecast",
    summary="The champion's latest forecast: per-period and 7/14/28-day distributions",
    description=(
        "A champion with hidden regimes (regime_nb) adds an optional `regimes` field: the "
        "probability of each regime at the origin with its mean count per period, the "
        "most likely regime, and `p_switch`, P(at least one change of regime within 7 "
        "and within 28 periods). A series whose counts end before the origin (a tally "
        "that stopped while a sampled view or dated events go on) adds `counts_through`: "
        "the last day with a known count, on which the model was chosen and fitted."
    ),
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        304: {"description": "not modified since the ETag given in If-None-Match"},
        404: {"description": "no such series, or no forecast yet"},
        422: {"description": "bad horizon or quantiles"},
    },
)
async def forecast(
    name: str,
    request: Request,
    horizon: Annotated[
        int | None, Query(ge=1, le=MAX_HORIZON, description="periods to return")
    ] = None,
    quantiles: Annotated[
        str | None, Query(description="comma-separated levels, e.g. 0.1,0.5,0.9")
    ] = None,
    as_of: Annotated[
        dt.date | None,
        Query(
            description="replay: the champion's configuration (or `model`) refitted on what "
            "was dated on or before this day, forecasting the periods after it (as `cadence "
            "forecast --as-of`); computed per request, never cached"
        ),
    ] = None,
    model: Annotated[
        str | None, Query(description="with as_of: replay this registered model instead")
    ] = None,
) -> Response:
    cache: ForecastCache = request.app.state.forecast_cache
    engine = request.app.state.engine
    for key in ("horizon", "quantiles", "as_of", "model"):
        given = request.query_params.getlist(key)
        if len(given) > 1:  # FastAPI would keep the last one silently
            raise HTTPException(422, f"{key}: expected at most once, got {len(given)} values")
    if as_of is not None or model is not None:
        return await _replayed(request, name, as_of, model, horizon, quantiles)
    try:
        levels = quantile_levels(quantiles)
        hit = cache.get(name, horizon, levels)
        now = time.monotonic()
        if hit is None or cache.ttl <= 0 or hit.expires <= now:
            hit = await run_in_threadpool(cache.fresh, engine, name, horizon, levels)
        elif hit.renew <= now:
            start_refresh(cache, engine, name, horizon, levels)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    headers = {"ETag": hit.etag, "Cache-Control": f"public, max-age={int(cache.ttl)}"}
    if etag_matches(request.headers.get("if-none-match"), hit.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=hit.body, media_type="application/json", headers=headers)


async def _replayed(
    request: Request,
    name: str,
    as_of: dt.date | None,
    model: str | None,
    horizon: int | None,
    quantiles: str | None,
) -> Response:
    """The replay body of ``GET .../forecast?as_of=...`` (``jobs.replay``)."""
    if as_of is None:
        raise HTTPException(422, "model: expected together with as_of (a replay)")
    try:
        levels = quantile_levels(quantiles)
        config = parse_candidates(model)[0] if model is not None else None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    settings: Settings = request.app.state.settings
    try:
        body = await run_in_threadpool(
            replay_forecast,
            request.app.state.engine,
            name,
            as_of,
            tracking_uri=settings.resolved_tracking_uri,
            horizon=horizon or REPLAY_HORIZON,
            config=config,
            quantiles=levels,
            drivers=settings.drivers,
        )
    except ExperimentError as exc:
        raise HTTPException(422, str(exc)) from exc
    return Response(
        content=json.dumps(body).encode(),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
