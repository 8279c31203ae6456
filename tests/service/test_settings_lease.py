"""The job-lease settings reach ``retrain`` as timedeltas and are checked together."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from cadence.service.settings import Settings


def test_lease_settings_become_retrain_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENCE_JOB_HEARTBEAT_SECONDS", "0.5")
    monkeypatch.setenv("CADENCE_JOB_LEASE_SECONDS", "2")
    assert Settings().job_lease == {
        "heartbeat_every": dt.timedelta(seconds=0.5),
        "stale_after": dt.timedelta(seconds=2),
    }
    assert Settings(job_heartbeat_seconds=10, job_lease_seconds=45).job_lease["stale_after"] == (
        dt.timedelta(seconds=45)
    )


def test_a_lease_no_longer_than_a_beat_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"job_lease_seconds .* must be longer"):
        Settings(job_heartbeat_seconds=10, job_lease_seconds=10)
