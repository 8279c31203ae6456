"""``GET /v1/series/{name}/forecast``: the champion's stored forecast, fast and cacheable.

Nothing is fitted on a read. The body is rendered once per stored forecast and served
from memory with an ``ETag``; a poll with ``If-None-Match`` gets ``304 Not Modified``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from cadence.experiments.serving import DEFAULT_QUANTILES
from cadence.service.api.auth import ReadKey
from cadence.service.api.forecast_cache import ForecastCache
from cadence.service.api.series_names import SERIES

# references to running refresh tasks, so they are not garbage-collected mid-flight
_background: set[asyncio.Task[object]] = set()

log = logging.getLogger("cadence.forecast_cache")


def _refreshed(task: asyncio.Task[object]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        # the stale body keeps being served; the next expiry tries again
        log.warning("forecast cache refresh failed: %s", task.exception())


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


def _levels(text: str | None) -> tuple[float, ...]:
    if text is None:
        return DEFAULT_QUANTILES
    try:
        levels = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        levels = ()
    if not levels or any(not 0 < q < 1 for q in levels) or len(levels) > 19:
        raise HTTPException(
            422, f"quantiles: expected 1 to 19 comma-separated levels in (0, 1), got {text!r}"
        )
    return levels


@router.get(
    f"{SERIES}/forecast",
    summary="The champion's latest forecast: per-period and 7/14/28-day distributions",
    description=(
        "A champion with hidden regimes (regime_nb) adds an optional `regimes` field: the "
        "probability of each regime at the origin with its mean count per period, the "
        "most likely regime, and `p_switch`, P(at least one change of regime within 7 "
        "and within 28 periods)."
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
    horizon: Annotated[int | None, Query(ge=1, le=366, description="periods to return")] = None,
    quantiles: Annotated[
        str | None, Query(description="comma-separated levels, e.g. 0.1,0.5,0.9")
    ] = None,
) -> Response:
    cache: ForecastCache = request.app.state.forecast_cache
    engine = request.app.state.engine
    levels = _levels(quantiles)
    hit = cache.get(name, horizon, levels)
    try:
        if hit is None or cache.ttl <= 0:
            hit = await run_in_threadpool(cache.load, engine, name, horizon, levels)
        elif hit.expires <= time.monotonic() and cache.claim_refresh(name, horizon, levels):
            # serve what we have; one background refresh picks up a newer forecast
            task = asyncio.create_task(run_in_threadpool(cache.load, engine, name, horizon, levels))
            _background.add(task)
            task.add_done_callback(_refreshed)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    headers = {"ETag": hit.etag, "Cache-Control": f"public, max-age={int(cache.ttl)}"}
    if request.headers.get("if-none-match") == hit.etag:
        return Response(status_code=304, headers=headers)
    return Response(content=hit.body, media_type="application/json", headers=headers)
