"""A retrain whose process is killed (SIGKILL) while it holds its job: the next retrain
takes the job over as soon as the lease expires, records the old job as abandoned, and
repairs the ``challenger`` alias the killed process had moved. On each backend; the
series is synthetic (daily counts drawn by code with a level shift)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from cadence.experiments import model_registry
from cadence.experiments.backtest import ModelConfig
from cadence.jobs.retrain import job as RT
from cadence.store import jobs_repo as J
from cadence.store.forecasts_repo import current_forecast
from cadence.store.ingest import ingest_counts

SERIES = "synthetic-lease"
CANDIDATES = [
    ModelConfig("climatology"),
    ModelConfig("recent_rate"),
    ModelConfig("recent_rate", {"window": 60}),
]
FAST = dict(recent_origins=4, every=7, horizon=7, n_samples=200, n_boot=200, plots=False)
EXPIRY = dt.timedelta(seconds=2)


def _synthetic_counts() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    days = pd.date_range("2024-01-01", periods=200, freq="D")
    mean = np.where(np.arange(200) < 120, 1.0, 6.0)
    counts = rng.poisson(mean).astype(str)
    return pd.DataFrame({"series": SERIES, "date": days.strftime("%Y-%m-%d"), "count": counts})


# the child moves the challenger alias, then hangs inside the serving transaction
_CHILD = """
import datetime as dt, sys, time
from cadence.experiments import model_registry
from cadence.jobs.retrain import job as RT
from cadence.experiments.backtest import ModelConfig
from cadence.store.engine import make_engine

real = model_registry.set_alias

def move_then_hang(uri, series, alias, version):
    real(uri, series, alias, version)
    if alias == model_registry.CHALLENGER:
        print(version, flush=True)
        time.sleep(600)

model_registry.set_alias = move_then_hang
configs = [ModelConfig("climatology"), ModelConfig("recent_rate"),
           ModelConfig("recent_rate", {"window": 60})]
RT.retrain(make_engine(sys.argv[1]), sys.argv[3], tracking_uri=sys.argv[2], candidates=configs,
           recent_origins=4, every=7, horizon=7, n_samples=200, n_boot=200, plots=False,
           heartbeat_every=dt.timedelta(seconds=0.2))
"""


def _kill_while_serving(db_url: str, tracking_uri: str) -> str:
    """Run the child until it has moved the challenger alias, SIGKILL it; its version."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, db_url, tracking_uri, SERIES],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        moved = child.stdout.readline().decode().strip()
        if not moved:
            child.wait(timeout=60)
            raise AssertionError(child.stderr.read().decode()[-2000:])
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    return moved


def test_killed_retrain_is_taken_over_and_its_challenger_alias_repaired(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    tracking = f"sqlite:///{tmp_path}/mlflow.db"
    ingest_counts(engine, [_synthetic_counts()], frequency="D", source="synthetic")
    first = RT.retrain(engine, SERIES, tracking_uri=tracking, candidates=CANDIDATES, **FAST)
    assert first.status == RT.PROMOTED and first.challenger_version is not None, first.reason
    served = current_forecast(engine, SERIES, with_samples=False)
    assert served is not None

    moved = _kill_while_serving(db_url, tracking)
    dead = J.running_job(engine, J.KIND_RETRAIN, SERIES)
    assert dead is not None  # what the kill left: a running job, a moved challenger alias
    assert moved != first.challenger_version
    challenger = model_registry.alias_version(tracking, SERIES, model_registry.CHALLENGER)
    assert challenger is not None and challenger.version == moved

    time.sleep(EXPIRY.total_seconds())  # no one renews the dead job's lease
    out = RT.retrain(
        engine, SERIES, tracking_uri=tracking, candidates=CANDIDATES, stale_after=EXPIRY, **FAST
    )
    assert out.status == RT.KEPT, out.reason
    gone = J.get_job(engine, dead.id)
    assert gone.status == J.ABANDONED and gone.reason is not None
    assert gone.reason.startswith("abandoned: its process stopped renewing at ")
    assert out.job_id in gone.reason
    repaired = [w for w in out.warnings if w.startswith("challenger alias was on")]
    assert repaired and f"version {moved}, registered after the served" in repaired[0]
    assert f"recorded {first.challenger_version}" in repaired[0]
    now = current_forecast(engine, SERIES, with_samples=False)
    assert now is not None and now.id != served.id and now.job_id == out.job_id
