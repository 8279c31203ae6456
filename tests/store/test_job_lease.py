"""Job leases: a live process keeps its job, a killed one loses it after the expiry, on
each backend. The kill is real: a child process holding the job gets SIGKILL."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import Engine

from cadence.store import jobs_repo as J
from cadence.store.job_lease import LeaseKeeper, keep_lease

EXPIRY = dt.timedelta(seconds=1.5)
BEAT = dt.timedelta(seconds=0.2)


def test_a_renewed_lease_is_not_taken_over_and_an_expired_one_is(engine: Engine) -> None:
    old = J.start_job(engine, J.KIND_RETRAIN, "s1")
    t0 = old.last_renewed
    # renewed a minute later, then looked at 30 s after that: still alive
    assert J.renew_lease(engine, old.id, now=t0 + dt.timedelta(minutes=1))
    with pytest.raises(J.JobConflictError, match="lease"):
        J.start_job(engine, J.KIND_RETRAIN, "s1", now=t0 + dt.timedelta(seconds=90))
    # 46 s after the last renewal: the default expiry (45 s) has passed
    new = J.start_job(engine, J.KIND_RETRAIN, "s1", now=t0 + dt.timedelta(seconds=106))
    gone = J.get_job(engine, old.id)
    assert gone.status == J.ABANDONED and gone.reason is not None
    renewed_at = (t0 + dt.timedelta(minutes=1)).isoformat()
    assert gone.reason.startswith(f"abandoned: its process stopped renewing at {renewed_at}")
    assert new.id in gone.reason
    assert not J.renew_lease(engine, old.id)  # the old process finds out at its next beat
    assert J.renew_lease(engine, new.id)


def test_the_keeper_renews_until_stopped_and_notices_a_take_over(engine: Engine) -> None:
    job = J.start_job(engine, J.KIND_RETRAIN, "s1")
    with keep_lease(engine, job.id, every=dt.timedelta(seconds=0.05)) as keeper:
        time.sleep(0.4)
        beat = J.get_job(engine, job.id).last_renewed
        assert beat > job.last_renewed
        # taken over as if this process had stalled: the keeper drops the job
        J.start_job(engine, J.KIND_RETRAIN, "s1", now=beat + dt.timedelta(minutes=5))
        keeper.renew_now()
        assert keeper.lost == {job.id}
    with pytest.raises(ValueError, match="positive"):
        LeaseKeeper(engine, every=dt.timedelta(0))


_HOLDER = """
import datetime as dt, sys, time
from cadence.store import jobs_repo as J
from cadence.store.engine import make_engine
from cadence.store.job_lease import keep_lease

engine = make_engine(sys.argv[1])
job = J.start_job(engine, J.KIND_RETRAIN, "s1")
with keep_lease(engine, job.id, every=dt.timedelta(seconds=float(sys.argv[2]))):
    print(job.id, flush=True)
    time.sleep(600)
"""


def test_a_job_whose_process_is_killed_is_taken_over_after_its_lease(
    engine: Engine, db_url: str
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, db_url, str(BEAT.total_seconds())],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert child.stdout is not None
        held = child.stdout.readline().decode().strip()
        assert held, "the child did not take the job"
        time.sleep(3 * EXPIRY.total_seconds())  # alive: its beats keep the lease
        with pytest.raises(J.JobConflictError, match="already running"):
            J.start_job(engine, J.KIND_RETRAIN, "s1", stale_after=EXPIRY)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    time.sleep(EXPIRY.total_seconds())  # the lease runs out with no one renewing it
    new = J.start_job(engine, J.KIND_RETRAIN, "s1", stale_after=EXPIRY)
    dead = J.get_job(engine, held)
    assert dead.status == J.ABANDONED and dead.finished_at is not None
    assert dead.reason is not None and "its process stopped renewing at" in dead.reason
    assert new.id in dead.reason and J.running_job(engine, J.KIND_RETRAIN, "s1") == new
