"""POST /v1/events, /v1/statements, /v1/counts on bad input, on each backend: 422 (or
400) naming the row, field and value, never a 500; concurrent batches creating one
series all succeed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cadence.service.api import create_app
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.apikeys_repo import create_key
from cadence.store.engine import make_engine
from cadence.store.tables import observations_table, series_table

EVENT = {"date": "2024-01-02", "kind": "attack", "source": "synthetic", "source_id": "e1"}
WINDOW = "a date from 1990-01-01 to "


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[tuple[Settings, dict[str, str], str]]:
    settings = Settings(home=tmp_path / "home", database_url=db_url)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    key = create_key(engine, "test-write", ("write",))[0]
    engine.dispose()
    yield settings, {"Authorization": f"Bearer {key}"}, db_url


@pytest.fixture
def client(api: tuple[Settings, dict[str, str], str]) -> Iterator[TestClient]:
    with TestClient(create_app(api[0]), raise_server_exceptions=False) as c:
        c.headers.update(api[1])
        yield c


def row_errors(r: Any) -> list[tuple[int, str, str, str]]:
    assert r.status_code == 422, r.text
    return [
        (e["row"], e["field"], e["expected"], e["got"])
        for e in r.json()["error"]["details"]["errors"]
    ]


def count(url: str, table: object) -> int:
    eng = make_engine(url)
    with eng.connect() as c:
        n = int(c.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
    eng.dispose()
    return n


@pytest.mark.parametrize(
    ("path", "row"),
    [
        ("/v1/events", {**EVENT, "date": "9999-12-31"}),
        ("/v1/statements", {"date": "0001-01-01", "text": "t", "source": "s", "source_id": "1"}),
    ],
)
def test_dates_outside_the_window_are_422(
    client: TestClient, path: str, row: dict[str, str]
) -> None:
    [(n, field, expected, got)] = row_errors(client.post(path, json={"rows": [row]}))
    assert (n, field, got) == (1, "date", repr(row["date"]))
    assert expected.startswith(WINDOW) and expected.endswith("(the ingest window)")


def test_a_future_count_does_not_move_a_series(client: TestClient, api: Any) -> None:
    body = {"series": "c", "frequency": "D", "rows": [{"date": "2030-01-01", "count": 1}]}
    [(_, field, _, got)] = row_errors(client.post("/v1/counts", json=body))
    assert (field, got) == ("date", "'2030-01-01'")
    assert count(api[2], observations_table) == 0


@pytest.mark.parametrize("value", [1.5, 1e20, 2147483648, "inf", "Infinity"])
def test_bad_numbers_are_422(client: TestClient, value: object) -> None:
    r = client.post("/v1/events", json={"rows": [{**EVENT, "fatalities": value}]})
    [(_, field, expected, _)] = row_errors(r)
    assert field == "fatalities" and expected.startswith("a whole number")
    body = {"series": "c", "frequency": "D", "rows": [{"date": "2024-01-02", "count": value}]}
    [(_, field, expected, _)] = row_errors(client.post("/v1/counts", json=body))
    assert field == "count" and expected.startswith("a whole number")


def test_nul_bytes_are_422_on_every_backend(client: TestClient) -> None:
    [(_, field, expected, _)] = row_errors(
        client.post("/v1/events", json={"rows": [{**EVENT, "notes": "a\x00b"}]})
    )
    assert (field, expected) == ("notes", "text without NUL bytes or unpaired surrogates")


def test_a_lone_surrogate_is_422_not_500(client: TestClient) -> None:
    body = '{"rows": [{"date": "2024-01-02", "kind": "a\\ud800", "source": "s"}]}'
    r = client.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
    assert row_errors(r)[0][:2] == (1, "kind")
    body = '{"rows": [{"date": "2024-01-02", "kind": "a", "source": "s", "\\udc00": "x"}]}'
    r = client.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_input"
    body = '{"series": "x\\ud800", "frequency": "D", "rows": [{"date": "2024-01-02", "count": 1}]}'
    r = client.post("/v1/counts", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_a_deeply_nested_body_is_400(client: TestClient) -> None:
    body = '{"rows": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    r = client.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_a_long_batch_source_is_422_on_every_backend(client: TestClient, api: Any) -> None:
    body = {
        "series": "c",
        "frequency": "D",
        "source": "s" * 300,
        "rows": [{"date": "2024-01-02", "count": 1}],
    }
    r = client.post("/v1/counts", json=body)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["body", "source"]
    assert count(api[2], series_table) == 0


def test_objects_in_known_fields_and_impossible_times_are_422(client: TestClient) -> None:
    r = client.post("/v1/events", json={"rows": [{**EVENT, "kind": {"a": 1}, "time": "25:99"}]})
    assert [(e[1], e[3]) for e in row_errors(r)] == [
        ("time", "'25:99'"),
        ("kind", """'{"a": 1}'"""),
    ]


def test_parallel_batches_creating_one_series_all_succeed(api: Any) -> None:
    settings, headers, url = api
    workers = 8
    body = {
        "series": "new-x",
        "frequency": "D",
        "rows": [{"date": f"2024-01-{d:02d}", "count": d} for d in range(1, 8)],
    }
    start = threading.Barrier(workers)
    with ExitStack() as stack:  # one app (engine, connection pool) per concurrent client
        clients = [
            stack.enter_context(TestClient(create_app(settings), raise_server_exceptions=False))
            for _ in range(workers)
        ]

        for c in clients:  # warm up one at a time: route schemas are built on first use
            assert c.post("/v1/counts", json={"rows": []}, headers=headers).status_code == 422

        def post(c: TestClient) -> int:
            start.wait()
            return c.post("/v1/counts", json=body, headers=headers).status_code

        with ThreadPoolExecutor(workers) as pool:
            statuses = list(pool.map(post, clients))
    assert statuses == [200] * workers
    assert count(url, series_table) == 1 and count(url, observations_table) == 7


@pytest.mark.parametrize(
    "body",
    [
        {"rows": [{"0": []}]},
        {"series": "c", "frequency": "D", "rows": [{"series": {"x": 1}, "date": "2024-01-02"}]},
    ],
)
def test_json_values_in_counts_are_422_not_500(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/v1/counts", json=body).status_code == 422
