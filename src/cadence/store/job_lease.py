"""The heartbeat that keeps running jobs' leases (``jobs_repo.renew_lease``).

``LeaseKeeper`` is a daemon thread that renews the lease of every job it holds every
``every``: a retrain holds its own job while it runs, the API holds the jobs it queued.
A process killed hard stops beating with it, so its jobs are taken over once their lease
expires. A job found no longer running (finished, or taken over because this process
stalled past the expiry) is dropped with a warning; a failed renewal (the database
unreachable for a moment) is logged and retried at the next beat.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cadence.store.errors import StoreError
from cadence.store.jobs_repo import ABANDONED, DEFAULT_HEARTBEAT, get_job, renew_lease

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews the leases of the held jobs every ``every`` until ``stop`` (or the end of
    its ``with`` block)."""

    def __init__(self, engine: Engine, *, every: dt.timedelta = DEFAULT_HEARTBEAT) -> None:
        if every <= dt.timedelta(0):
            raise ValueError(f"every: expected a positive interval, got {every}")
        self._engine = engine
        self._every = every.total_seconds()
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="job-lease", daemon=True)
        self.lost: set[str] = set()  # held jobs that were taken over

    def hold(self, job_id: str) -> None:
        with self._lock:
            self._held.add(job_id)

    def release(self, job_id: str) -> None:
        with self._lock:
            self._held.discard(job_id)

    def start(self) -> Self:
        """Start renewing; after ``stop`` a new thread starts (an application's lifespan
        may run more than once, e.g. under a test client)."""
        if self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="job-lease", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def renew_now(self) -> None:
        """One beat: renew every held job's lease."""
        with self._lock:
            held = sorted(self._held)
        for job_id in held:
            try:
                alive = renew_lease(self._engine, job_id)
            except SQLAlchemyError as exc:
                log.warning("job %s: could not renew its lease: %s", job_id, exc)
                continue
            if not alive:
                self._lose(job_id)

    def _lose(self, job_id: str) -> None:
        self.release(job_id)
        try:
            status = get_job(self._engine, job_id).status
        except (StoreError, SQLAlchemyError):
            status = "unknown"
        if status == ABANDONED:  # finished jobs are expected to stop being renewed
            with self._lock:
                self.lost.add(job_id)
            log.warning("job %s was taken over after its lease expired", job_id)

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            self.renew_now()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def keep_lease(
    engine: Engine, job_id: str, *, every: dt.timedelta = DEFAULT_HEARTBEAT
) -> LeaseKeeper:
    """A keeper holding ``job_id`` alone; use it as a context manager around the job."""
    keeper = LeaseKeeper(engine, every=every)
    keeper.hold(job_id)
    return keeper


__all__ = ["LeaseKeeper", "keep_lease"]
