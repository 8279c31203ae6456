"""Operational database failures are clean answers: a read-only database or a full disk
gives the API a JSON 503 with a code and the command line one line and exit status 1."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from cadence.service.api import create_app, routes_ingest
from cadence.service.catalog import apply_catalog_file
from cadence.service.cli import main
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.apikeys_repo import create_key
from cadence.store.engine import make_engine
from cadence.store.operational import operational
from tests.conftest import SYNTHETIC_CATALOG
from tests.store.synthetic import native_event_rows


def _read_only(url: str) -> str:
    """The same database opened read-only (SQLite URI mode; PostgreSQL sessions that
    refuse writes)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return f"sqlite:///file:{u.database}?mode=ro&uri=true"
    options = "-c default_transaction_read_only=on"
    return u.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _prepared(db_url: str, tmp_path: Path) -> dict[str, str]:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    (tmp_path / "catalog.yaml").write_text(SYNTHETIC_CATALOG)
    apply_catalog_file(engine, tmp_path / "catalog.yaml")
    keys = {s: create_key(engine, f"test-{s}", (s,))[0] for s in ("write", "admin")}
    engine.dispose()
    return keys


def test_writes_to_a_read_only_database_are_503(db_url: str, tmp_path: Path) -> None:
    keys = _prepared(db_url, tmp_path)
    settings = Settings(home=tmp_path / "home", database_url=_read_only(db_url))
    with TestClient(create_app(settings)) as c:
        events = c.post(
            "/v1/events",
            json={"rows": native_event_rows(2)},
            headers={"Authorization": f"Bearer {keys['write']}"},
        )
        retrain = c.post(
            "/v1/retrain",
            json={"series": ["synthetic-attacks"]},
            headers={"Authorization": f"Bearer {keys['admin']}"},
        )
        read = c.get("/v1/series/synthetic-attacks")
    for r in (events, retrain):
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"]["code"] == "database_read_only"
        assert "read-only" in r.json()["error"]["message"]
    assert read.status_code == 200  # reads still work


def test_a_full_disk_is_503_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cadence.db'}"
    keys = _prepared(url, tmp_path)

    def full(*_a: object, **_k: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(routes_ingest, "ingest_events", full)
    with TestClient(create_app(Settings(home=tmp_path / "home", database_url=url))) as c:
        r = c.post(
            "/v1/events",
            json={"rows": native_event_rows(1)},
            headers={"Authorization": f"Bearer {keys['write']}"},
        )
    assert r.status_code == 503 and r.json()["error"]["code"] == "disk_full"


def test_the_cli_prints_one_line_and_exits_1(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _prepared(db_url, tmp_path)
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CADENCE_DATABASE_URL", _read_only(db_url))
    capsys.readouterr()
    assert main(["apikey", "create", "--name", "n", "--scopes", "read"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: the database is read-only")
    assert "Traceback" not in err


def _code(exc: BaseException) -> str | None:
    found = operational(exc)
    return None if found is None else found.code


def test_errors_are_named() -> None:
    assert _code(OSError(errno.ENOSPC, "No space left on device")) == "disk_full"
    readonly = sqlite3.OperationalError("attempt to write a readonly database")
    assert _code(readonly) == "database_read_only"
    missing = sqlite3.OperationalError("unable to open database file")
    assert _code(missing) == "database_unavailable"
    assert _code(ValueError("x")) is None
    assert _code(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
