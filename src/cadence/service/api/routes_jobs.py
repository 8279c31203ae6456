"""Retrains on request and the jobs that record them.

``POST /v1/retrain`` (``admin`` scope) starts one retrain job per series at once, so the
answer carries the job ids and a series already being retrained is refused right away;
the work then runs one series at a time on the service's retrain worker thread. The
service renews the leases of its queued jobs (``app.state.job_leases``), so a job waits its
turn without being taken over, and is taken over if the service is killed.
``GET /v1/jobs/{id}`` and ``GET /v1/jobs`` show where they are.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import Executor, Future
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from cadence.experiments.backtest import ModelConfig
from cadence.experiments.driver_futures import DETERMINISTIC, DriverFuturesConfig
from cadence.jobs.retrain.job import retrain
from cadence.service.api.auth import AdminKey, ReadKey
from cadence.service.api.schemas_models import JobOut, RetrainIn, RetrainOut
from cadence.service.settings import JobLease, Settings
from cadence.store.job_lease import LeaseKeeper
from cadence.store.jobs_repo import (
    FAILED,
    KIND_RETRAIN,
    JobConflictError,
    JobInfo,
    finish_job,
    get_job,
    list_jobs,
    start_job,
)
from cadence.store.series_repo import get_series, list_series

router = APIRouter(prefix="/v1", tags=["jobs"])
log = logging.getLogger(__name__)

# job details the job endpoints leave out: large, and served by /v1/series/{name}/...
_HEAVY_DETAILS = ("backtest", "effects")


def job_out(job: JobInfo) -> JobOut:
    details = (
        None
        if job.details is None
        else {k: v for k, v in job.details.items() if k not in _HEAVY_DETAILS}
    )
    return JobOut(
        id=job.id,
        kind=job.kind,
        series=job.series,
        status=job.status,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        reason=job.reason,
        details=details,
    )


def _run_one(
    engine: Any,
    job: JobInfo,
    tracking_uri: str,
    candidates: list[ModelConfig],
    lease: JobLease,
    drivers: DriverFuturesConfig = DETERMINISTIC,
) -> None:
    try:
        out = retrain(
            engine,
            job.series,
            tracking_uri=tracking_uri,
            candidates=candidates,
            job=job,
            drivers=drivers,
            **lease,
        )
        log.info("retrain of %s (job %s): %s %s", job.series, job.id, out.status, out.reason)
    except Exception:  # recorded on the job by retrain; the worker thread lives on
        log.exception("retrain of %s (job %s) raised", job.series, job.id)


def _done(queued: dict[Future[None], JobInfo], leases: LeaseKeeper, future: Future[None]) -> None:
    job = queued.pop(future, None)
    if job is not None:
        leases.release(job.id)


def stop_retrains(engine: Any, pool: Executor, queued: dict[Future[None], JobInfo]) -> None:
    """Service shutdown: a retrain in progress finishes; the queued ones are cancelled and
    their jobs recorded as failed, so none stays ``running`` until it goes stale."""
    waiting = list(queued.items())
    pool.shutdown(wait=True, cancel_futures=True)
    for future, job in waiting:
        if future.cancelled():
            try:
                finish_job(engine, job.id, FAILED, reason="the service stopped before it began")
            except Exception as exc:  # the database may be what is going away
                log.error("job %s: could not record the cancellation: %s", job.id, exc)


def _start(
    engine: Any, names: list[str], stale_after: dt.timedelta
) -> tuple[list[JobInfo], list[dict[str, str]]]:
    for name in names:
        get_series(engine, name)  # every name known before any job starts (404 otherwise)
    started, refused = [], []
    for name in names:
        try:
            started.append(start_job(engine, KIND_RETRAIN, name, stale_after=stale_after))
        except JobConflictError as exc:
            refused.append({"series": name, "reason": str(exc)})
    return started, refused


@router.post(
    "/retrain",
    status_code=202,
    response_model=RetrainOut,
    summary="Start retraining series (admin scope); returns the job ids",
    dependencies=[AdminKey],
    responses={
        401: {"description": "no or unknown API key"},
        403: {"description": "the key lacks the admin scope"},
        404: {"description": "no such series"},
    },
)
async def post_retrain(body: RetrainIn, request: Request) -> RetrainOut:
    engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    if body.series is None:
        names = [s.name for s in await run_in_threadpool(list_series, engine)]
    else:
        names = list(dict.fromkeys(body.series))
    lease = settings.job_lease
    started, refused = await run_in_threadpool(_start, engine, names, lease["stale_after"])
    pool: Executor = request.app.state.retrain_pool
    queued: dict[Future[None], JobInfo] = request.app.state.retrain_queue
    leases: LeaseKeeper = request.app.state.job_leases
    for job in started:
        leases.hold(job.id)  # queued: this process keeps the lease until the job ends
        future = pool.submit(
            _run_one,
            engine,
            job,
            settings.resolved_tracking_uri,
            list(request.app.state.retrain_candidates),
            lease,
            settings.drivers,
        )
        queued[future] = job
        future.add_done_callback(lambda f: _done(queued, leases, f))
    return RetrainOut(
        jobs=[{"id": j.id, "series": j.series, "status": j.status} for j in started],
        refused=refused,
    )


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    summary="One job: status, reason and what it decided",
    dependencies=[ReadKey],
    responses={404: {"description": "no such job"}},
)
async def one_job(job_id: str, request: Request) -> JobOut:
    return job_out(await run_in_threadpool(get_job, request.app.state.engine, job_id))


@router.get(
    "/jobs",
    response_model=list[JobOut],
    summary="The newest jobs first",
    dependencies=[ReadKey],
)
async def jobs(
    request: Request,
    series: Annotated[str | None, Query(max_length=256, description="only this series")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[JobOut]:
    found = await run_in_threadpool(
        list_jobs, request.app.state.engine, kind=None, series=series, limit=limit
    )
    return [job_out(j) for j in found]
