"""Headers and exposure: /docs served from local assets under a CSP, nosniff on
responses, /metrics behind the read key when reads are closed, and /readyz not flipped
by a new series waiting for its first champion. Synthetic rows and forecasts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cadence.service.api import create_app
from cadence.service.catalog import apply_catalog_file
from cadence.service.settings import Settings
from cadence.store.apikeys_repo import create_key
from tests.service.test_api_forecast import CATALOG, store, synthetic_forecast


def _client(tmp_path: Path, **kw: object) -> TestClient:
    url = f"sqlite:///{tmp_path / 'cadence.db'}"
    return TestClient(create_app(Settings(home=tmp_path / "home", database_url=url, **kw)))


def test_docs_load_nothing_from_another_origin(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        html = page.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        fetched = {a: c.get(a) for a in assets}
        redoc = c.get("/redoc")
    policy = page.headers["content-security-policy"]
    assert (
        "default-src 'none'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    assert all(a.startswith("/docs/assets/") for a in assets) and len(assets) == 3
    assert all(r.status_code == 200 for r in fetched.values())
    js = next(r for a, r in fetched.items() if a.endswith(".js"))
    assert "javascript" in js.headers["content-type"] and "SwaggerUIBundle" in js.text
    for script in re.findall(r"<script>(.*?)</script>", html, re.S):  # allowed by hash
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "http://" not in html and "https://" not in html
    assert redoc.status_code == 404


def test_responses_are_nosniff(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        for r in (c.get("/v1/series"), c.get("/healthz"), c.get("/v1/series/nope")):
            assert r.headers["x-content-type-options"] == "nosniff", r.url
            assert r.headers["content-type"].startswith("application/json")


def test_metrics_need_the_read_key_when_reads_are_closed(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        assert c.get("/metrics").status_code == 200  # open reads: open metrics
    with _client(tmp_path, open_reads=False) as c:
        engine: Engine = c.app.state.engine  # type: ignore[attr-defined]
        key = create_key(engine, "reader", ("read",))[0]
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"X-API-Key": "cad_zz_wrong"}).status_code == 401
        r = c.get("/metrics", headers={"X-API-Key": key})
        assert r.status_code == 200 and "cadence_http_requests_total" in r.text


def test_a_new_series_without_a_champion_keeps_the_service_ready(
    db_url: str, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", database_url=db_url)
    with TestClient(create_app(settings)) as c:
        engine: Engine = c.app.state.engine  # type: ignore[attr-defined]
        key = create_key(engine, "writer", ("write",))[0]
        assert c.get("/readyz").status_code == 200  # nothing declared
        (tmp_path / "c.yaml").write_text(CATALOG)
        apply_catalog_file(engine, tmp_path / "c.yaml")
        nothing = c.get("/readyz")  # one series, no champion: nothing to serve
        store(db_url, synthetic_forecast(1), dt.datetime(2024, 7, 1, tzinfo=dt.UTC), "1")
        assert c.get("/readyz").status_code == 200
        # a writer declares a new series by posting its counts: it waits for a retrain
        body = {
            "series": "new-series",
            "frequency": "D",
            "rows": [{"date": "2024-07-01", "count": 3}],
        }
        assert c.post("/v1/counts", json=body, headers={"X-API-Key": key}).status_code == 200
        ready = c.get("/readyz")
    assert nothing.status_code == 503 and nothing.json()["status"] == "not ready"
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["checks"]["series_without_forecast"] == ["new-series"]
