"""What the served champion knows about itself: its effects and the backtest that chose it.

Both come from the retrain job that wrote the served forecast (stored in the job's
details), so a read costs two indexed queries and no model loading. The ``ETag`` names
the served forecast and its job: it changes exactly when a retrain serves a new one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from cadence.service.api.auth import ReadKey
from cadence.service.api.conditional import etag_matches
from cadence.service.api.schemas_models import BACKTEST_EXAMPLE, EFFECTS_EXAMPLE
from cadence.service.api.series_names import SERIES
from cadence.store.errors import NotFoundError
from cadence.store.forecasts_repo import require_current_forecast
from cadence.store.jobs_repo import get_job

router = APIRouter(prefix="/v1", tags=["models"], dependencies=[ReadKey])


def _served_job(engine: Any, name: str, key: str) -> tuple[Any, dict[str, Any]]:
    served = require_current_forecast(engine, name)
    details: dict[str, Any] = {}
    if served.job_id is not None:
        try:
            details = get_job(engine, served.job_id).details or {}
        except NotFoundError:
            details = {}
    if key not in details:
        raise NotFoundError(
            f"series {name!r}: the served forecast has no recorded {key}; "
            "run a retrain (cadence retrain or POST /v1/retrain) to record it"
        )
    return served, details


def _etag_response(request: Request, served: Any, body: dict[str, Any]) -> Response:
    etag = f'"{served.id}-{served.job_id}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)


@router.get(
    f"{SERIES}/effects",
    summary="Incidence-rate ratios of retaliation and statements from the champion",
    description="Per feature: the multiplicative change of the expected count per unit of "
    "the feature (``irr``) with its interval at ``level`` and p-value. Empty when the "
    "champion has no such features (e.g. Climatology).",
    responses={
        200: {"content": {"application/json": {"example": EFFECTS_EXAMPLE}}},
        304: {"description": "not modified since the ETag given in If-None-Match"},
        404: {"description": "no such series, no forecast yet, or no effects recorded"},
    },
)
async def effects(name: str, request: Request) -> Response:
    served, details = await run_in_threadpool(
        _served_job, request.app.state.engine, name, "effects"
    )
    recorded = details["effects"]
    body = {
        "series": name,
        "model": {
            "name": served.model_name,
            "version": served.model_version,
            "run_id": served.run_id,
        },
        "level": recorded.get("level", 0.95),
        "effects": recorded.get("effects", []),
    }
    return _etag_response(request, served, body)


@router.get(
    f"{SERIES}/backtest",
    summary="Latest backtest scores per model (the retrain that chose the champion)",
    description="The rolling-origin backtest of the candidates on recent origins, in the "
    "same shape as ``cadence backtest --json``, plus the job, its time and the champion.",
    responses={
        200: {"content": {"application/json": {"example": BACKTEST_EXAMPLE}}},
        304: {"description": "not modified since the ETag given in If-None-Match"},
        404: {"description": "no such series, no forecast yet, or no backtest recorded"},
    },
)
async def backtest(name: str, request: Request) -> Response:
    served, details = await run_in_threadpool(
        _served_job, request.app.state.engine, name, "backtest"
    )
    body = {
        **details["backtest"],
        "job_id": served.job_id,
        "generated_at": served.generated_at.isoformat(),
        "champion": served.model_name,
    }
    return _etag_response(request, served, body)
