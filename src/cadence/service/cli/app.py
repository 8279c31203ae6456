"""The Typer application and helpers shared by the command modules."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine

app = typer.Typer(
    name="cadence",
    help="Cadence: forecasts of near-term conflict-event counts as full distributions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# wide enough for the summary tables when output goes to a file or a CI log
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
out = Console(width=None if sys.stdout.isatty() else 120)
_engines: list[Engine] = []


def settings() -> Settings:
    return Settings()


def engine_for(s: Settings | None = None, *, upgrade: bool = True) -> Engine:
    """The configured database, migrated to the current schema unless told not to."""
    s = s or settings()
    s.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(s.resolved_database_url)
    _engines.append(engine)
    if upgrade:
        migrate.upgrade(engine)
    return engine


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def dispose_engines() -> None:
    """Close every pool a command opened (called once the command returns)."""
    while _engines:
        _engines.pop().dispose()
