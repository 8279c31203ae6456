"""Several processes migrating one database at once (API workers and replicas each
migrate at start-up): one applies the migrations, the others wait and find them done."""

from __future__ import annotations

import threading

from sqlalchemy import inspect

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
