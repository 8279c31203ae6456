"""``GET /v1/series/{name}/accuracy``: how the served forecasts scored as the truth came
(body: ``cadence.service.accuracy_report``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from cadence.service.accuracy import band_from
from cadence.service.accuracy_report import accuracy_body
from cadence.service.api.auth import ReadKey
from cadence.service.api.deps import EngineDep, SettingsDep
from cadence.service.api.series_names import SERIES
from cadence.store.forecasts_repo import KIND_CHAMPION

router = APIRouter(prefix="/v1", tags=["series"], dependencies=[ReadKey])

ACCURACY_EXAMPLE: dict[str, Any] = {
    "series": "israel-alerts",
    "kind": "champion",
    "since": "2024-04-01",
    "rolling": {
        "series": "israel-alerts",
        "kind": "champion",
        "window_days": 56,
        "coverage_band": [0.65, 0.92],
        "start": "2024-05-06",
        "end": "2024-06-30",
        "n": 1204,
        "crps": 61.2,
        "log_score": 5.9,
        "coverage_50": 0.48,
        "coverage_80": 0.77,
        "coverage_95": 0.91,
        "n_baseline": 1204,
        "crps_matched": 61.2,
        "baseline_crps": 70.4,
        "alarm": False,
        "reasons": [],
    },
    "overall": {
        "n": 1204,
        "crps": 61.2,
        "baseline_crps": 70.4,
        "log_score": 5.9,
        "coverage_50": 0.48,
        "coverage_80": 0.77,
        "coverage_95": 0.91,
        "pit_mean": 0.51,
        "windows": [
            {"days": 7, "n": 12, "crps": 310.0, "baseline_crps": 350.0, "coverage_80": 0.75}
        ],
    },
    "forecasts": [
        {
            "forecast_id": 17,
            "origin": "2024-04-07",
            "generated_at": "2024-04-08T03:00:00+00:00",
            "model": "negbin_glm",
            "version": "4",
            "n": 28,
            "crps": 58.3,
            "baseline_crps": 66.0,
            "log_score": 5.8,
            "coverage_50": 0.5,
            "coverage_80": 0.79,
            "coverage_95": 0.93,
            "pit_mean": 0.47,
            "windows": {"7": {"crps": 290.1, "coverage_80": 1.0}},
            "revisions": 0,
        }
    ],
    "days": [
        {
            "date": "2024-04-08",
            "n": 1,
            "crps": 40.2,
            "baseline_crps": 52.0,
            "coverage_80": 1.0,
            "rolling_crps": 40.2,
            "rolling_coverage_80": 1.0,
        }
    ],
}


@router.get(
    f"{SERIES}/accuracy",
    summary="Scores of the served forecasts against what happened, and the drift alarm",
    response_class=JSONResponse,
    responses={
        200: {"content": {"application/json": {"example": ACCURACY_EXAMPLE}}},
        404: {"description": "unknown series"},
    },
)
def get_accuracy(
    name: str,
    engine: EngineDep,
    settings: SettingsDep,
    since: Annotated[
        dt.date | None, Query(description="only periods starting on or after this day")
    ] = None,
    kind: Annotated[str, Query(description="forecast kind", max_length=16)] = KIND_CHAMPION,
) -> JSONResponse:
    """Per served forecast: CRPS (with Climatology's on the same periods), log score,
    50/80/95% coverage, mean PIT and window-total CRPS; pooled totals; scores per day
    with rolling CRPS and 80% coverage; the rolling window and its alarm."""
    return JSONResponse(accuracy_body(engine, name, band_from(settings), since=since, kind=kind))
