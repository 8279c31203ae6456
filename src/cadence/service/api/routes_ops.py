"""Operations: liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from cadence.service.api.deps import EngineDep
from cadence.service.api.schemas import HealthOut, ReadyOut
from cadence.store.engine import check_connection
from cadence.store.errors import DatabaseUnavailableError
from cadence.store.series_repo import list_series

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthOut, summary="The process is up")
def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyOut,
    summary="The database answers",
    responses={503: {"description": "not ready", "model": ReadyOut}},
)
def readyz(engine: EngineDep) -> JSONResponse:
    checks: dict[str, object] = {}
    try:
        check_connection(engine)
        checks["database"] = "ok"
        checks["series"] = len(list_series(engine))
    except DatabaseUnavailableError as exc:
        checks["database"] = str(exc)
        return JSONResponse(status_code=503, content={"status": "not ready", "checks": checks})
    return JSONResponse(content={"status": "ready", "checks": checks})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    rendered: Response = request.app.state.metrics.render()
    return rendered
