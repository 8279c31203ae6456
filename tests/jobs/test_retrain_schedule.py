"""The weekly schedule inside the service: trigger, job options, and the job body."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine

from cadence.jobs.retrain.job import RetrainOutcome
from cadence.service import scheduler as S
from cadence.store.jobs_repo import JobConflictError, JobInfo
from cadence.store.series_repo import apply_series


def test_trigger_fires_weekly_in_utc() -> None:
    trigger = S.retrain_trigger("0 3 * * 1")
    wednesday = dt.datetime(2024, 3, 6, 12, 0, tzinfo=dt.UTC)
    first = trigger.get_next_fire_time(None, wednesday)
    assert first == dt.datetime(2024, 3, 11, 3, 0, tzinfo=dt.UTC)
    assert trigger.get_next_fire_time(
        first, first + dt.timedelta(seconds=1)
    ) == first + dt.timedelta(days=7)
    with pytest.raises(ValueError):
        S.retrain_trigger("every monday")


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("1", {0}),  # Monday in crontab, Monday here (not Tuesday)
        ("0", {6}),
        ("7", {6}),
        ("1-5", {0, 1, 2, 3, 4}),
        ("5-7", {4, 5, 6}),
        ("*/2", {6, 1, 3, 5}),  # crontab: Sunday, Tuesday, Thursday, Saturday
        ("sat,sun", {5, 6}),
        ("*", set(range(7))),
    ],
)
def test_weekday_field_keeps_its_crontab_meaning(field: str, days: set[int]) -> None:
    trigger = S.retrain_trigger(f"0 3 * * {field}")
    t = dt.datetime(2024, 3, 4, 0, 0, tzinfo=dt.UTC)  # a Monday
    fired = set()
    for _ in range(7):
        nxt = trigger.get_next_fire_time(None, t)
        if nxt is None or nxt >= dt.datetime(2024, 3, 11, tzinfo=dt.UTC):
            break
        fired.add(nxt.weekday())
        t = nxt + dt.timedelta(minutes=1)
    assert fired == days


def test_scheduler_holds_one_non_overlapping_job(engine: Engine) -> None:
    sched = S.start_retrain_scheduler(engine, "sqlite:///unused.db", "30 2 * * 0", series=["a"])
    try:
        assert sched.running
        (job,) = sched.get_jobs()
        assert (job.id, job.max_instances, job.coalesce) == (S.RETRAIN_JOB_ID, 1, True)
        assert job.next_run_time.weekday() == 6 and (
            job.next_run_time.hour,
            job.next_run_time.minute,
        ) == (2, 30)
        assert job.kwargs["series"] == ["a"]
    finally:
        sched.shutdown(wait=False)


def test_retrain_all_skips_a_series_locked_elsewhere(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as conn:
        for name in ("a", "b"):
            apply_series(conn, name, "D", observed=True, definition={"name": name})
    calls: list[str] = []

    def fake_retrain(_engine: Engine, name: str, **kw: Any) -> RetrainOutcome:
        calls.append(name)
        if name == "a":
            now = dt.datetime.now(dt.UTC)
            holder = JobInfo("j1", "retrain", "a", "running", now, now, None, None, None)
            raise JobConflictError("a retrain of series 'a' is already running", holder)
        return RetrainOutcome(series=name, job_id="j2", status="kept", reason="ok")

    monkeypatch.setattr(S, "retrain", fake_retrain)
    outcomes = S.retrain_all(engine, "sqlite:///unused.db")
    assert calls == ["a", "b"]  # every declared series, in name order
    assert [o.series for o in outcomes] == ["b"]
