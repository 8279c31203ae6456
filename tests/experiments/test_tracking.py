"""MLflow runs of a backtest: params, scores by horizon as steps, tables and plots.
The series is synthetic (daily counts drawn by code)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from cadence.experiments.backtest import BacktestResult, ModelConfig, run_backtest
from cadence.experiments.data import load_series_data
from cadence.experiments.tracking import (
    artifact_root_for,
    experiment_name,
    log_backtest,
    mlflow_client,
    quiet_mlflow,
)
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.ingest import ingest_counts

SERIES = "synthetic-daily"
CONFIGS = [ModelConfig("climatology"), ModelConfig("recent_rate", {"window": 14})]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> BacktestResult:
    root = tmp_path_factory.mktemp("tracking-data")
    engine: Engine = make_engine(f"sqlite:///{root / 'cadence.db'}")
    migrate.upgrade(engine)
    rng = np.random.default_rng(5)
    days = pd.date_range("2024-01-01", periods=150, freq="D")
    counts = pd.DataFrame(
        {
            "series": SERIES,
            "date": days.strftime("%Y-%m-%d"),
            "count": rng.poisson(np.linspace(1, 5, days.size)).astype(str),
        }
    )
    ingest_counts(engine, [counts], frequency="D", source="synthetic")
    data = load_series_data(engine, SERIES)
    engine.dispose()
    origins = [pd.Timestamp("2024-04-20") + pd.Timedelta(days=7 * i) for i in range(4)]
    return run_backtest(data, CONFIGS, origins=origins, horizon=10, n_samples=200, seed=1)


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its tables created once (creating them takes seconds)."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    with quiet_mlflow():
        mlflow_client(f"sqlite:///{path}").search_experiments()
    return path


def _store(empty_store: Path, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(empty_store, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


def test_one_run_per_model_with_params_metrics_and_artifacts(
    result: BacktestResult, empty_store: Path, tmp_path: Path
) -> None:
    uri = _store(empty_store, tmp_path / "ml")
    ids = log_backtest(result, tracking_uri=uri, configs=CONFIGS, n_samples=200, seed=1)
    assert set(ids) == {"climatology", "recent_rate[window=14]"}
    with quiet_mlflow():
        client = mlflow_client(uri)
        exp = client.get_experiment_by_name(experiment_name(SERIES))
        assert exp is not None
        assert exp.artifact_location.startswith(str(tmp_path / "ml" / "mlartifacts"))
        run = client.get_run(ids["recent_rate[window=14]"])
        p = run.data.params
        assert (p["model"], p["param.window"], p["series"], p["horizon"]) == (
            "recent_rate",
            "14",
            SERIES,
            "10",
        )
        assert (p["n_origins"], p["n_samples"], p["seed"], p["every"]) == ("4", "200", "1", "7D")
        assert p["first_origin"] == "2024-04-20" and p["code_version"]
        m = run.data.metrics
        all_row = result.scores[
            (result.scores["model"] == "recent_rate[window=14]")
            & (result.scores["horizon"] == "all")
        ].iloc[0]
        assert m["crps"] == pytest.approx(all_row["crps"])
        assert m["skill_vs_climatology"] == pytest.approx(
            result.skill_vs_climatology()["recent_rate[window=14]"]
        )
        history = client.get_metric_history(run.info.run_id, "crps_by_horizon")
        assert sorted(x.step for x in history) == list(range(1, 11))
        assert "crps_week" in m  # daily series: 7-day totals too
        files = {a.path for a in client.list_artifacts(run.info.run_id, "tables")}
        files |= {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert files == {
            "tables/per_origin_scores.csv",
            "tables/forecasts.csv",
            "plots/fan_chart.png",
            "plots/pit_histogram.png",
            "plots/reliability.png",
        }
        local = Path(client.download_artifacts(run.info.run_id, "tables", str(tmp_path)))
    forecasts = pd.read_csv(local / "forecasts.csv")
    assert len(forecasts) == 4 * 10 and (forecasts["q0.05"] <= forecasts["q0.95"]).all()
    per_origin = pd.read_csv(local / "per_origin_scores.csv")
    assert len(per_origin) == 40 and set(per_origin["model"]) == {"recent_rate[window=14]"}
    assert run.info.status == "FINISHED"
    assert run.data.tags["cadence.failed"] == "false"


def test_failures_are_tagged_and_tabled(
    result: BacktestResult, empty_store: Path, tmp_path: Path
) -> None:
    origin = result.origins[0]
    failing = BacktestResult(
        series=result.series,
        frequency=result.frequency,
        horizon=result.horizon,
        origins=result.origins,
        forecasts=result.forecasts,
        scores=result.scores,
        per_origin=result.per_origin,
        failures=[("climatology", origin, "InsufficientDataError: synthetic")],
        window_scores=result.window_scores,
        window_per_origin=result.window_per_origin,
        models=result.models,
    )
    uri = _store(empty_store, tmp_path)
    ids = log_backtest(failing, tracking_uri=uri, experiment="other")
    with quiet_mlflow():
        client = mlflow_client(uri)
        run = client.get_run(ids["climatology"])
        assert run.data.tags["cadence.failed"] == "true"
        assert "InsufficientDataError" in run.data.tags["cadence.failures"]
        assert run.data.metrics["n_failures"] == 1.0
        paths = {a.path for a in client.list_artifacts(run.info.run_id, "tables")}
    assert "tables/failures.csv" in paths


def test_artifact_root_follows_the_uri() -> None:
    assert artifact_root_for("sqlite:////srv/mlflow/mlflow.db") == "/srv/mlflow/mlartifacts"
    assert artifact_root_for("http://mlflow.internal:5000") is None
    assert artifact_root_for("postgresql://u@db/mlflow") is None
    with pytest.raises(ValueError, match="sqlite"):
        mlflow_client("file:///tmp/mlruns")
