"""``GET /v1/series/{name}/accuracy``: how the served forecasts scored as the truth came
(body: ``cadence.service.accuracy.report``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from cadence.service.accuracy.report import accuracy_body
from cadence.service.accuracy.rescoring import band_from
from cadence.service.api.auth import ReadKey
from cadence.service.api.deps import EngineDep, SettingsDep
from cadence.service.api.series_names import SERIES
from cadence.store.forecasts_repo import KIND_CHAMPION, stored_kinds

router = APIRouter(prefix="/v1", tags=["series"], dependencies=[ReadKey])

# measured on the bundled israel-alerts (benchmarks/live_accuracy.py, the local_level
# champion served every Sunday from 2024-03-31), one forecast and one day shown
ACCURACY_EXAMPLE: dict[str, Any] = {
    "series": "israel-alerts",
    "kind": "champion",
    "since": None,
    "rolling": {
        "series": "israel-alerts",
        "kind": "champion",
        "window_days": 56,
        "coverage_band": [0.65, 0.92],
        "start": "2024-05-06",
        "end": "2024-06-30",
        "n": 224,
        "crps": 28.913777,
        "log_score": 6.210221,
        "coverage_50": 0.517857,
        "coverage_80": 0.758929,
        "coverage_95": 0.933036,
        "n_baseline": 224,
        "crps_matched": 28.913777,
        "baseline_crps": 26.518963,
        "crps_difference": 2.394814,
        "crps_difference_se": 0.637514,
        "alarm": True,
        "reasons": [
            "rolling CRPS 28.91 is worse than climatology's 26.52 on the same 224 scores "
            "(daily mean difference 2.39, standard error 0.638)"
        ],
    },
    "overall": {
        "n": 322,
        "crps": 27.72256,
        "baseline_crps": 25.789326,
        "log_score": 5.791916,
        "coverage_50": 0.52795,
        "coverage_80": 0.773292,
        "coverage_95": 0.937888,
        "coverage_80_interval": [0.67302, 0.853571],
        "pit_mean": 0.586069,
        "windows": [
            {
                "days": 7,
                "n": 13,
                "crps": 153.521289,
                "baseline_crps": 135.812058,
                "coverage_80": 0.538462,
                "coverage_80_interval": [0.230769, 0.769231],
            },
            {
                "days": 14,
                "n": 12,
                "crps": 301.309094,
                "baseline_crps": 246.879679,
                "coverage_80": 0.5,
                "coverage_80_interval": [0.166667, 0.833333],
            },
            {
                "days": 28,
                "n": 10,
                "crps": 448.256832,
                "baseline_crps": 305.07211,
                "coverage_80": 0.6,
                "coverage_80_interval": [0.3, 0.8],
            },
        ],
    },
    "versions": [
        {
            "model": "local_level",
            "version": "1",
            "forecasts": 13,
            "n": 322,
            "crps": 27.72256,
            "baseline_crps": 25.789326,
            "coverage_80": 0.773292,
        }
    ],
    "forecasts": [
        {
            "forecast_id": 7,
            "origin": "2024-05-12",
            "generated_at": "2026-12-04T00:59:49.142851+00:00",
            "model": "local_level",
            "version": "1",
            "n": 28,
            "crps": 31.062843,
            "baseline_crps": 27.961564,
            "log_score": 6.129977,
            "coverage_50": 0.392857,
            "coverage_80": 0.75,
            "coverage_95": 0.928571,
            "pit_mean": 0.764809,
            "windows": {
                "7": {"crps": 266.673301, "coverage_80": 0.0},
                "14": {"crps": 389.422763, "coverage_80": 0.0},
                "28": {"crps": 601.086631, "coverage_80": 0.0},
            },
            "revisions": 0,
        }
    ],
    "days": [
        {
            "date": "2024-06-30",
            "n": 4,
            "crps": 8.832931,
            "baseline_crps": 9.523749,
            "coverage_80": 1.0,
            "rolling_crps": 28.913777,
            "rolling_coverage_80": 0.758929,
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
    if kind != KIND_CHAMPION:  # a kind never stored is a typo, not "nothing scored yet"
        kinds = stored_kinds(engine, name)
        if kind not in kinds:
            raise HTTPException(
                422,
                f"kind: expected {KIND_CHAMPION!r} or a kind stored for {name!r} "
                f"({', '.join(repr(k) for k in kinds) or 'none yet'}), got {kind!r}",
            )
    return JSONResponse(accuracy_body(engine, name, band_from(settings), since=since, kind=kind))
