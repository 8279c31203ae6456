"""Shared fixtures: migrated databases on SQLite and PostgreSQL.

PostgreSQL tests use ``CADENCE_TEST_POSTGRES_URL`` (default: the local server, database
``test``, user ``postgres``). Each test session creates its own database there and drops
it at the end. Without a reachable server those tests skip, except under ``CI=true``,
where an unreachable server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from cadence.store import migrate
from cadence.store.engine import make_engine

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

POSTGRES_URL = os.environ.get(
    "CADENCE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_admin() -> Engine | None:
    engine = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "no server here"
        engine.dispose()
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {POSTGRES_URL} is unreachable: {exc}")
        return None
    return engine


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin = _postgres_admin()
    if admin is None:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} (set CADENCE_TEST_POSTGRES_URL)")
    name = f"cadence_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A URL to an empty database (no tables yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/cadence.db"
        return
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    try:
        migrate.downgrade(engine, "base")
    finally:
        engine.dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on each backend."""
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


SYNTHETIC_CATALOG = """
series:
  - name: synthetic-attacks
    frequency: D
    target:
      events: {kind: attack, target: US forces}
    drivers:
      retaliation: {kind: retaliation}
      statements: {source: synthetic}
"""


@pytest.fixture
def catalog_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CLI home on a fresh SQLite database with the synthetic events series
    ``synthetic-attacks`` declared; returns the test's tmp folder."""
    from cadence.service.cli import main

    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CADENCE_DATABASE_URL", raising=False)
    (tmp_path / "catalog.yaml").write_text(SYNTHETIC_CATALOG)
    assert main(["series", "apply", str(tmp_path / "catalog.yaml")]) == 0
    return tmp_path
