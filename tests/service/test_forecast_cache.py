"""The forecast cache: no read older than its ttl after a new forecast is stored (even
the first read after an idle period), reads with a query string served from memory per
normalised query with the same ETag/304, and a bounded number of bodies. Synthetic
forecasts."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from cadence.service.api import create_app, forecast_cache, routes_forecast
from cadence.service.api.forecast_cache import ForecastCache
from cadence.service.api.forecast_query import parse_forecast_query
from cadence.service.catalog import apply_catalog_file
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine
from tests.service.test_api_forecast import CATALOG, store, synthetic_forecast

AT = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
URL = "/v1/series/synthetic-daily/forecast"


def _client(db_url: str, tmp_path: Path, ttl: float) -> TestClient:
    (tmp_path / "c.yaml").write_text(CATALOG)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    apply_catalog_file(engine, tmp_path / "c.yaml")
    engine.dispose()
    store(db_url, synthetic_forecast(1), AT, "1")
    settings = Settings(home=tmp_path / "home", database_url=db_url, forecast_cache_seconds=ttl)
    return TestClient(create_app(settings))


@pytest.fixture
def route_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """The quantiles of every read the FastAPI route answered (not the fast path)."""
    calls: list[str | None] = []
    real = routes_forecast.quantile_levels

    def spy(text: str | None) -> tuple[float, ...]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(routes_forecast, "quantile_levels", spy)
    yield calls


@pytest.mark.parametrize("query", ["", "?horizon=14&quantiles=0.1,0.5,0.9"])
def test_first_read_after_idle_is_never_older_than_the_ttl(
    db_url: str, tmp_path: Path, query: str
) -> None:
    with _client(db_url, tmp_path, ttl=0.5) as c:
        assert c.get(URL + query).json()["model"]["version"] == "1"
        assert c.get(URL + query).json()["model"]["version"] == "1"  # cached
        store(db_url, synthetic_forecast(2), AT + dt.timedelta(days=1), "2")
        time.sleep(0.6)  # idle past the ttl: no read in between
        assert c.get(URL + query).json()["model"]["version"] == "2"


def test_reads_with_a_query_string_are_served_from_memory(
    db_url: str, tmp_path: Path, route_calls: list[str | None]
) -> None:
    with _client(db_url, tmp_path, ttl=60) as c:
        first = c.get(URL, params={"horizon": 14, "quantiles": "0.1,0.5,0.9"})
        assert first.status_code == 200, first.text
        assert len(first.json()["periods"]) == 14
        # the same normalised query: spelled differently, with a parameter the route ignores
        again = c.get(URL + "?quantiles=0.10,0.5,0.90&horizon=14&utm=x")
        r304 = c.get(
            URL + "?horizon=14&quantiles=0.1,0.5,0.9",
            headers={"If-None-Match": first.headers["etag"]},
        )
        other = c.get(URL, params={"horizon": 7})
        bad = c.get(URL, params={"quantiles": "0.5,2"})
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert r304.status_code == 304 and r304.headers["etag"] == first.headers["etag"]
    assert len(other.json()["periods"]) == 7
    assert bad.status_code == 422
    # the route answered the first read of each query and the bad one, never a cached one
    assert route_calls == ["0.1,0.5,0.9", None, "0.5,2"]


def test_the_cache_holds_a_bounded_number_of_bodies(db_url: str, tmp_path: Path) -> None:
    with _client(db_url, tmp_path, ttl=60) as c:
        engine = c.app.state.engine  # type: ignore[attr-defined]
        cache = ForecastCache(ttl=60, max_entries=3)
        for q in ("0.1", "0.2", "0.3", "0.4", "0.5"):
            cache.fresh(engine, "synthetic-daily", None, (float(q),))
    assert len(cache) == 3
    assert cache.get("synthetic-daily", None, (0.1,)) is None
    assert cache.get("synthetic-daily", None, (0.5,)) is not None


def test_query_normalisation() -> None:
    assert parse_forecast_query(b"") == (None, (0.1, 0.5, 0.9))
    assert parse_forecast_query(b"horizon=14&quantiles=0.10%2C0.5") == (14, (0.1, 0.5))
    assert parse_forecast_query(b"horizon=14&x=1") == (14, (0.1, 0.5, 0.9))
    for raw in (
        b"horizon=0",
        b"horizon=367",
        b"horizon=1e1",
        b"horizon=1&horizon=2",
        b"quantiles=2",
    ):
        assert parse_forecast_query(raw) is None, raw


def test_a_database_outage_keeps_serving_the_body_held(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _client(db_url, tmp_path, ttl=0.2) as c:
        first = c.get(URL)
        assert first.status_code == 200

        def down(*_a: object, **_k: object) -> None:
            raise OperationalError(
                "SELECT", {}, sqlite3.OperationalError("unable to open database")
            )

        monkeypatch.setattr(forecast_cache, "current_forecast", down)
        time.sleep(0.3)  # expired: the read checks the database, which is down
        during = c.get(URL)
        unknown = c.get("/v1/series/never-read/forecast")
    assert during.status_code == 200 and during.content == first.content
    assert unknown.status_code == 503  # nothing held for it: the outage shows
