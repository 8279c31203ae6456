"""A series whose counts stop before its origin says so in the served body
(``counts_through``), from the single-series and the many-series retrain, and keeps
saying so in re-summaries. Synthetic rows: weekly tallies and daily sampled reports
drawn by code; the reports run two months past the last tally."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from cadence.experiments.backtest import ModelConfig
from cadence.jobs.retrain.job import retrain
from cadence.jobs.retrain.many import retrain_many
from cadence.service.catalog import apply_catalog_file
from cadence.service.cli import main
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import current_forecast
from cadence.store.ingest import ingest_counts, ingest_events, ingest_tallies

CATALOG = """
series:
  - name: synthetic-tallies
    frequency: D
    target: {observations: true}
    sampled: {kind: attack, target: US forces}
  - name: synthetic-counts
    frequency: D
    target: {observations: true}
"""
LAST_TALLY = "2024-03-31"
FAST = dict(
    candidates=[ModelConfig("climatology")],
    recent_origins=3,
    every=7,
    horizon=7,
    n_samples=200,
    n_boot=100,
)


def _stored(engine: Engine, tmp_path: Path) -> Engine:
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    apply_catalog_file(engine, tmp_path / "catalog.yaml")
    rng = np.random.default_rng(3)
    weeks = pd.date_range("2024-01-07", LAST_TALLY, freq="7D")
    totals = np.cumsum(rng.poisson(20, size=len(weeks)))
    tallies = pd.DataFrame(
        {
            "as_of_date": weeks.strftime("%Y-%m-%d"),
            "total": totals,
            "period_start": "2024-01-01",
        }
    )
    tallies.to_csv(tmp_path / "tallies.csv", index=False)
    ingest_tallies(engine, tmp_path / "tallies.csv", series="synthetic-tallies")
    days = pd.date_range("2024-01-01", "2024-05-31", freq="D")
    n = rng.poisson(2, size=len(days))
    dates = np.repeat(days.strftime("%Y-%m-%d"), n)
    events = pd.DataFrame(
        {
            "date": dates,
            "kind": "attack",
            "target": "US forces",
            "source": "synthetic",
            "source_id": [f"a{i}" for i in range(len(dates))],
        }
    )
    ingest_events(engine, [events])
    counts = pd.DataFrame(
        {
            "series": "synthetic-counts",
            "date": days.strftime("%Y-%m-%d"),
            "count": rng.poisson(3, size=len(days)).astype(str),
        }
    )
    ingest_counts(engine, [counts], source="synthetic")
    return engine


@pytest.fixture
def stored(engine: Engine, tmp_path: Path) -> Engine:
    return _stored(engine, tmp_path)


def test_a_retrain_past_the_last_tally_says_where_counts_end(
    stored: Engine, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = retrain(stored, "synthetic-tallies", tracking_uri=uri, plots=False, **FAST)
    assert out.status != "failed", out.reason
    body = current_forecast(stored, "synthetic-tallies").payload
    assert body["origin"] == "2024-05-31"  # the reports ran the series on
    assert body["counts_through"] == LAST_TALLY
    # a series counted up to its origin has no such field
    plain = retrain(stored, "synthetic-counts", tracking_uri=uri, plots=False, **FAST)
    assert plain.status != "failed", plain.reason
    assert "counts_through" not in current_forecast(stored, "synthetic-counts").payload


def test_the_many_series_retrain_says_it_too(stored: Engine, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run = retrain_many(stored, ["synthetic-tallies", "synthetic-counts"], tracking_uri=uri, **FAST)
    assert all(o.status != "failed" for o in run.outcomes), [o.reason for o in run.outcomes]
    assert current_forecast(stored, "synthetic-tallies").payload["counts_through"] == LAST_TALLY
    assert "counts_through" not in current_forecast(stored, "synthetic-counts").payload


def test_cadence_forecast_keeps_it_for_a_shorter_horizon(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    _stored(engine, tmp_path)
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CADENCE_DATABASE_URL", db_url)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("CADENCE_MLFLOW_TRACKING_URI", uri)
    retrain(engine, "synthetic-tallies", tracking_uri=uri, plots=False, **FAST)
    engine.dispose()
    capsys.readouterr()
    assert main(["forecast", "--series", "synthetic-tallies", "--horizon", "3", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert len(body["periods"]) == 3
    assert body["counts_through"] == LAST_TALLY
