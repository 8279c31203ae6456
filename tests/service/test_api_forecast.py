"""GET /v1/series/{name}/forecast: stored body, re-summaries from paths, ETag and 304."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cadence.jobs.served_body import forecast_payload
from cadence.models.forecast import CountForecast
from cadence.service.api import create_app
from cadence.service.catalog import apply_catalog_file
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import NewForecast, write_forecast

CATALOG = """
series:
  - name: synthetic-daily
    frequency: D
    target: {observations: true}
"""


def synthetic_forecast(seed: int, horizon: int = 28) -> CountForecast:
    """Paths drawn from a negative binomial by code: synthetic, not a real forecast."""
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp("2024-06-30")
    samples = rng.negative_binomial(3, 0.3, size=(500, horizon))
    return CountForecast(
        origin=origin, samples=samples, index=pd.date_range("2024-07-01", periods=horizon, freq="D")
    )


def store(
    url: str, fc: CountForecast, at: dt.datetime, version: str, last_count: str | None = None
) -> None:
    payload = forecast_payload(
        "synthetic-daily",
        "D",
        fc,
        model_name="negbin_glm",
        version=version,
        run_id="r" + version,
        generated_at=at,
        last_count=last_count,
    )
    engine = make_engine(url)
    with engine.begin() as conn:
        write_forecast(
            conn,
            "synthetic-daily",
            NewForecast(
                origin=fc.origin.date(),
                horizon=fc.horizon,
                generated_at=at,
                model_name="negbin_glm",
                payload=payload,
                samples=fc.samples,
                model_version=version,
                run_id="r" + version,
            ),
        )
    engine.dispose()


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    (tmp_path / "c.yaml").write_text(CATALOG)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    apply_catalog_file(engine, tmp_path / "c.yaml")
    engine.dispose()
    settings = Settings(home=tmp_path / "home", database_url=db_url, forecast_cache_seconds=0)
    with TestClient(create_app(settings)) as c:
        yield c, db_url


def test_no_forecast_yet_is_404(setup: tuple[TestClient, str]) -> None:
    client, _ = setup
    r = client.get("/v1/series/synthetic-daily/forecast")
    assert r.status_code == 404 and "retrain" in r.json()["error"]["message"]
    assert client.get("/v1/series/nope/forecast").status_code == 404


def test_stored_body_etag_and_304(setup: tuple[TestClient, str]) -> None:
    client, url = setup
    fc = synthetic_forecast(1)
    at = dt.datetime(2024, 7, 1, 6, tzinfo=dt.UTC)
    store(url, fc, at, "1")
    r = client.get("/v1/series/synthetic-daily/forecast")
    assert r.status_code == 200
    weak = client.get(
        "/v1/series/synthetic-daily/forecast", headers={"If-None-Match": "W/" + r.headers["etag"]}
    )
    assert weak.status_code == 304  # the route (this app caches nothing) compares weakly too
    body = r.json()
    assert body == forecast_payload(
        "synthetic-daily",
        "D",
        fc,
        model_name="negbin_glm",
        version="1",
        run_id="r1",
        generated_at=at,
    )
    assert [w["days"] for w in body["windows"]] == [7, 14, 28]
    etag = r.headers["etag"]
    assert r.headers["cache-control"].startswith("public")
    again = client.get("/v1/series/synthetic-daily/forecast", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # a new forecast changes the body and the ETag
    store(url, synthetic_forecast(2), at + dt.timedelta(days=7), "2")
    newer = client.get("/v1/series/synthetic-daily/forecast", headers={"If-None-Match": etag})
    assert newer.status_code == 200 and newer.headers["etag"] != etag
    assert newer.json()["model"]["version"] == "2"
    assert client.get("/readyz").status_code == 200
    assert 'cadence_forecast_age_seconds{series="synthetic-daily"}' in client.get("/metrics").text


def test_horizon_and_quantiles_are_summarised_from_the_paths(setup: tuple[TestClient, str]) -> None:
    client, url = setup
    fc = synthetic_forecast(3)
    at = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
    store(url, fc, at, "1")
    r = client.get(
        "/v1/series/synthetic-daily/forecast", params={"horizon": 7, "quantiles": "0.05,0.95"}
    )
    body = r.json()
    assert len(body["periods"]) == 7 and [w["days"] for w in body["windows"]] == [7]
    q = np.quantile(fc.samples[:, :7].sum(axis=1), [0.05, 0.95], method="inverted_cdf")
    assert body["windows"][0]["quantiles"] == {"0.05": int(q[0]), "0.95": int(q[1])}
    assert (
        client.get("/v1/series/synthetic-daily/forecast", params={"horizon": 40}).status_code == 422
    )
    bad = client.get("/v1/series/synthetic-daily/forecast", params={"quantiles": "0.5,2"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    # a parameter given twice is refused, not read as its last value
    for query in ("horizon=7&horizon=8", "quantiles=0.5&quantiles=0.9"):
        twice = client.get(f"/v1/series/synthetic-daily/forecast?{query}")
        key = query.split("=")[0]
        assert twice.status_code == 422, query
        assert f"{key}: expected at most once, got 2 values" in twice.text


def test_regimes_block_is_served_and_kept_in_re_summaries(setup: tuple[TestClient, str]) -> None:
    """A model that reports hidden regimes (regime_nb) has them in the body, also when a
    shorter horizon or other quantiles are summarised again from the stored paths."""
    client, url = setup
    plain = synthetic_forecast(5)
    regimes = {
        "states": [
            {"name": "quiet", "rate": 2.5, "probability": 0.1},
            {"name": "active", "rate": 30.0, "probability": 0.9},
        ],
        "most_likely": "active",
        "p_switch": {"7": 0.25, "28": 0.6},
    }
    fc = CountForecast(
        origin=plain.origin, samples=plain.samples, index=plain.index, meta={"regimes": regimes}
    )
    store(url, fc, dt.datetime(2024, 7, 1, tzinfo=dt.UTC), "1")
    assert client.get("/v1/series/synthetic-daily/forecast").json()["regimes"] == regimes
    short = client.get(
        "/v1/series/synthetic-daily/forecast", params={"horizon": 7, "quantiles": "0.25,0.75"}
    ).json()
    assert len(short["periods"]) == 7
    assert short["regimes"] == regimes


def test_counts_through_is_served_and_kept_in_re_summaries(
    setup: tuple[TestClient, str],
) -> None:
    """A forecast stored with ``counts_through`` (counts that stop before the origin)
    keeps it when a shorter horizon or other quantiles are summarised again."""
    client, url = setup
    store(url, synthetic_forecast(7), dt.datetime(2024, 7, 1, tzinfo=dt.UTC), "1", "2024-02-09")
    assert client.get("/v1/series/synthetic-daily/forecast").json()["counts_through"] == (
        "2024-02-09"
    )
    short = client.get(
        "/v1/series/synthetic-daily/forecast", params={"horizon": 7, "quantiles": "0.25,0.75"}
    ).json()
    assert len(short["periods"]) == 7 and short["counts_through"] == "2024-02-09"


def test_no_regimes_block_for_other_models(setup: tuple[TestClient, str]) -> None:
    client, url = setup
    store(url, synthetic_forecast(6), dt.datetime(2024, 7, 1, tzinfo=dt.UTC), "1")
    assert "regimes" not in client.get("/v1/series/synthetic-daily/forecast").json()
    short = client.get("/v1/series/synthetic-daily/forecast", params={"horizon": 7}).json()
    assert "regimes" not in short


def test_cached_body_is_refreshed_in_the_background(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CATALOG)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    apply_catalog_file(engine, tmp_path / "c.yaml")
    engine.dispose()
    at = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
    store(db_url, synthetic_forecast(1), at, "1")
    settings = Settings(home=tmp_path / "home", database_url=db_url, forecast_cache_seconds=0.2)
    with TestClient(create_app(settings)) as c:
        assert c.get("/v1/series/synthetic-daily/forecast").json()["model"]["version"] == "1"
        store(db_url, synthetic_forecast(2), at + dt.timedelta(days=1), "2")
        # still fresh: the cached body, no database read
        assert c.get("/v1/series/synthetic-daily/forecast").json()["model"]["version"] == "1"
        deadline = time.monotonic() + 5
        seen = "1"
        while seen == "1" and time.monotonic() < deadline:
            time.sleep(0.1)
            seen = c.get("/v1/series/synthetic-daily/forecast").json()["model"]["version"]
        assert seen == "2"


def test_fast_path_answers_like_the_route(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CATALOG)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    apply_catalog_file(engine, tmp_path / "c.yaml")
    engine.dispose()
    store(db_url, synthetic_forecast(4), dt.datetime(2024, 7, 1, tzinfo=dt.UTC), "1")
    settings = Settings(home=tmp_path / "home", database_url=db_url, forecast_cache_seconds=60)
    with TestClient(create_app(settings)) as c:
        first = c.get("/v1/series/synthetic-daily/forecast")  # the route fills the cache
        second = c.get("/v1/series/synthetic-daily/forecast")  # served by the fast path
        assert second.content == first.content
        assert second.headers["etag"] == first.headers["etag"]
        assert second.headers["content-type"] == "application/json"
        r304 = c.get(
            "/v1/series/synthetic-daily/forecast", headers={"If-None-Match": first.headers["etag"]}
        )
        assert r304.status_code == 304
        metrics = c.get("/metrics").text
        # the weak comparison of RFC 9110: a proxy's W/ form, "*" and a list all match,
        # on the fast path as on the route (which a fresh app without cache takes first)
        tag = first.headers["etag"]
        for header in (f"W/{tag}", "*", f'"other", {tag}'):
            fast = c.get("/v1/series/synthetic-daily/forecast", headers={"If-None-Match": header})
            assert fast.status_code == 304, header
        stale = c.get("/v1/series/synthetic-daily/forecast", headers={"If-None-Match": '"other"'})
        assert stale.status_code == 200
    line = (
        'cadence_http_requests_total{method="GET",route="/v1/series/{name}/forecast",'
        'status="200"} 2.0'
    )
    assert line in metrics
