"""``cadence series``: declare and list forecast targets."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cadence.service.catalog import apply_catalog_file
from cadence.service.cli.app import app, engine_for, out, print_json
from cadence.store.series_repo import list_series, observation_counts

series_app = typer.Typer(help="Declare and list series.", no_args_is_help=True)
app.add_typer(series_app, name="series")


@series_app.command("apply")
def apply(
    path: Path = typer.Argument(..., help="a YAML catalog with a `series:` list"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create or update the series of a catalog file (idempotent)."""
    result = apply_catalog_file(engine_for(), path)
    if as_json:
        print_json(result)
        return
    for name, status in result.items():
        out.print(f"{status:>9}  {name}")


@series_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """List declared series."""
    engine = engine_for()
    rows = list_series(engine)
    n_obs = observation_counts(engine)
    if as_json:
        print_json(
            [
                {
                    "name": s.name,
                    "frequency": s.frequency,
                    "observed": s.observed,
                    "observations": n_obs.get(s.name, 0),
                    "definition": s.definition,
                    "description": s.description,
                }
                for s in rows
            ]
        )
        return
    t = Table(title="series")
    for col in ("name", "freq", "target", "observations"):
        t.add_column(col)
    for s in rows:
        target = "observations" if s.observed else str(s.definition.get("target", {}))
        t.add_row(s.name, s.frequency, target, f"{n_obs.get(s.name, 0):,}")
    out.print(t)
