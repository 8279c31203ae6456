"""GET /v1/series/{name}/observations of a series counted from events: the count per
period of the events its target selects, zeros included (synthetic events)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from cadence.service.api import create_app
from cadence.service.catalog import apply_catalog_file
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.ingest import ingest_events
from tests.conftest import SYNTHETIC_CATALOG

WEEKLY = SYNTHETIC_CATALOG.replace("synthetic-attacks", "synthetic-weekly").replace(
    "frequency: D", "frequency: W"
)


def _events() -> pd.DataFrame:
    rows = [
        ("2024-01-01", "attack", "US forces", "a1"),
        ("2024-01-01", "attack", "US forces", "a2"),
        ("2024-01-03", "attack", "US forces", "a3"),
        ("2024-01-04", "attack", "other forces", "o1"),  # not the target
        ("2024-01-02", "retaliation", "", "r1"),  # a driver, not counted
        ("2024-01-05", "protest", "", "p1"),  # same source: the feed ran to the 5th
    ]
    return pd.DataFrame(
        {
            "date": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "target": [r[2] for r in rows],
            "source": "synthetic",
            "source_id": [r[3] for r in rows],
        }
    )


def _client(tmp_path: Path, with_events: bool = True) -> TestClient:
    (tmp_path / "catalog.yaml").write_text(SYNTHETIC_CATALOG + WEEKLY.split("series:", 1)[1])
    engine = make_engine(f"sqlite:///{tmp_path / 'cadence.db'}")
    migrate.upgrade(engine)
    apply_catalog_file(engine, tmp_path / "catalog.yaml")
    if with_events:
        ingest_events(engine, [_events()])
    engine.dispose()
    return TestClient(create_app(Settings(home=tmp_path)))


def test_daily_counts_of_the_target_events_with_zero_days(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        r = c.get("/v1/series/synthetic-attacks/observations")
        assert r.status_code == 200, r.text
        obs = r.json()["observations"]
    assert [(o["start"], o["end"], o["count"]) for o in obs] == [
        ("2024-01-01", "2024-01-02", 2),
        ("2024-01-02", "2024-01-03", 0),
        ("2024-01-03", "2024-01-04", 1),
        ("2024-01-04", "2024-01-05", 0),
        ("2024-01-05", "2024-01-06", 0),
    ]
    assert {o["source"] for o in obs} == {"events"}


def test_the_window_and_weekly_periods(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        r = c.get(
            "/v1/series/synthetic-attacks/observations",
            params={"start": "2024-01-02", "end": "2024-01-03"},
        )
        weekly = c.get("/v1/series/synthetic-weekly/observations").json()["observations"]
    assert [o["start"] for o in r.json()["observations"]] == ["2024-01-02", "2024-01-03"]
    # the week of Monday 2024-01-01 is not complete on the 5th: no period to show yet
    assert weekly == []


def test_a_series_without_events_has_no_observations(tmp_path: Path) -> None:
    with _client(tmp_path, with_events=False) as c:
        r = c.get("/v1/series/synthetic-attacks/observations")
    assert r.status_code == 200 and r.json()["observations"] == []
