"""The body limit counts the bytes received, whatever the transfer encoding: a chunked
upload without ``Content-Length`` over the limit is refused with 413 and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cadence.service.api import create_app
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.apikeys_repo import create_key
from cadence.store.engine import make_engine
from tests.service.test_api_write import n_rows
from tests.store.synthetic import native_event_rows

LIMIT = 4_000


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, str, str]]:
    url = f"sqlite:///{tmp_path / 'cadence.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    key = create_key(engine, "test-write", ("write",))[0]
    engine.dispose()
    settings = Settings(home=tmp_path / "home", database_url=url, max_body_bytes=LIMIT)
    with TestClient(create_app(settings)) as c:
        yield c, key, url


def _chunked(body: bytes, size: int = 500) -> Iterator[bytes]:
    """The body in pieces: sent with ``Transfer-Encoding: chunked``, no length."""
    for i in range(0, len(body), size):
        yield body[i : i + size]


def _post(c: TestClient, key: str, body: bytes) -> object:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return c.post("/v1/events", content=_chunked(body), headers=headers)


def test_a_chunked_body_over_the_limit_is_413(client: tuple[TestClient, str, str]) -> None:
    c, key, url = client
    body = json.dumps({"rows": native_event_rows(40)}).encode()
    assert len(body) > LIMIT
    r = _post(c, key, body)
    assert r.status_code == 413, r.text  # type: ignore[attr-defined]
    assert r.json()["error"]["code"] == "too_large"  # type: ignore[attr-defined]
    assert str(LIMIT) in r.json()["error"]["message"]  # type: ignore[attr-defined]
    assert n_rows(url) == 0


def test_a_chunked_body_under_the_limit_is_read(client: tuple[TestClient, str, str]) -> None:
    c, key, url = client
    body = json.dumps({"rows": native_event_rows(3)}).encode()
    assert len(body) < LIMIT
    r = _post(c, key, body)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    assert n_rows(url) == 3
