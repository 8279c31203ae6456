"""Alembic migrations, driven from code (no alembic.ini needed at run time).

Every process migrates at start (API workers and replicas, jobs), so an upgrade holds a
lock while it reads and moves the revision: on PostgreSQL a session advisory lock, on a
SQLite file an exclusive ``flock`` on ``<file>.migrate-lock``. The first process applies
the migrations; the others wait, then find the schema at head.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from cadence.store.errors import DatabaseUnavailableError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# pg_advisory_lock key of schema migrations (any constant shared by every process)
_PG_LOCK_KEY = 0x0CAD_E2CE


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config_for_script()).get_current_head()
    assert head is not None
    return head


def _config_for_script() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Held by one migrating process at a time (see the module docstring)."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        with open(f"{url.database}.migrate-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        yield


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``. Idempotent; cheap when already at head; safe
    when several processes upgrade one database at once."""
    try:
        if revision == "head" and current_revision(engine) == head_revision():
            return
        with _migration_lock(engine):
            if revision == "head" and current_revision(engine) == head_revision():
                return  # another process has just applied them
            command.upgrade(_config(engine), revision)
    except OperationalError as exc:
        raise DatabaseUnavailableError(f"cannot migrate the database: {exc.orig}") from exc


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(_config(engine), revision)
