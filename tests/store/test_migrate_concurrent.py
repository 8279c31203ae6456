"""Several processes migrating one database at once (API workers and replicas each
migrate at start-up): one applies the migrations, the others wait and find them done."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import inspect, text

from cadence.store import migrate
from cadence.store.engine import make_engine
from tests.store.test_migrations import TABLES


def test_concurrent_upgrades_of_an_empty_database_all_succeed(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(3)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def upgrade(engine: object) -> None:
        start.wait()
        try:
            migrate.upgrade(engine)  # type: ignore[arg-type]
        except BaseException as exc:  # reported below, with the backend
            errors.append(exc)

    threads = [threading.Thread(target=upgrade, args=(e,)) for e in engines]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "an upgrade is still running"
        assert not errors, f"{len(errors)} concurrent upgrade(s) failed: {errors[0]!r}"
        assert migrate.current_revision(engines[0]) == migrate.head_revision()
        assert set(inspect(engines[0]).get_table_names()) >= TABLES
    finally:
        for e in engines:
            e.dispose()


def test_opening_a_file_another_connection_holds_waits_instead_of_failing(
    tmp_path: Path,
) -> None:
    """SQLite refuses a journal-mode change at once, without its busy handler, while
    another connection holds a write lock: a process opening the store then failed with
    "database is locked" (the concurrent upgrade above did, about one run in six). The
    engine now waits for the lock as the busy timeout says."""
    path = tmp_path / "cadence.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # a first migration under way on a new file: a write transaction, rollback journal
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        release.join()
        engine.dispose()
        holder.close()
