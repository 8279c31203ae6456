"""Operations: liveness, readiness and metrics.

``/readyz`` is ready when the database answers and, once any series is declared, at
least one has a champion forecast to serve. A series without one yet (just declared by a
writer, waiting for its first retrain) is listed in ``checks.series_without_forecast``
but does not make the service unready: the others are served. ``/metrics`` needs a key
with the ``read`` scope when reads are closed.

``/readyz`` also lists the series whose served champion raises the drift alarm
(``checks.accuracy_alarms``: series -> reasons). An alarm does not make the service
unready: the forecast is still served, and a retrain (not a restart) is the remedy.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from cadence.experiments.accuracy.rolling import accuracy_status
from cadence.service.accuracy.rescoring import band_from
from cadence.service.api.auth import ReadKey
from cadence.service.api.deps import EngineDep, SettingsDep
from cadence.service.api.schemas import HealthOut, ReadyOut
from cadence.store.engine import check_connection
from cadence.store.errors import DatabaseUnavailableError
from cadence.store.forecasts_repo import current_forecast
from cadence.store.series_repo import list_series

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthOut, summary="The process is up")
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyOut,
    summary="The database answers and the declared series have champion forecasts to serve",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "status": "ready",
                        "checks": {
                            "database": "ok",
                            "series_without_forecast": [],
                            "accuracy_alarms": {
                                "israel-alerts": [
                                    "80% interval coverage 0.52 over the last 56 days is "
                                    "outside 0.65-0.92"
                                ]
                            },
                        },
                    }
                }
            }
        },
        503: {
            "description": "not ready",
            "model": ReadyOut,
            "content": {
                "application/json": {
                    "example": {
                        "status": "not ready",
                        "checks": {"database": "ok", "series_without_forecast": ["israel-alerts"]},
                    }
                }
            },
        },
    },
)
def readyz(engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    checks: dict[str, object] = {}
    band = band_from(settings)
    try:
        check_connection(engine)
        checks["database"] = "ok"
        names = [s.name for s in list_series(engine)]
        missing = [n for n in names if current_forecast(engine, n, with_samples=False) is None]
        alarms = {}
        for n in names:
            live = accuracy_status(engine, n, band)
            if live.alarm:
                alarms[n] = live.reasons
    except DatabaseUnavailableError as exc:
        checks["database"] = str(exc)
        return JSONResponse(status_code=503, content={"status": "not ready", "checks": checks})
    checks["series_without_forecast"] = missing
    checks["accuracy_alarms"] = alarms
    ready = not names or len(missing) < len(names)  # something to serve
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "not ready", "checks": checks},
    )


METRICS_EXAMPLE = """\
# TYPE cadence_http_requests_total counter
cadence_http_requests_total{method="GET",route="/v1/series/{name}/forecast",status="200"} 1520
# TYPE cadence_forecast_age_seconds gauge
cadence_forecast_age_seconds{series="israel-alerts"} 86400
# TYPE cadence_last_retrain_succeeded gauge
cadence_last_retrain_succeeded{series="israel-alerts"} 1
# TYPE cadence_accuracy_coverage_80_rolling gauge
cadence_accuracy_coverage_80_rolling{series="israel-alerts"} 0.78
# TYPE cadence_accuracy_alarm gauge
cadence_accuracy_alarm{series="israel-alerts"} 0
"""


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    dependencies=[ReadKey],
    responses={
        200: {"content": {"text/plain": {"example": METRICS_EXAMPLE}}},
        401: {"description": "reads are closed and no valid key was given"},
    },
)
def metrics(request: Request) -> Response:
    rendered: Response = request.app.state.metrics.render()
    return rendered
