"""The retraining job: promotion on evidence, and every failure leaving the served
champion untouched. The series is synthetic (daily counts drawn by code, with a level
shift so that a recent-rate model clearly beats climatology)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from cadence.experiments import model_registry
from cadence.experiments.backtest import ModelConfig
from cadence.experiments.tracking import mlflow_client, quiet_mlflow
from cadence.jobs.retrain import job as RT
from cadence.models import lookup
from cadence.models.baselines import RecentRate
from cadence.models.forecast import CountForecast
from cadence.store import jobs_repo as J
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import current_forecast
from cadence.store.ingest import ingest_counts

SERIES = "synthetic-shift"
FAST = dict(recent_origins=4, every=7, horizon=7, n_samples=200, n_boot=200, plots=False)
CLIM = ModelConfig("climatology")
RECENT = ModelConfig("recent_rate")
WIDE = ModelConfig("recent_rate", {"window": 60})  # also beats climatology on this series
SHORT = ModelConfig("recent_rate", {"window": 14})


def _synthetic_counts(seed: int = 0) -> pd.DataFrame:
    """240 synthetic days: a quiet stretch (mean 1/day), then a busy one (mean 6/day)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", periods=240, freq="D")
    mean = np.where(np.arange(240) < 150, 1.0, 6.0)
    return pd.DataFrame(
        {
            "series": SERIES,
            "date": days.strftime("%Y-%m-%d"),
            "count": rng.poisson(mean).astype(str),
        }
    )


def _copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite file (WAL included), via the backup API."""
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


@dataclass
class Stores:
    engine: Engine
    tracking_uri: str


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A database with the synthetic series and a registry whose champion (version 1,
    recent_rate) serves a forecast: built once, copied for each test."""
    root = tmp_path_factory.mktemp("seeded")
    db, mdb = root / "cadence.db", root / "mlflow.db"
    with quiet_mlflow():  # an empty store first, kept for tests that start from nothing
        mlflow_client(f"sqlite:///{mdb}").search_experiments()
    _copy_sqlite(mdb, root / "empty-mlflow.db")
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    ingest_counts(engine, [_synthetic_counts()], frequency="D", source="synthetic")
    out = RT.retrain(
        engine, SERIES, tracking_uri=f"sqlite:///{mdb}", candidates=[CLIM, RECENT], **FAST
    )
    assert out.status == RT.PROMOTED, out.reason
    engine.dispose()
    yield db, mdb


@pytest.fixture
def stores(seeded: tuple[Path, Path], tmp_path: Path) -> Iterator[Stores]:
    db, mdb = tmp_path / "cadence.db", tmp_path / "mlflow.db"
    _copy_sqlite(seeded[0], db)
    _copy_sqlite(seeded[1], mdb)
    engine = make_engine(f"sqlite:///{db}")
    yield Stores(engine, f"sqlite:///{mdb}")
    engine.dispose()


def _champion(s: Stores) -> tuple[str, str | None]:
    found = model_registry.alias_version(s.tracking_uri, SERIES)
    assert found is not None and found.config is not None
    return found.version, found.config.key


def _served_id(s: Stores) -> int:
    cur = current_forecast(s.engine, SERIES, with_samples=False)
    assert cur is not None
    return cur.id


def _assert_untouched(s: Stores, served: int, job_id: str | None, reason: str) -> None:
    assert _champion(s) == ("1", "recent_rate")
    assert _served_id(s) == served
    assert job_id is not None
    job = J.get_job(s.engine, job_id)
    assert job.status == J.FAILED
    assert job.reason is not None and reason in job.reason
    assert J.running_job(s.engine, J.KIND_RETRAIN, SERIES) is None


# --- the seeded state and promotion ----------------------------------------------------------


def test_first_retrain_serves_what_the_registered_champion_forecasts(
    seeded: tuple[Path, Path], stores: Stores
) -> None:
    assert _champion(stores) == ("1", "recent_rate")
    served = current_forecast(stores.engine, SERIES)
    assert served is not None and served.samples is not None
    body = served.payload
    assert body["model"] == {"name": "recent_rate", "version": "1", "run_id": served.run_id}
    assert body["origin"] == "2024-08-27" and len(body["periods"]) == 7
    # the registry's champion, loaded by alias, draws the served paths with the same seed
    model = model_registry.load_forecaster(stores.tracking_uri, SERIES)
    out = model.predict(pd.DataFrame({"horizon": [7], "n_samples": [200], "seed": [0]}))
    np.testing.assert_allclose(out["mean"].to_numpy(), served.samples.mean(axis=0))
    assert [p["mean"] for p in body["periods"]] == pytest.approx(list(out["mean"]), abs=1e-6)
    job = J.get_job(stores.engine, str(served.job_id))
    assert job.status == J.SUCCEEDED and job.details is not None
    assert job.details["champion"] == "recent_rate"


def test_better_candidate_promoted_and_worse_one_not(stores: Stores) -> None:
    s = stores
    # a worse candidate (climatology) against the recent-rate champion: kept, refitted
    kept = RT.retrain(s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[CLIM], **FAST)
    assert kept.status == RT.KEPT and kept.champion == "recent_rate"
    assert (kept.previous_version, kept.champion_version) == ("1", "2")
    assert kept.crps["recent_rate"] < kept.crps["climatology"]
    steps = [
        "lock",
        "registry",
        "data",
        "backtest",
        "tracking",
        "decide",
        "refit",
        "drivers",
        "register",
        "challenger",
        "serve",
    ]
    assert list(kept.step_seconds) == steps
    assert sum(kept.step_seconds.values()) == pytest.approx(kept.seconds, abs=0.05)
    # a clearly better candidate (a shorter recent window) against a climatology champion
    model_registry.set_alias(
        s.tracking_uri, SERIES, model_registry.CHAMPION, _register_climatology(s)
    )
    with s.engine.begin() as conn:  # serve what the alias says, as a retrain would
        conn.exec_driver_sql("DELETE FROM forecasts")
    better = ModelConfig("recent_rate", {"window": 14})
    out = RT.retrain(s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[better], **FAST)
    assert out.status == RT.PROMOTED, out.reason
    assert out.previous_champion == "climatology" and out.champion == better.key
    assert out.difference is not None and out.difference[2] < 0  # interval below zero
    assert _champion(s) == (out.champion_version, better.key)
    served = current_forecast(s.engine, SERIES, with_samples=False)
    assert served is not None and served.model_name == better.key


def _register_climatology(s: Stores) -> str:
    model = lookup.make_model("climatology")
    panel = pd.DataFrame(
        {"count": np.ones(60)}, index=pd.date_range("2024-06-29", periods=60, freq="D", name="date")
    )
    model.fit(panel)
    version = model_registry.register_forecaster(
        model,
        CLIM,
        series=SERIES,
        frequency="D",
        origin=pd.Timestamp("2024-08-27"),
        future=None,
        max_horizon=7,
        tracking_uri=s.tracking_uri,
        aliases=(),
    ).version
    return version


# --- the challenger alias -----------------------------------------------------------------


def _eligible(s: Stores, out: RT.RetrainOutcome) -> list[str]:
    job = J.get_job(s.engine, str(out.job_id))
    assert job.details is not None
    return list(job.details["eligible"])


def test_challenger_is_the_best_candidate_not_served(stores: Stores) -> None:
    s = stores
    assert (
        model_registry.alias_version(s.tracking_uri, SERIES, model_registry.CHALLENGER) is None
    )  # seeded: no runner-up
    out = RT.retrain(
        s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[CLIM, RECENT, WIDE], **FAST
    )
    assert out.status in (RT.KEPT, RT.PROMOTED), out.reason
    eligible = _eligible(s, out)
    assert set(eligible) == {RECENT.key, WIDE.key}  # both beat climatology here
    runner_up = next(k for k in eligible if k != out.champion)
    assert out.challenger == runner_up and out.challenger_version == "3"
    assert out.champion_version == "2" and _champion(s) == ("2", out.champion)
    found = model_registry.alias_version(s.tracking_uri, SERIES, model_registry.CHALLENGER)
    assert found is not None and found.config is not None
    assert (found.version, found.config.key) == ("3", runner_up)
    with quiet_mlflow():
        mv = mlflow_client(s.tracking_uri).get_model_version(f"cadence-{SERIES}", "3")
    assert mv.tags["cadence.promoted"] == "false" and mv.tags["cadence.job_id"] == out.job_id
    assert mv.run_id == out.run_ids[runner_up]  # logged into its own backtest run
    # loaded by alias, the challenger forecasts like the runner-up it is
    model = model_registry.load_forecaster(s.tracking_uri, SERIES, model_registry.CHALLENGER)
    assert model.unwrap_python_model().model.window == (60 if runner_up == WIDE.key else None)
    summary = model.predict(pd.DataFrame({"horizon": [7], "n_samples": [100], "seed": [0]}))
    assert len(summary) == 7 and (summary["mean"] > 0).all()
    job = J.get_job(s.engine, str(out.job_id))
    assert job.details is not None
    assert (job.details["challenger"], job.details["challenger_version"]) == (runner_up, "3")
    # a retrain where no candidate beats climatology leaves no challenger
    alone = RT.retrain(s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[CLIM], **FAST)
    assert alone.status != RT.FAILED_OUTCOME, alone.reason
    assert alone.challenger is None and alone.as_dict()["challenger_version"] is None
    assert model_registry.alias_version(s.tracking_uri, SERIES, model_registry.CHALLENGER) is None


def test_challenger_refit_failure_skips_to_the_next_candidate(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = RT.fit_and_forecast

    def refit_fails_for_wide(data: Any, config: ModelConfig, *a: Any, **kw: Any) -> Any:
        if config.key == WIDE.key:
            raise np.linalg.LinAlgError("synthetic failure: singular matrix at refit")
        return real(data, config, *a, **kw)

    monkeypatch.setattr(RT, "fit_and_forecast", refit_fails_for_wide)
    s = stores
    out = RT.retrain(
        s.engine,
        SERIES,
        tracking_uri=s.tracking_uri,
        candidates=[CLIM, RECENT, WIDE, SHORT],
        **FAST,
    )
    assert out.status != RT.FAILED_OUTCOME, out.reason
    eligible = _eligible(s, out)
    assert WIDE.key in eligible and len(eligible) == 3
    expected = next(k for k in eligible if k not in (out.champion, WIDE.key))
    assert out.challenger == expected and out.champion != WIDE.key
    found = model_registry.alias_version(s.tracking_uri, SERIES, model_registry.CHALLENGER)
    assert found is not None and found.config is not None and found.config.key == expected
    assert any(WIDE.key in w and "singular" in w for w in out.warnings)


# --- a model that raises ------------------------------------------------------------------


class BrokenModel(RecentRate):
    """Fits nothing: raises like a model whose optimizer diverged."""

    name = "broken"

    def fit(self, panel: pd.DataFrame, target: str = "count", intervals: Any = None) -> Self:
        raise FloatingPointError("synthetic failure: the optimizer diverged")


def test_failing_candidate_leaves_the_champion(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = dict(lookup.REGISTRY)
    specs["broken"] = lookup.ModelSpec("broken", f"{__name__}:BrokenModel", "raises")
    monkeypatch.setattr(lookup, "REGISTRY", MappingProxyType(specs))
    s = stores
    out = RT.retrain(
        s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[ModelConfig("broken")], **FAST
    )
    assert out.status == RT.KEPT and out.champion == "recent_rate"
    assert any("broken" in f and "diverged" in f for f in out.failures)
    with quiet_mlflow():
        run = mlflow_client(s.tracking_uri).get_run(out.run_ids["broken"])
    assert run.data.tags["cadence.failed"] == "true"
    assert "diverged" in run.data.tags["cadence.failures"]


def test_refit_failure_falls_back_and_tags_the_run(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = RT.fit_and_forecast

    def refit_fails_for_recent_rate(data: Any, config: ModelConfig, *a: Any, **kw: Any) -> Any:
        if config.key == "recent_rate":
            raise np.linalg.LinAlgError("synthetic failure: singular matrix at refit")
        return real(data, config, *a, **kw)

    monkeypatch.setattr(RT, "fit_and_forecast", refit_fails_for_recent_rate)
    s = stores
    out = RT.retrain(
        s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[CLIM, RECENT], **FAST
    )
    assert out.status == RT.FALLBACK and out.champion == "climatology"
    assert any("singular" in w for w in out.warnings)
    with quiet_mlflow():
        run = mlflow_client(s.tracking_uri).get_run(out.run_ids["recent_rate"])
    assert "singular" in run.data.tags["cadence.refit_failed"]


def test_refit_failure_serves_the_next_eligible_candidate(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two candidates beat climatology; the better one cannot be refitted on all the
    data: the other eligible one serves (not the baseline)."""
    real = RT.fit_and_forecast
    short = ModelConfig("recent_rate", {"window": 14, "family": "nb"})
    out0 = RT.retrain(
        stores.engine,
        SERIES,
        tracking_uri=stores.tracking_uri,
        candidates=[CLIM, RECENT, short],
        **FAST,
    )
    first = out0.champion
    assert first in {RECENT.key, short.key}
    other = short.key if first == RECENT.key else RECENT.key

    def refit_fails_for_the_best(data: Any, config: ModelConfig, *a: Any, **kw: Any) -> Any:
        if config.key == first and a and a[0] == data.last_period:
            raise np.linalg.LinAlgError("synthetic failure: singular matrix at refit")
        return real(data, config, *a, **kw)

    monkeypatch.setattr(RT, "fit_and_forecast", refit_fails_for_the_best)
    out = RT.retrain(
        stores.engine,
        SERIES,
        tracking_uri=stores.tracking_uri,
        candidates=[CLIM, RECENT, short],
        **FAST,
    )
    assert out.champion == other and out.status == RT.FALLBACK
    assert any("singular" in w for w in out.warnings)


# --- infrastructure failures ---------------------------------------------------------------


def test_mlflow_unreachable_records_the_job_and_changes_nothing(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = stores
    served = _served_id(s)

    def unreachable(*_a: Any, **_k: Any) -> Any:
        raise MlflowException("API request failed: connection refused (synthetic)")

    with monkeypatch.context() as m:
        m.setattr(MlflowClient, "get_model_version_by_alias", unreachable)
        out = RT.retrain(s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[RECENT], **FAST)
    assert out.status == RT.FAILED_OUTCOME and out.reason.startswith("registry:")
    _assert_untouched(s, served, out.job_id, "connection refused")


def test_alias_move_failure_rolls_the_forecast_back(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = stores
    served = _served_id(s)
    model_registry.set_alias(
        s.tracking_uri, SERIES, model_registry.CHALLENGER, "1"
    )  # some earlier challenger
    real = MlflowClient.set_registered_model_alias

    def refuse_champion(self: MlflowClient, name: str, alias: str, version: str) -> None:
        if alias == model_registry.CHAMPION:
            raise MlflowException("registry unavailable (synthetic)")
        real(self, name, alias, version)

    with monkeypatch.context() as m:
        m.setattr(MlflowClient, "set_registered_model_alias", refuse_champion)
        out = RT.retrain(
            s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[RECENT, WIDE], **FAST
        )
    assert out.status == RT.FAILED_OUTCOME and out.reason.startswith("serve:")
    _assert_untouched(s, served, out.job_id, "registry unavailable")
    # the refitted champion and a challenger were registered (versions 2 and 3), but the
    # challenger alias moved with the failed transaction is back where it was
    assert out.challenger is None
    challenger = model_registry.alias_version(s.tracking_uri, SERIES, model_registry.CHALLENGER)
    assert challenger is not None and challenger.version == "1"
    with quiet_mlflow():
        versions = mlflow_client(s.tracking_uri).search_model_versions(f"name='cadence-{SERIES}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2", "3"]


def test_database_locked_at_write_changes_nothing(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = stores
    served = _served_id(s)

    def locked(*_a: Any, **_k: Any) -> int:
        raise OperationalError(
            "INSERT INTO forecasts", {}, sqlite3.OperationalError("database is locked")
        )

    monkeypatch.setattr(RT, "write_forecast", locked)
    out = RT.retrain(s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[RECENT], **FAST)
    assert out.status == RT.FAILED_OUTCOME
    _assert_untouched(s, served, out.job_id, "database is locked")


def test_exception_between_registering_and_writing_is_recorded_and_raised(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = stores
    served = _served_id(s)

    def boom(*_a: Any, **_k: Any) -> CountForecast:
        raise RuntimeError("synthetic bug after registering")

    monkeypatch.setattr(RT, "served_forecast", boom)
    with pytest.raises(RuntimeError, match="after registering"):
        RT.retrain(s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[RECENT], **FAST)
    jobs = J.list_jobs(s.engine, kind=J.KIND_RETRAIN, series=SERIES, limit=1)
    _assert_untouched(s, served, jobs[0].id, "serve: RuntimeError")


def test_killed_process_is_taken_over_and_the_alias_repaired(stores: Stores) -> None:
    s = stores
    served = _served_id(s)
    # a process killed (SIGKILL) after moving the alias, before its commit: its job row
    # stays running and the alias points at a version that was never served
    dead = J.start_job(s.engine, J.KIND_RETRAIN, SERIES)
    model_registry.set_alias(
        s.tracking_uri, SERIES, model_registry.CHAMPION, _register_climatology(s)
    )
    with pytest.raises(J.JobConflictError):  # not stale yet: the lock holds
        RT.retrain(s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[RECENT], **FAST)
    assert _served_id(s) == served
    out = RT.retrain(
        s.engine,
        SERIES,
        tracking_uri=s.tracking_uri,
        candidates=[RECENT],
        stale_after=dt.timedelta(0),
        **FAST,
    )
    assert J.get_job(s.engine, dead.id).status == J.ABANDONED
    assert any("alias restored" in w for w in out.warnings)
    assert out.previous_version == "1" and out.previous_champion == "recent_rate"
    assert out.status == RT.KEPT and _served_id(s) != served


def test_interrupt_is_recorded_and_leaves_the_champion(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = stores
    served = _served_id(s)

    def interrupted(*_a: Any, **_k: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(RT, "write_forecast", interrupted)
    with pytest.raises(KeyboardInterrupt):
        RT.retrain(s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[RECENT], **FAST)
    jobs = J.list_jobs(s.engine, kind=J.KIND_RETRAIN, series=SERIES, limit=1)
    _assert_untouched(s, served, jobs[0].id, "serve: KeyboardInterrupt")


def test_second_concurrent_retrain_is_refused(stores: Stores) -> None:
    s = stores
    inside, release = threading.Event(), threading.Event()
    results: list[RT.RetrainOutcome] = []

    def hold_at_backtest(step: str) -> None:
        if step == "backtest":
            inside.set()
            release.wait(30)

    def first() -> None:
        results.append(
            RT.retrain(
                s.engine,
                SERIES,
                tracking_uri=s.tracking_uri,
                candidates=[RECENT],
                progress=hold_at_backtest,
                **FAST,
            )
        )

    t = threading.Thread(target=first)
    t.start()
    try:
        assert inside.wait(60)
        with pytest.raises(J.JobConflictError, match="already running"):
            RT.retrain(s.engine, SERIES, tracking_uri=s.tracking_uri, candidates=[RECENT], **FAST)
    finally:
        release.set()
        t.join(60)
    assert results and results[0].status == RT.KEPT


def test_no_origin_fails_cleanly(stores: Stores) -> None:
    s = stores
    served = _served_id(s)
    out = RT.retrain(
        s.engine,
        SERIES,
        tracking_uri=s.tracking_uri,
        candidates=[RECENT],
        recent_origins=2,
        every=7,
        horizon=400,
        n_samples=50,
    )
    assert out.status == RT.FAILED_OUTCOME and "no origin" in out.reason
    _assert_untouched(s, served, out.job_id, "no origin")


# --- on each database backend -----------------------------------------------------------


@pytest.fixture(scope="module")
def empty_tracking(seeded: tuple[Path, Path]) -> Path:
    """An MLflow SQLite store with its tables and nothing else (creating them takes
    seconds, so the seeded fixture keeps a copy)."""
    return seeded[1].parent / "empty-mlflow.db"


def test_serve_and_refuse_on_each_backend(
    engine: Engine, empty_tracking: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy_sqlite(empty_tracking, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ingest_counts(engine, [_synthetic_counts(seed=3)], frequency="D", source="synthetic")
    first = RT.retrain(engine, SERIES, tracking_uri=uri, candidates=[CLIM, RECENT], **FAST)
    assert first.status == RT.PROMOTED and first.champion == "recent_rate"
    served = current_forecast(engine, SERIES)
    assert served is not None and served.samples is not None and served.samples.shape == (200, 7)
    assert served.payload["model"]["version"] == "1"

    def refuse(*_a: Any, **_k: Any) -> None:
        raise MlflowException("registry unavailable (synthetic)")

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", refuse)
    failed = RT.retrain(engine, SERIES, tracking_uri=uri, candidates=[RECENT], **FAST)
    assert failed.status == RT.FAILED_OUTCOME
    after = current_forecast(engine, SERIES, with_samples=False)
    assert after is not None and after.id == served.id
    assert J.get_job(engine, str(failed.job_id)).status == J.FAILED


# --- a real SIGKILL -------------------------------------------------------------------------

_KILLED_CHILD = """
import os, signal, sys
from cadence.experiments import model_registry
from cadence.jobs.retrain import job as RT
from cadence.experiments.backtest import ModelConfig
from cadence.store.engine import make_engine

real = model_registry.set_alias

def move_then_die(uri, series, alias, version):
    real(uri, series, alias, version)
    if alias == model_registry.CHAMPION:  # the alias moved; the forecast transaction is still open
        os.kill(os.getpid(), signal.SIGKILL)

model_registry.set_alias = move_then_die
engine = make_engine(sys.argv[1])
RT.retrain(engine, sys.argv[3], tracking_uri=sys.argv[2], candidates=[ModelConfig("recent_rate")],
           recent_origins=4, every=7, horizon=7, n_samples=200, n_boot=200, plots=False)
"""


@pytest.mark.slow
def test_sigkill_between_alias_and_commit_is_repaired(stores: Stores) -> None:
    s = stores
    served = _served_id(s)
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    url = s.engine.url.render_as_string(hide_password=False)
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_CHILD, url, s.tracking_uri, SERIES],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    # what the kill left: a running job, the alias on an unserved version, the old forecast
    dead = J.running_job(s.engine, J.KIND_RETRAIN, SERIES)
    assert dead is not None
    assert _champion(s)[0] == "2" and _served_id(s) == served
    out = RT.retrain(
        s.engine,
        SERIES,
        tracking_uri=s.tracking_uri,
        candidates=[RECENT],
        stale_after=dt.timedelta(0),
        **FAST,
    )
    assert any("alias restored" in w for w in out.warnings)
    assert out.previous_version == "1" and J.get_job(s.engine, dead.id).status == J.ABANDONED
    served_now = current_forecast(s.engine, SERIES, with_samples=False)
    assert served_now is not None and served_now.model_version == _champion(s)[0] == "3"
