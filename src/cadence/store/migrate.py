"""Alembic migrations, driven from code (no alembic.ini needed at run time)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from cadence.store.errors import DatabaseUnavailableError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


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


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``. Idempotent; cheap when already at head."""
    try:
        if revision == "head" and current_revision(engine) == head_revision():
            return
        command.upgrade(_config(engine), revision)
    except OperationalError as exc:
        raise DatabaseUnavailableError(f"cannot migrate the database: {exc.orig}") from exc


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(_config(engine), revision)
