"""Write endpoints: API keys and scopes, all-or-nothing batches, idempotency, limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cadence.service.api import create_app
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.apikeys_repo import create_key, revoke_key
from cadence.store.engine import make_engine
from cadence.store.tables import events_table, statements_table
from tests.store.synthetic import native_event_rows


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    settings = Settings(home=tmp_path / "home", database_url=db_url, max_batch_rows=50)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    keys = {scope: create_key(engine, f"test-{scope}", (scope,))[0] for scope in ("read", "write")}
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        yield c, keys, db_url


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def n_rows(url: str, table: object = events_table) -> int:
    eng = make_engine(url)
    with eng.connect() as c:
        n = int(c.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
    eng.dispose()
    return n


def test_writes_need_a_key_with_write_scope(setup: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, url = setup
    body = {"rows": native_event_rows(3)}
    assert client.post("/v1/events", json=body).status_code == 401
    assert client.post("/v1/events", json=body, headers=auth("cad_zz_nope")).status_code == 401
    r = client.post("/v1/events", json=body, headers=auth(keys["read"]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert n_rows(url) == 0
    r = client.post("/v1/events", json=body, headers={"X-API-Key": keys["write"]})
    assert r.status_code == 200 and r.json()["inserted"] == 3


def test_revoked_key_is_refused(setup: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, url = setup
    eng = make_engine(url)
    revoke_key(eng, keys["write"].split("_")[1])
    eng.dispose()
    r = client.post("/v1/events", json={"rows": native_event_rows(1)}, headers=auth(keys["write"]))
    assert r.status_code == 401


def test_bad_rows_are_422_with_row_errors_and_nothing_stored(
    setup: tuple[TestClient, dict[str, str], str],
) -> None:
    client, keys, url = setup
    rows = native_event_rows(10)
    rows[3]["date"] = "2024-13-01"
    rows[7]["fatalities"] = "many"
    r = client.post("/v1/events", json={"rows": rows}, headers=auth(keys["write"]))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_rows"
    assert [(e["row"], e["field"]) for e in err["details"]["errors"]] == [
        (4, "date"),
        (8, "fatalities"),
    ]
    assert err["details"]["errors"][0]["got"] == "'2024-13-01'"
    assert n_rows(url) == 0


def test_same_batch_twice_is_idempotent(setup: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, url = setup
    body = {"rows": native_event_rows(20)}
    first = client.post("/v1/events", json=body, headers=auth(keys["write"])).json()
    second = client.post("/v1/events", json=body, headers=auth(keys["write"])).json()
    assert (first["inserted"], second["inserted"], second["unchanged"]) == (20, 0, 20)
    assert n_rows(url) == 20


def test_batch_and_body_limits(setup: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, _ = setup
    r = client.post("/v1/events", json={"rows": native_event_rows(51)}, headers=auth(keys["write"]))
    assert r.status_code == 413
    big = b'{"rows": [' + b" " * 10_000_001 + b"]}"
    r = client.post(
        "/v1/events",
        content=big,
        headers={**auth(keys["write"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_statements_get_an_extracted_stance(setup: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, url = setup
    rows = [
        {
            "date": "2024-02-09",
            "actor": "synthetic group",
            "source": "synthetic",
            "source_id": "x1",
            "text": "We will launch painful strikes and widespread attacks.",
        }
    ]
    r = client.post("/v1/statements", json={"rows": rows}, headers=auth(keys["write"]))
    assert r.status_code == 200 and r.json()["inserted"] == 1
    eng = make_engine(url)
    with eng.connect() as c:
        stance, src = c.execute(
            select(statements_table.c.stance, statements_table.c.stance_source)
        ).one()
    eng.dispose()
    assert (stance, src) == ("escalation", "extractor")


def test_a_statement_the_coder_cannot_read_is_a_row_error_unless_the_analyst_coded_it(
    setup: tuple[TestClient, dict[str, str], str],
) -> None:
    """The stance coder reads English and Arabic: a statement in another language and
    without an analyst's stance is refused as a row error of `language` (a 500 before),
    the whole batch with it; with the analyst's stance it is stored as coded."""
    client, keys, url = setup
    french = {
        "date": "2024-01-30",
        "actor": "synthetic group",
        "language": "fr",
        "text": "Nous annoncons la suspension des operations.",
        "source": "synthetic",
        "source_id": "fr-1",
    }
    english = {**french, "language": "en", "text": "We suspend operations.", "source_id": "en-1"}
    r = client.post("/v1/statements", json={"rows": [english, french]}, headers=auth(keys["write"]))
    assert r.status_code == 422, r.text
    (error,) = r.json()["error"]["details"]["errors"]
    assert (error["row"], error["field"], error["got"]) == (2, "language", "'fr'")
    assert (
        "'en' or 'ar'" in error["expected"] and "stance given by the analyst" in error["expected"]
    )
    assert n_rows(url, statements_table) == 0
    coded = {**french, "stance": "de-escalation"}
    r = client.post("/v1/statements", json={"rows": [english, coded]}, headers=auth(keys["write"]))
    assert r.status_code == 200 and r.json()["inserted"] == 2
    eng = make_engine(url)
    with eng.connect() as c:
        stored = dict(
            c.execute(select(statements_table.c.source_id, statements_table.c.stance_source)).all()
        )
    eng.dispose()
    assert stored == {"en-1": "extractor", "fr-1": "analyst"}


def test_a_count_repeated_with_another_value_names_its_date_not_internal_ids(
    setup: tuple[TestClient, dict[str, str], str],
) -> None:
    client, keys, _ = setup
    rows = [{"date": "2024-07-04", "count": 1}, {"date": "2024-07-04", "count": 2}]
    body = {"series": "synthetic-daily", "frequency": "D", "rows": rows}
    r = client.post("/v1/counts", json=body, headers=auth(keys["write"]))
    assert r.status_code == 422, r.text
    (error,) = r.json()["error"]["details"]["errors"]
    assert error["row"] == 2 and error["field"] == "date/end/source"
    assert error["got"] == "date 2024-07-04, end 2024-07-05, source 'api'"
    assert "(row 1)" in error["expected"]
    assert client.get("/v1/series/synthetic-daily/observations").status_code == 404


def test_counts_that_would_leave_a_series_unbuildable_are_refused_whole(
    setup: tuple[TestClient, dict[str, str], str],
) -> None:
    client, keys, _ = setup
    days = [{"date": f"2024-07-0{d}", "count": 3} for d in (1, 2, 3)]
    body = {"series": "synthetic-daily", "frequency": "D", "rows": days}
    assert client.post("/v1/counts", json=body, headers=auth(keys["write"])).status_code == 200
    total = {"date": "2024-07-01", "end": "2024-07-04", "count": 2, "source": "other-list"}
    r = client.post(
        "/v1/counts",
        json={"series": "synthetic-daily", "rows": [total]},
        headers=auth(keys["write"]),
    )
    assert r.status_code == 422, r.text
    (error,) = r.json()["error"]["details"]["errors"]
    assert error["field"] == "count" and "the 9 counted inside it" in error["expected"]
    obs = client.get("/v1/series/synthetic-daily/observations").json()["observations"]
    assert [o["count"] for o in obs] == [3, 3, 3]


def test_counts_create_a_series_on_request(setup: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, _ = setup
    body = {"series": "synthetic-daily", "rows": [{"date": "2024-07-01", "count": 4}]}
    r = client.post("/v1/counts", json=body, headers=auth(keys["write"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["errors"][0]["field"] == "series"
    r = client.post("/v1/counts", json={**body, "frequency": "D"}, headers=auth(keys["write"]))
    assert r.status_code == 200 and r.json()["inserted"] == 1
    obs = client.get("/v1/series/synthetic-daily/observations").json()["observations"]
    assert obs == [{"start": "2024-07-01", "end": "2024-07-02", "count": 4, "source": "api"}]


def test_reads_can_require_a_key(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, open_reads=False)
    with TestClient(create_app(settings)) as c:
        assert c.get("/v1/series").status_code == 401
        assert c.get("/healthz").status_code == 200
