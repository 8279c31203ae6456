"""Series names holding ``/`` (family members) in API paths, on synthetic counts.

Weekly counts are generated here (``source`` = ``synthetic``); nothing is real.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from cadence.service.api import create_app
from cadence.service.api.series_names import SUB_RESOURCES
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.ingest import ingest_counts

NAMES = ["fam", "fam/Iraq", "fam/Al Anbar/Ramadi", "fam/forecast-zone"]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'cadence.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    weeks = pd.date_range("2024-01-01", periods=5, freq="W-MON").strftime("%Y-%m-%d")
    counts = pd.DataFrame(
        {
            "series": [n for n in NAMES for _ in weeks],
            "date": list(weeks) * len(NAMES),
            "count": [str(i + k) for i in range(len(NAMES)) for k in range(5)],
        }
    )
    ingest_counts(engine, [counts], frequency="W", source="synthetic")
    engine.dispose()
    settings = Settings(home=tmp_path / "home", database_url=url)
    with TestClient(create_app(settings)) as c:
        yield c


def test_names_with_slashes_reach_every_route(client: TestClient) -> None:
    for i, name in enumerate(NAMES):
        one = client.get(f"/v1/series/{name}")
        assert one.status_code == 200 and one.json()["name"] == name
        obs = client.get(f"/v1/series/{name}/observations").json()["observations"]
        assert [o["count"] for o in obs] == [i + k for k in range(5)]
        # encoded slashes reach the same series
        encoded = name.replace("/", "%2F").replace(" ", "%20")
        assert client.get(f"/v1/series/{encoded}").json()["name"] == name
        # a sub-resource of a member answers for that member (no forecast stored yet)
        r = client.get(f"/v1/series/{name}/forecast")
        assert r.status_code == 404 and name in r.json()["error"]["message"]
    missing = client.get("/v1/series/fam/Nowhere/observations")
    assert missing.status_code == 404 and "fam/Nowhere" in missing.json()["error"]["message"]


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every ``APIRoute``, included routers walked into."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)


def test_every_series_route_takes_slashes_and_lists_its_sub_resource(tmp_path: Path) -> None:
    app = create_app(
        Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'x.db'}"),
        migrate_on_start=False,
    )
    routes = list(_api_routes(app.routes))
    series_routes = [r for r in routes if r.path.startswith("/v1/series/")]
    assert len(series_routes) >= 8
    for r in series_routes:
        assert r.path.startswith("/v1/series/{name:series}"), r.path
        rest = r.path.removeprefix("/v1/series/{name:series}")
        assert rest == "" or rest.removeprefix("/") in SUB_RESOURCES, r.path
    # the OpenAPI document keeps the plain template
    paths = app.openapi()["paths"]
    assert "/v1/series/{name}/forecast" in paths and "/v1/series/{name}" in paths
