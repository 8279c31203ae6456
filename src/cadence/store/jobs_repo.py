"""Job rows, the one-running-job lock and its lease.

A job is ``running`` from ``start_job`` until ``finish_job`` marks it ``succeeded`` or
``failed`` with a reason. The partial unique index ``uq_jobs_one_running`` allows one
``running`` row per ``(kind, series)``, so a second ``start_job`` for the same pair fails
in the database itself, whichever process or host calls it: ``ConflictError``.

Leases: a running job's process renews its ``heartbeat_at`` every few seconds
(``renew_lease``, called by the background thread of ``cadence.store.job_lease``). A
process killed hard (SIGKILL, a lost node) stops renewing; once its last renewal is
older than ``stale_after`` (default ``DEFAULT_LEASE_EXPIRY``, 45 s: a few missed beats of
``DEFAULT_HEARTBEAT``, 10 s) the next ``start_job`` takes it over: the old row is marked
``abandoned`` with a reason saying when its process stopped renewing and which job took
over, and the new job starts. Pass ``stale_after=None`` to never take over. A job that was
taken over cannot be finished any more (``ConflictError``), so a slow survivor cannot
overwrite the record.
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
DEFAULT_HEARTBEAT: Final = dt.timedelta(seconds=10)
DEFAULT_LEASE_EXPIRY: Final = dt.timedelta(seconds=45)
DEFAULT_STALE_AFTER: Final = DEFAULT_LEASE_EXPIRY  # the former name of the lease expiry


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
    heartbeat_at: dt.datetime | None = None

    @property
    def last_renewed(self) -> dt.datetime:
        """The last sign of life of the job's process."""
        return self.heartbeat_at or self.started_at or self.created_at


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
        heartbeat_at=_utc(r.heartbeat_at),
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
            heartbeat_at=now,
            details=details,
        )
    )


def start_job(
    engine: Engine,
    kind: str,
    series: str,
    *,
    details: dict[str, Any] | None = None,
    stale_after: dt.timedelta | None = DEFAULT_LEASE_EXPIRY,
    now: dt.datetime | None = None,
) -> JobInfo:
    """Create a ``running`` job of ``kind`` for ``series`` and return it.

    Raises ``JobConflictError`` (a ``ConflictError``) when one is already running and
    still renews its lease; takes over one whose lease expired (module docstring).
    """
    job_id = str(uuid.uuid4())
    try:
        with engine.begin() as conn:
            _insert(conn, job_id, kind, series, details)
    except IntegrityError:
        holder = running_job(engine, kind, series)
        if holder is None:  # it finished between our insert and our look: try once more
            return start_job(engine, kind, series, details=details, stale_after=None, now=now)
        silent = (now or utcnow()) - holder.last_renewed
        if stale_after is None or silent < stale_after:
            raise JobConflictError(
                f"a {kind} of series {series!r} is already running (job {holder.id}, "
                f"started {(holder.started_at or holder.created_at).isoformat()}, lease "
                f"renewed {holder.last_renewed.isoformat()}); wait for it to finish or, if "
                f"its process died, for its lease to expire ({_expiry(stale_after)} "
                "without renewal)",
                holder,
            ) from None
        _take_over(engine, holder, job_id, stale_after, kind, series, details)
    return get_job(engine, job_id)


def _expiry(stale_after: dt.timedelta | None) -> str:
    return "never" if stale_after is None else f"{stale_after.total_seconds():g} s"


def _take_over(
    engine: Engine,
    holder: JobInfo,
    job_id: str,
    stale_after: dt.timedelta,
    kind: str,
    series: str,
    details: dict[str, Any] | None,
) -> None:
    t = jobs_table
    reason = (
        f"abandoned: its process stopped renewing at {holder.last_renewed.isoformat()} "
        f"(lease expiry {_expiry(stale_after)}); taken over by job {job_id}"
    )
    try:
        with engine.begin() as conn:
            done = conn.execute(
                t.update()
                .where(t.c.id == holder.id, t.c.status == RUNNING)
                # only if it was not renewed since we looked
                .where(t.c.heartbeat_at.is_(None) | (t.c.heartbeat_at <= holder.last_renewed))
                .values(status=ABANDONED, finished_at=utcnow(), reason=reason)
            ).rowcount
            if done != 1:
                raise IntegrityError("take over", None, Exception("lost the race"))
            _insert(conn, job_id, kind, series, details)
    except IntegrityError:
        raise JobConflictError(
            f"a {kind} of series {series!r}: job {holder.id} renewed its lease or another "
            "process took it over first",
            holder,
        ) from None


def renew_lease(conn: Connection | Engine, job_id: str, *, now: dt.datetime | None = None) -> bool:
    """Renew the lease of the running job ``job_id`` (``heartbeat_at`` = now). False when
    the job is no longer running (finished, or taken over after its lease expired)."""
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return renew_lease(c, job_id, now=now)
    t = jobs_table
    done = conn.execute(
        t.update()
        .where(t.c.id == job_id, t.c.status == RUNNING)
        .values(heartbeat_at=now or utcnow())
    ).rowcount
    return bool(done == 1)


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
    "DEFAULT_HEARTBEAT",
    "DEFAULT_LEASE_EXPIRY",
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
    "renew_lease",
    "running_job",
    "start_job",
]
