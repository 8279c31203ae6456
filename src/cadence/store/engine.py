"""Engines and sessions. The caller passes a URL; this layer reads no settings.

SQLite files get WAL journaling (readers never block the writer), foreign keys on, and a
busy timeout so a second writer waits instead of failing at once.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cadence.store.errors import DatabaseUnavailableError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def sqlite_url(path: str | Path) -> str:
    """A SQLAlchemy URL for the SQLite file at ``path`` (parent folders are created)."""
    p = Path(path).expanduser().resolve()
    p.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{p}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _journal_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    # 64 MB page cache: bulk ingest updates indexes without thrashing the default 2 MB
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def _journal_wal(cur: Any) -> None:
    """Switch to WAL journaling, waiting as the busy timeout would: SQLite answers a
    journal-mode change "database is locked" at once, without its busy handler, while
    another connection holds a lock (processes opening a new file together)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(2 * pause, 0.1)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (``sqlite:///file.db``, ``postgresql+psycopg://...``).

    A bare ``postgresql://`` URL is served by psycopg 3, the driver the project installs.
    """
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(u, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def check_connection(engine: Engine) -> None:
    """Raise ``DatabaseUnavailableError`` unless a trivial query succeeds."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        raise DatabaseUnavailableError(
            f"database at {engine.url.render_as_string(hide_password=True)} "
            f"is unavailable: {exc.orig}"
        ) from exc
