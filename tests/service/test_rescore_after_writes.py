"""Rescoring after writes is bounded: only the series a write touched are rescored, a
burst of writes costs one rescoring per series (debounce), and the queue is capped.
Synthetic rows and forecasts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cadence.jobs.served_body import forecast_payload
from cadence.models.forecast import CountForecast
from cadence.service.accuracy import rescoring
from cadence.service.api import create_app
from cadence.service.catalog import apply_catalog_file
from cadence.service.settings import Settings
from cadence.store.apikeys_repo import create_key
from cadence.store.forecasts_repo import NewForecast, write_forecast
from cadence.store.ingest import ingest_events

CATALOG = """
series:
  - name: synthetic-attacks
    frequency: D
    target:
      events: {kind: attack, target: US forces}
  - name: synthetic-protests
    frequency: D
    target:
      events: {kind: protest, source: other-feed}
  - name: synthetic-counts
    frequency: D
    target: {observations: true}
"""


def _forecast(engine: Engine, series: str) -> None:
    rng = np.random.default_rng(0)
    fc = CountForecast(
        origin=pd.Timestamp("2024-01-05"),
        samples=rng.poisson(2, size=(50, 7)),
        index=pd.date_range("2024-01-06", periods=7, freq="D"),
    )
    at = dt.datetime(2024, 1, 6, tzinfo=dt.UTC)
    payload = forecast_payload(
        series, "D", fc, model_name="m", version="1", run_id="", generated_at=at
    )
    with engine.begin() as conn:
        write_forecast(
            conn,
            series,
            NewForecast(
                origin=fc.origin.date(),
                horizon=7,
                generated_at=at,
                model_name="m",
                payload=payload,
                samples=fc.samples,
            ),
        )


def _event(i: int, kind: str, source: str, target: str = "") -> dict[str, str]:
    return {
        "date": "2024-01-07",
        "kind": kind,
        "target": target,
        "source": source,
        "source_id": f"e{i}",
    }


@pytest.fixture
def served(engine: Engine, tmp_path: Path) -> Engine:
    (tmp_path / "c.yaml").write_text(CATALOG)
    apply_catalog_file(engine, tmp_path / "c.yaml")
    ingest_events(
        engine,
        [
            pd.DataFrame(
                [_event(0, "attack", "news", "US forces"), _event(1, "protest", "other-feed")]
            )
        ],
    )
    for name in ("synthetic-attacks", "synthetic-protests", "synthetic-counts"):
        _forecast(engine, name)
    return engine


def test_writes_rescore_only_the_touched_series_once(
    served: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(rescoring, "rescore", lambda _e, names, _s, **_k: calls.append(list(names)))
    key = create_key(served, "writer", ("write",))[0]
    settings = Settings(home=tmp_path / "home", database_url=db_url, rescore_debounce_seconds=1)
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as c:
        queue = c.app.state.rescore_queue  # type: ignore[attr-defined]
        for i in range(5):  # a burst of writes of attacks: one series' truth
            rows = [_event(10 + i, "Attack", "news", "US forces")]
            assert c.post("/v1/events", json={"rows": rows}, headers=auth).status_code == 200
        assert queue.wait_idle(30)
        burst = calls[:]
        # a row of the attacks' feed extends where that series ends: it is touched too
        rows = [_event(20, "riot", "news")]
        assert c.post("/v1/events", json={"rows": rows}, headers=auth).status_code == 200
        assert queue.wait_idle(30)
        feed_end = calls[len(burst) :]
        rows = [_event(21, "riot", "unrelated-feed")]  # touches no served series
        assert c.post("/v1/events", json={"rows": rows}, headers=auth).status_code == 200
        counts = {"series": "synthetic-counts", "rows": [{"date": "2024-01-06", "count": 3}]}
        assert c.post("/v1/counts", json=counts, headers=auth).status_code == 200
        assert queue.wait_idle(30)
        last = calls[len(burst) + len(feed_end) :]
    # fewer rescorings than writes (one when the burst fits in the debounce window)
    assert 1 <= len(burst) < 5 and all(names == ["synthetic-attacks"] for names in burst)
    assert feed_end == [["synthetic-attacks"]]
    assert last == [["synthetic-counts"]]
