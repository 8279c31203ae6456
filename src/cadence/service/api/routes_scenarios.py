"""``POST /v1/series/{name}/scenarios``: the champion's forecast with and without
hypothetical events, computed on demand with bounded cost.

Limits (settings): sample paths per request, hypothetical events per request, and a wall
time; a request beyond any of them gets 422 ``limit_exceeded`` (the time limit after the
fact: the work is abandoned, not the process). A scenario is a read: it needs the
``read`` scope, or none when reads are open.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from cadence.experiments.driver_futures import DriverFuturesConfig
from cadence.experiments.errors import ExperimentError, TrackingError
from cadence.jobs.scenarios import ScenarioLimitError, ScenarioLimits, scenario_forecast
from cadence.service.api.auth import ReadKey
from cadence.service.api.errors import ApiError
from cadence.service.api.schemas_models import SCENARIO_EXAMPLE, ScenarioIn
from cadence.service.api.series_names import SERIES
from cadence.service.settings import Settings

router = APIRouter(prefix="/v1", tags=["scenarios"], dependencies=[ReadKey])


@router.post(
    f"{SERIES}/scenarios",
    summary="What-if: the champion's forecast with and without hypothetical events",
    description="Hypothetical retaliation strikes and statements on days inside the "
    "forecast horizon. Both forecasts share the fitted champion, origin and seed; the "
    "difference is scenario minus baseline. 422 beyond the sample, event or time limits.",
    responses={
        200: {"content": {"application/json": {"example": SCENARIO_EXAMPLE}}},
        404: {"description": "no such series, or no forecast yet"},
        409: {"description": "the served forecast cannot back a scenario"},
        422: {"description": "bad events, dates outside the horizon, or beyond the limits"},
        503: {"description": "the model registry is unreachable"},
    },
)
async def scenarios(name: str, body: ScenarioIn, request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    if any(not 0 < q < 1 for q in body.quantiles):
        raise ApiError(
            422, "invalid_request", f"quantiles: expected levels in (0, 1), got {body.quantiles}"
        )
    limits = ScenarioLimits(settings.scenario_max_samples, settings.scenario_max_events)
    work = run_in_threadpool(
        scenario_forecast,
        request.app.state.engine,
        name,
        body.scenario(),
        tracking_uri=settings.resolved_tracking_uri,
        cache=request.app.state.forecasters,
        horizon=body.horizon,
        n_samples=body.n_samples,
        seed=body.seed,
        quantiles=tuple(body.quantiles),
        limits=limits,
        drivers=DriverFuturesConfig(
            body.driver_futures or settings.driver_futures,
            paths=body.driver_paths or settings.driver_paths,
            process=settings.driver_process,
        ),
    )
    try:
        return await asyncio.wait_for(work, timeout=settings.scenario_timeout_seconds)
    except TimeoutError as exc:
        raise ApiError(
            422,
            "limit_exceeded",
            f"the scenario took longer than {settings.scenario_timeout_seconds:g} s; "
            "ask for fewer sample paths or a shorter horizon",
        ) from exc
    except ScenarioLimitError as exc:
        raise ApiError(422, "limit_exceeded", str(exc)) from exc
    except TrackingError as exc:
        raise ApiError(503, "registry_unavailable", str(exc)) from exc
    except ExperimentError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
