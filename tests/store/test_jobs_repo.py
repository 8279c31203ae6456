"""Job rows and the one-running-job lock, on each backend."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from cadence.store import jobs_repo as J
from cadence.store.errors import ConflictError, NotFoundError


def test_start_and_finish_records_status_and_reason(engine: Engine) -> None:
    job = J.start_job(engine, J.KIND_RETRAIN, "s1", details={"models": ["a"]})
    assert job.status == J.RUNNING and job.started_at is not None
    assert J.running_job(engine, J.KIND_RETRAIN, "s1") == job
    J.finish_job(engine, job.id, J.FAILED, reason="ModelError: boom")
    done = J.get_job(engine, job.id)
    assert (done.status, done.reason) == (J.FAILED, "ModelError: boom")
    assert done.finished_at is not None and done.finished_at >= job.created_at
    assert done.details == {"models": ["a"]}
    assert J.running_job(engine, J.KIND_RETRAIN, "s1") is None


def test_second_running_job_of_a_series_is_refused(engine: Engine) -> None:
    first = J.start_job(engine, J.KIND_RETRAIN, "s1")
    with pytest.raises(J.JobConflictError, match="already running") as info:
        J.start_job(engine, J.KIND_RETRAIN, "s1")
    assert info.value.running.id == first.id
    # another series, or another kind, is not blocked
    J.start_job(engine, J.KIND_RETRAIN, "s2")
    J.start_job(engine, "backtest", "s1")
    # once finished, the lock is free again
    J.finish_job(engine, first.id, J.SUCCEEDED)
    again = J.start_job(engine, J.KIND_RETRAIN, "s1")
    assert again.id != first.id


def test_stale_job_is_taken_over_and_cannot_finish_afterwards(engine: Engine) -> None:
    old = J.start_job(engine, J.KIND_RETRAIN, "s1")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)
    with pytest.raises(ConflictError):  # not stale by the default rule, seen from now
        J.start_job(engine, J.KIND_RETRAIN, "s1")
    with pytest.raises(ConflictError):  # never taken over when told so
        J.start_job(engine, J.KIND_RETRAIN, "s1", stale_after=None, now=later)
    new = J.start_job(engine, J.KIND_RETRAIN, "s1", now=later)
    abandoned = J.get_job(engine, old.id)
    assert abandoned.status == J.ABANDONED
    assert abandoned.reason is not None and new.id in abandoned.reason
    with pytest.raises(ConflictError, match="abandoned"):
        J.finish_job(engine, old.id, J.SUCCEEDED)
    assert J.running_job(engine, J.KIND_RETRAIN, "s1") == new


def test_finish_rejects_unknown_ids_and_statuses(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        J.finish_job(engine, "no-such-job", J.FAILED)
    job = J.start_job(engine, J.KIND_RETRAIN, "s1")
    with pytest.raises(ValueError, match="status"):
        J.finish_job(engine, job.id, J.RUNNING)
    with pytest.raises(NotFoundError):
        J.get_job(engine, "no-such-job")


def test_list_jobs_newest_first(engine: Engine) -> None:
    ids = []
    for series in ("a", "b", "c"):
        job = J.start_job(engine, J.KIND_RETRAIN, series)
        J.finish_job(engine, job.id, J.SUCCEEDED)
        ids.append(job.id)
    listed = J.list_jobs(engine, kind=J.KIND_RETRAIN)
    assert [j.id for j in listed] == ids[::-1]
    assert [j.id for j in J.list_jobs(engine, series="b")] == [ids[1]]
