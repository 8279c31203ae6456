"""``cadence retrain`` and ``cadence forecast`` end to end on a synthetic series (daily
counts drawn by code): exit statuses, JSON, and the stored forecast printed back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cadence.experiments.tracking import mlflow_client, quiet_mlflow
from cadence.service.cli import main
from cadence.store import jobs_repo as J
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.ingest import ingest_counts

SERIES = "synthetic-cli"


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli-templates")
    engine = make_engine(f"sqlite:///{root / 'cadence.db'}")
    migrate.upgrade(engine)
    rng = np.random.default_rng(11)
    days = pd.date_range("2024-01-01", periods=160, freq="D")
    counts = pd.DataFrame(
        {
            "series": SERIES,
            "date": days.strftime("%Y-%m-%d"),
            "count": rng.poisson(3.0, 160).astype(str),
        }
    )
    ingest_counts(engine, [counts], frequency="D", source="synthetic")
    engine.dispose()
    with quiet_mlflow():
        mlflow_client(f"sqlite:///{root / 'mlflow.db'}").search_experiments()
    return root / "cadence.db", root / "mlflow.db"


@pytest.fixture
def home(templates: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(templates[0], tmp_path / "cadence.db")
    shutil.copy(templates[1], tmp_path / "mlflow.db")
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path))
    for var in ("CADENCE_DATABASE_URL", "CADENCE_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


FAST = [
    "--horizon",
    "7",
    "--origins",
    "3",
    "--samples",
    "100",
    "--models",
    "climatology,recent_rate",
]


def test_retrain_then_forecast(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "--series", SERIES]) == 2  # nothing served yet
    capsys.readouterr()
    assert main(["retrain", "--series", SERIES, "--json", *FAST]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)
    assert outcome["status"] == "promoted" and outcome["champion_version"] == "1"
    assert set(outcome["crps"]) == {"climatology", "recent_rate"}

    assert main(["forecast", "--series", SERIES, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["model"]["name"] == outcome["champion"] and body["model"]["version"] == "1"
    assert len(body["periods"]) == 7 and body["origin"] == "2024-06-08"
    assert main(["forecast", "--series", SERIES, "--json", "--horizon", "3"]) == 0
    short = json.loads(capsys.readouterr().out)
    assert short["periods"] == body["periods"][:3]  # same paths, fewer periods
    assert [w["days"] for w in short["windows"]] == []
    assert main(["forecast", "--series", SERIES, "--horizon", "8"]) == 2
    assert main(["forecast", "--series", SERIES]) == 0
    assert "window totals" in capsys.readouterr().out


def test_exit_statuses(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["retrain", "--series", "no-such-series", *FAST]) == 2
    assert main(["retrain", *FAST]) == 2  # neither --series nor --all
    assert main(["retrain", "--series", SERIES, "--models", "nope"]) == 2
    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    try:
        J.start_job(engine, J.KIND_RETRAIN, SERIES)  # another retrain holds the lock
        assert main(["retrain", "--all", "--json", *FAST]) == 1
    finally:
        engine.dispose()
    doc = json.loads(capsys.readouterr().out)
    (outcome,) = doc["series"]
    assert doc["summary"]["statuses"] == {"failed": 1}
    assert outcome["status"] == "failed" and "already running" in outcome["reason"]
