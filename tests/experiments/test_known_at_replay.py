"""Replays of what was known when: ``cadence forecast --as-of DATE --known-at INSTANT``
reproduces the forecast the retrain job served at that instant exactly, while a replay
by event date alone differs once late reports (events dated before the origin, ingested
after the forecast was served) and corrections (events re-dated) are stored. The events
are synthetic (Poisson counts per day, drawn by code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cadence.experiments.backtest import ModelConfig
from cadence.experiments.tracking import quiet_mlflow
from cadence.features.spec import SeriesSpec
from cadence.jobs.retrain import job as RT
from cadence.service.cli import main
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import current_forecast
from cadence.store.ingest import ingest_events
from cadence.store.series_repo import apply_series

SERIES = "synthetic-attacks"
DAYS = 120


def _events(
    rng: np.random.Generator, days: pd.DatetimeIndex, rate: float, tag: str
) -> pd.DataFrame:
    """Synthetic attack events: Poisson(``rate``) rows per day."""
    per_day = rng.poisson(rate, len(days))
    dates = np.repeat(days.strftime("%Y-%m-%d").to_numpy(), per_day)
    return pd.DataFrame(
        {
            "date": dates,
            "kind": "attack",
            "source": "synthetic",
            "source_id": [f"{tag}-{i:05d}" for i in range(len(dates))],
        }
    )


def _replay(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["forecast", "--series", SERIES, "--json", "--horizon", "7", *args]) == 0
    body: dict[str, Any] = json.loads(capsys.readouterr().out)
    return body


def test_a_known_at_replay_reproduces_the_served_forecast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path))
    for var in ("CADENCE_DATABASE_URL", "CADENCE_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'cadence.db'}")
    migrate.upgrade(engine)
    spec = SeriesSpec.from_dict(
        {"name": SERIES, "frequency": "D", "target": {"events": {"kind": "attack"}}}
    )
    with engine.begin() as conn:
        apply_series(conn, SERIES, "D", observed=False, definition=spec.to_dict())
    days = pd.date_range("2024-01-01", periods=DAYS, freq="D")
    ingest_events(engine, [_events(np.random.default_rng(0), days, 3.0, "a")], source_label="t")
    with quiet_mlflow():
        out = RT.retrain(
            engine,
            SERIES,
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
            candidates=[ModelConfig("recent_rate", {"window": 14})],
            recent_origins=3,
            every=7,
            horizon=7,
            n_samples=1000,
            n_boot=200,
            plots=False,
        )
    assert out.status == RT.PROMOTED, out.reason
    served = current_forecast(engine, SERIES)
    assert served is not None
    as_of = served.origin.isoformat()
    known_at = served.generated_at.isoformat()
    # late reports: two attacks on each of the last five days before the origin, stored now
    late_days = pd.date_range(end=pd.Timestamp(served.origin), periods=5, freq="D")
    late = pd.DataFrame(
        {
            "date": np.repeat(late_days.strftime("%Y-%m-%d").to_numpy(), 2),
            "kind": "attack",
            "source": "synthetic",
            "source_id": [f"late-{i}" for i in range(10)],
        }
    )
    assert ingest_events(engine, [late], source_label="late").inserted == 10
    # corrections: six attacks reported early in the series are re-dated to the origin
    first = _events(np.random.default_rng(0), days, 3.0, "a").iloc[:6]
    moved = first.assign(date=as_of)
    assert ingest_events(engine, [moved], source_label="fix").updated == 6
    engine.dispose()

    replayed = _replay(capsys, "--as-of", as_of, "--known-at", known_at)
    assert replayed["known_at"] is not None and replayed["origin"] == as_of
    assert replayed["periods"] == served.payload["periods"]
    assert replayed["windows"] == served.payload["windows"]
    by_date = _replay(capsys, "--as-of", as_of)
    assert "known_at" not in by_date
    assert by_date["periods"] != served.payload["periods"]
    assert by_date["periods"][0]["mean"] > served.payload["periods"][0]["mean"]
    # a known-at instant before anything was stored knows no data
    assert main(["forecast", "--series", SERIES, "--as-of", as_of, "--known-at", "2000-01-01"]) == 2
    assert main(["forecast", "--series", SERIES, "--known-at", known_at]) == 2
