"""The HTTP API: series and observation reads, error shape, health, readiness, metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cadence.service.api import create_app
from cadence.service.bundled import load_bundled
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path / "home", database_url=db_url)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    load_bundled(engine, settings.data_dir, tmp_path / "work")
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        yield c


def test_series_list_and_one(client: TestClient) -> None:
    names = [s["name"] for s in client.get("/v1/series").json()]
    assert names == ["israel-alerts", "us-forces-attacks-sampled", "us-forces-iraq-syria"]
    one = client.get("/v1/series/us-forces-iraq-syria").json()
    assert one["frequency"] == "D" and one["observed"] is True
    assert one["definition"]["drivers"]["retaliation"]["kind"] == "retaliation"


def test_unknown_series_is_404_in_the_error_shape(client: TestClient) -> None:
    r = client.get("/v1/series/nope")
    assert r.status_code == 404
    body = r.json()["error"]
    assert body["code"] == "not_found" and "nope" in body["message"]


def test_observations_window(client: TestClient) -> None:
    r = client.get(
        "/v1/series/israel-alerts/observations", params={"start": "2024-06-28", "end": "2024-06-30"}
    )
    assert r.status_code == 200
    obs = r.json()["observations"]
    assert [o["start"] for o in obs] == ["2024-06-28", "2024-06-29", "2024-06-30"]
    assert all(o["count"] >= 0 for o in obs)
    tallies = client.get("/v1/series/us-forces-iraq-syria/observations").json()["observations"]
    assert sum(o["count"] for o in tallies) == 168
    assert tallies[0] == {
        "start": "2023-10-17",
        "end": "2023-10-25",
        "count": 13,
        "source": "dod-tallies",
    }


def test_bad_query_is_422_in_the_error_shape(client: TestClient) -> None:
    r = client.get("/v1/series/israel-alerts/observations", params={"start": "yesterday"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"
    assert r.json()["error"]["details"][0]["loc"] == ["query", "start"]


def test_health_ready_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    # the database answers, but no series has a champion forecast yet
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["series_without_forecast"] == [
        "israel-alerts",
        "us-forces-attacks-sampled",
        "us-forces-iraq-syria",
    ]
    client.get("/v1/series")
    text = client.get("/metrics").text
    assert 'cadence_http_requests_total{method="GET",route="/v1/series",status="200"} 1.0' in text
    assert "cadence_http_request_seconds_bucket" in text


def test_readyz_fails_when_the_database_is_gone(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings, migrate_on_start=False)) as c:
        r = c.get("/readyz")
        assert c.get("/healthz").status_code == 200
    assert r.status_code == 503
    assert r.json()["status"] == "not ready"
    assert "unavailable" in r.json()["checks"]["database"]
