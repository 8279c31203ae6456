"""Job rows and the one-running-job lock.

A job is ``running`` from ``start_job`` until ``finish_job`` marks it ``succeeded`` or
``failed`` with a reason. The partial unique index ``uq_jobs_one_running`` allows one
``running`` row per ``(kind, series)``, so a second ``start_job`` for the same pair fails
in the database itself, whichever process or host calls it: ``ConflictError``.

Stale locks: a process killed hard (SIGKILL, a lost node) cannot finish its job, which
would hold the lock for ever. A running job started more than ``stale_after`` ago
(default ``DEFAULT_STALE_AFTER``, 6 hours: a weekly retrain takes minutes) is taken
over: it is marked ``abandoned`` with the new job's id in its reason, and the new job
starts. Pass ``stale_after=None`` to never take over. A job that was taken over cannot be
finished any more (``ConflictError``), so a slow survivor cannot overwrite the record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from cadence.store.errors import ConflictError, NotFoundError
from cadence.store.tables import jobs_table, utcnow

RUNNING: Final = "running"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
ABANDONED: Final = "abandoned"
FINAL_STATUSES: Final = (SUCCEEDED, FAILED)
KIND_RETRAIN: Final = "retrain"
DEFAULT_STALE_AFTER: Final = dt.timedelta(hours=6)


@dataclass(frozen=True)
class JobInfo:
    id: str
    kind: str
    series: str
    status: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    reason: str | None
    details: dict[str, Any] | None


class JobConflictError(ConflictError):
    """A job of the same kind and series is already running (``running`` holds it)."""

    def __init__(self, message: str, running: JobInfo) -> None:
        super().__init__(message)
        self.running = running


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    if t is None or t.tzinfo is not None:
        return t
    return t.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC


def _info(r: Any) -> JobInfo:
    return JobInfo(
        id=r.id,
        kind=r.kind,
        series=r.series,
        status=r.status,
        created_at=_utc(r.created_at) or r.created_at,
        started_at=_utc(r.started_at),
        finished_at=_utc(r.finished_at),
        reason=r.reason,
        details=r.details,
    )


def running_job(conn: Connection | Engine, kind: str, series: str) -> JobInfo | None:
    """The running job of ``(kind, series)``, if any."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return running_job(c, kind, series)
    t = jobs_table
    r = conn.execute(
        select(t).where(t.c.kind == kind, t.c.series == series, t.c.status == RUNNING)
    ).first()
    return None if r is None else _info(r)


def _insert(conn: Connection, job_id: str, kind: str, series: str, details: Any) -> None:
    now = utcnow()
    conn.execute(
        jobs_table.insert().values(
            id=job_id,
            kind=kind,
            series=series,
            status=RUNNING,
            created_at=now,
            started_at=now,
            details=details,
        )
    )


def start_job(
    engine: Engine,
    kind: str,
    series: str,
    *,
    details: dict[str, Any] | None = None,
    stale_after: dt.timedelta | None = DEFAULT_STALE_AFTER,
    now: dt.datetime | None = None,
) -> JobInfo:
    """Create a ``running`` job of ``kind`` for ``series`` and return it.

    Raises ``JobConflictError`` (a ``ConflictError``) when one is already running and is
    not stale; takes over a stale one as the module docstring describes.
    """
    job_id = str(uuid.uuid4())
    try:
        with engine.begin() as conn:
            _insert(conn, job_id, kind, series, details)
    except IntegrityError:
        holder = running_job(engine, kind, series)
        if holder is None:  # it finished between our insert and our look: try once more
            return start_job(engine, kind, series, details=details, stale_after=None, now=now)
        started = holder.started_at or holder.created_at
        age = (now or utcnow()) - started
        if stale_after is None or age < stale_after:
            raise JobConflictError(
                f"a {kind} of series {series!r} is already running (job {holder.id}, "
                f"started {started.isoformat()}); wait for it to finish or, if its process "
                f"died, for it to be stale after {stale_after}",
                holder,
            ) from None
        _take_over(engine, holder, job_id, age, kind, series, details)
    return get_job(engine, job_id)


def _take_over(
    engine: Engine,
    holder: JobInfo,
    job_id: str,
    age: dt.timedelta,
    kind: str,
    series: str,
    details: dict[str, Any] | None,
) -> None:
    t = jobs_table
    try:
        with engine.begin() as conn:
            done = conn.execute(
                t.update()
                .where(t.c.id == holder.id, t.c.status == RUNNING)
                .values(
                    status=ABANDONED,
                    finished_at=utcnow(),
                    reason=f"stale after {age} without finishing; taken over by job {job_id}",
                )
            ).rowcount
            if done != 1:
                raise IntegrityError("take over", None, Exception("lost the race"))
            _insert(conn, job_id, kind, series, details)
    except IntegrityError:
        raise JobConflictError(
            f"a {kind} of series {series!r} took over the stale job {holder.id} first",
            holder,
        ) from None


def finish_job(
    conn: Connection | Engine,
    job_id: str,
    status: str,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Mark a running job ``succeeded`` or ``failed``. Runs on ``conn`` (the caller's
    transaction, so a forecast and its job commit together) or in its own transaction.
    ``ConflictError`` if the job is no longer running (e.g. it was taken over)."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"status must be one of {FINAL_STATUSES}, got {status!r}")
    if isinstance(conn, Engine):
        with conn.begin() as c:
            finish_job(c, job_id, status, reason=reason, details=details)
        return
    t = jobs_table
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "reason": reason}
    if details is not None:
        values["details"] = details
    done = conn.execute(
        t.update().where(t.c.id == job_id, t.c.status == RUNNING).values(**values)
    ).rowcount
    if done != 1:
        current = conn.execute(select(t.c.status).where(t.c.id == job_id)).scalar()
        if current is None:
            raise NotFoundError(f"no job with id {job_id!r}")
        raise ConflictError(f"job {job_id} is {current}, not running; it cannot be finished")


def get_job(conn: Connection | Engine, job_id: str) -> JobInfo:
    """The job with ``job_id``; ``NotFoundError`` if there is none."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return get_job(c, job_id)
    r = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
    if r is None:
        raise NotFoundError(f"no job with id {job_id!r}")
    return _info(r)


def list_jobs(
    engine: Engine, *, kind: str | None = None, series: str | None = None, limit: int = 20
) -> list[JobInfo]:
    """The newest jobs first, optionally of one kind and series."""
    t = jobs_table
    stmt = select(t)
    if kind is not None:
        stmt = stmt.where(t.c.kind == kind)
    if series is not None:
        stmt = stmt.where(t.c.series == series)
    stmt = stmt.order_by(t.c.created_at.desc(), t.c.id).limit(limit)
    with engine.connect() as conn:
        return [_info(r) for r in conn.execute(stmt)]


__all__ = [
    "ABANDONED",
    "DEFAULT_STALE_AFTER",
    "FAILED",
    "KIND_RETRAIN",
    "RUNNING",
    "SUCCEEDED",
    "JobConflictError",
    "JobInfo",
    "finish_job",
    "get_job",
    "list_jobs",
    "running_job",
    "start_job",
]
