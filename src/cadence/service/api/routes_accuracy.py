"""``GET /v1/series/{name}/accuracy``: how the served forecasts scored as the truth came
(body: ``cadence.service.accuracy.report``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from cadence.service.accuracy.report import accuracy_body
from cadence.service.accuracy.rescoring import band_from
from cadence.service.api.auth import ReadKey
from cadence.service.api.deps import EngineDep, SettingsDep
from cadence.service.api.series_names import SERIES
from cadence.store.forecasts_repo import KIND_CHAMPION

router = APIRouter(prefix="/v1", tags=["series"], dependencies=[ReadKey])

# measured on the bundled israel-alerts (benchmarks/live_accuracy.py), one forecast and
# one day shown
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
        "n": 224,
        "crps": 28.059845,
        "log_score": 6.025229,
        "coverage_50": 0.540179,
        "coverage_80": 0.821429,
        "coverage_95": 0.924107,
        "n_baseline": 224,
        "crps_matched": 28.059845,
        "baseline_crps": 26.518963,
        "crps_difference": 1.540883,
        "crps_difference_se": 0.527437,
        "alarm": True,
        "reasons": [
            "rolling CRPS 28.06 is worse than climatology's 26.52 on the same 224 scores "
            "(daily mean difference 1.54, standard error 0.527)"
        ],
    },
    "overall": {
        "n": 322,
        "crps": 26.942227,
        "baseline_crps": 25.789326,
        "log_score": 5.737835,
        "coverage_50": 0.52795,
        "coverage_80": 0.807453,
        "coverage_95": 0.92236,
        "pit_mean": 0.60656,
        "windows": [
            {
                "days": 7,
                "n": 13,
                "crps": 164.38117,
                "baseline_crps": 135.812058,
                "coverage_80": 0.538462,
            },
            {
                "days": 14,
                "n": 12,
                "crps": 328.190947,
                "baseline_crps": 246.879679,
                "coverage_80": 0.166667,
            },
            {
                "days": 28,
                "n": 10,
                "crps": 482.16887,
                "baseline_crps": 305.07211,
                "coverage_80": 0.2,
            },
        ],
    },
    "versions": [
        {
            "model": "negbin_glm",
            "version": "1",
            "forecasts": 13,
            "n": 322,
            "crps": 26.942227,
            "baseline_crps": 25.789326,
            "coverage_80": 0.807453,
        }
    ],
    "forecasts": [
        {
            "forecast_id": 7,
            "origin": "2024-05-12",
            "generated_at": "2024-05-13T03:00:00+00:00",
            "model": "negbin_glm",
            "version": "1",
            "n": 28,
            "crps": 32.318429,
            "baseline_crps": 27.961564,
            "log_score": 7.165467,
            "coverage_50": 0.357143,
            "coverage_80": 0.714286,
            "coverage_95": 0.892857,
            "pit_mean": 0.790048,
            "windows": {
                "7": {"crps": 340.094471, "coverage_80": 0.0},
                "14": {"crps": 516.275338, "coverage_80": 0.0},
                "28": {"crps": 797.153919, "coverage_80": 0.0},
            },
            "revisions": 0,
        }
    ],
    "days": [
        {
            "date": "2024-06-30",
            "n": 4,
            "crps": 8.306522,
            "baseline_crps": 9.523749,
            "coverage_80": 1.0,
            "rolling_crps": 28.059845,
            "rolling_coverage_80": 0.821429,
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
