"""``cadence db``: schema migrations."""

from __future__ import annotations

import typer

from cadence.service.cli.app import app, engine_for, out
from cadence.store import migrate

db_app = typer.Typer(help="Database schema: apply or revert migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    engine = engine_for(upgrade=False)
    migrate.upgrade(engine, revision)
    out.print(f"database at revision {migrate.current_revision(engine)}")


@db_app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="target revision, or 'base'")) -> None:
    """Revert migrations down to REVISION ('base' drops every table)."""
    engine = engine_for(upgrade=False)
    migrate.downgrade(engine, revision)
    out.print(f"database at revision {migrate.current_revision(engine) or 'base'}")


@db_app.command("current")
def current() -> None:
    """Print the database's current revision."""
    out.print(migrate.current_revision(engine_for(upgrade=False)) or "base")
