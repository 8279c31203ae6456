"""An accuracy alarm makes the champion unproven at the next retrain: it competes as one
more candidate, so a candidate with a lower backtest CRPS replaces it without having to
clear the bootstrap interval. The live accuracy is logged to the champion's MLflow run.
Synthetic daily counts drawn by code (a level shift)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cadence.experiments.accuracy.rolling import DriftBand
from cadence.experiments.accuracy.scores import score_served
from cadence.experiments.backtest import ModelConfig
from cadence.experiments.tracking import mlflow_client, quiet_mlflow
from cadence.jobs.replay import replay
from cadence.jobs.retrain import job as RT
from cadence.service.accuracy.rescoring import rescore
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import NewForecast, current_forecast, write_forecasts
from cadence.store.ingest import ingest_counts
from cadence.store.jobs_repo import get_job

SERIES = "synthetic-unproven"
FAST: dict[str, Any] = dict(
    recent_origins=4, every=7, horizon=7, n_samples=200, n_boot=200, plots=False
)
CLIM = ModelConfig("climatology")
# on this series the 56-day window scores a lower CRPS than the 35-day one on the recent
# origins, but not by a margin the bootstrap interval can tell from zero
CHAMPION = ModelConfig("recent_rate", {"window": 35})
CANDIDATE = ModelConfig("recent_rate", {"window": 56})
QUIET = DriftBand(low=0.0, high=1.0)  # no coverage leaves it
# every 80% coverage above 1% leaves this band: the alarm fires on any scored forecast
LOUD = DriftBand(low=0.0, high=0.01, min_scores=5)


def _counts() -> pd.DataFrame:
    """240 synthetic days: mean 1/day, then 6/day from day 150."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=240, freq="D")
    mean = np.where(np.arange(240) < 150, 1.0, 6.0)
    return pd.DataFrame(
        {
            "series": SERIES,
            "date": days.strftime("%Y-%m-%d"),
            "count": rng.poisson(mean).astype(str),
        }
    )


def _home(root: Path) -> tuple[str, str]:
    return f"sqlite:///{root / 'cadence.db'}", f"sqlite:///{root / 'mlflow.db'}"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CHAMPION serves, and an earlier forecast of its configuration was served
    and scored."""
    root = tmp_path_factory.mktemp("unproven")
    db, tracking = _home(root)
    engine = make_engine(db)
    migrate.upgrade(engine)
    ingest_counts(engine, [_counts()], frequency="D", source="synthetic")
    with quiet_mlflow():
        first = RT.retrain(
            engine, SERIES, tracking_uri=tracking, candidates=[CLIM, CHAMPION], **FAST
        )
    assert first.status == RT.PROMOTED and first.champion == CHAMPION.key, first.reason
    served = current_forecast(engine, SERIES, with_samples=False)
    assert served is not None
    body, fc = replay(engine, SERIES, "2024-07-18", tracking_uri=tracking, config=CHAMPION)
    earlier = NewForecast(
        origin=fc.origin.date(),
        horizon=28,
        generated_at=served.generated_at - dt.timedelta(days=30),
        model_name=CHAMPION.key,
        payload=body,
        samples=fc.samples,
        model_version=served.model_version,
        run_id=served.run_id,
    )
    write_forecasts(engine, SERIES, [earlier])
    assert score_served(engine, SERIES).scored > 0
    engine.dispose()
    return root


def _retrain(seeded: Path, tmp_path: Path, band: DriftBand) -> RT.RetrainOutcome:
    for name in ("cadence.db", "mlflow.db"):
        shutil.copy(seeded / name, tmp_path / name)
    shutil.copytree(seeded / "mlartifacts", tmp_path / "mlartifacts", dirs_exist_ok=True)
    db, tracking = _home(tmp_path)
    engine = make_engine(db)
    try:
        with quiet_mlflow():
            return RT.retrain(
                engine,
                SERIES,
                tracking_uri=tracking,
                candidates=[CANDIDATE],
                drift_band=band,
                **FAST,
            )
    finally:
        engine.dispose()


def test_without_an_alarm_the_champion_keeps_its_advantage(seeded: Path, tmp_path: Path) -> None:
    out = _retrain(seeded, tmp_path, QUIET)
    assert out.crps[CANDIDATE.key] < out.crps[CHAMPION.key]
    assert out.difference is not None and out.difference[1] < 0 < out.difference[2]
    assert out.status == RT.KEPT and out.champion == CHAMPION.key, out.reason
    assert "unproven" not in out.reason


def test_an_alarm_makes_the_champion_unproven(seeded: Path, tmp_path: Path) -> None:
    out = _retrain(seeded, tmp_path, LOUD)
    assert out.crps[CANDIDATE.key] < out.crps[CHAMPION.key]
    assert out.status == RT.PROMOTED and out.champion == CANDIDATE.key, out.reason
    assert out.previous_champion == CHAMPION.key
    assert out.reason.startswith("champion unproven (80% interval coverage")
    assert out.job_id is not None
    assert "the champion competing as a candidate" in out.reason
    engine = make_engine(_home(tmp_path)[0])
    details = get_job(engine, out.job_id).details
    engine.dispose()
    assert details is not None and "coverage" in details["unproven"][0]


def test_live_accuracy_is_logged_to_the_served_champions_run(seeded: Path, tmp_path: Path) -> None:
    for name in ("cadence.db", "mlflow.db"):
        shutil.copy(seeded / name, tmp_path / name)
    settings = Settings(home=tmp_path)
    engine = make_engine(settings.resolved_database_url)
    served = current_forecast(engine, SERIES, with_samples=False)
    assert served is not None and served.run_id is not None
    with quiet_mlflow():
        runs = rescore(engine, [SERIES], settings)
        metrics = mlflow_client(settings.resolved_tracking_uri).get_run(served.run_id).data.metrics
    engine.dispose()
    rolling = runs[0].rolling
    assert rolling is not None and rolling.n == 28
    assert metrics["live_n"] == 28
    assert metrics["live_crps"] == pytest.approx(rolling.crps)
    assert metrics["live_coverage_80"] == pytest.approx(rolling.coverage_80)
    assert metrics["live_alarm"] == 0.0
