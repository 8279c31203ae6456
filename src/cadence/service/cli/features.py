"""``cadence features list`` and ``cadence panel``: what modelers read."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from cadence.features import feature_definitions
from cadence.features.errors import InputError
from cadence.service.cli.app import app, engine_for, err, out, print_json
from cadence.service.cli.ingest import Frequency
from cadence.service.panels import load_panel

features_app = typer.Typer(help="Feature definitions.", no_args_is_help=True)
app.add_typer(features_app, name="features")


@features_app.command("list")
def list_features(
    frequency: Frequency = typer.Option(Frequency.D, help="the series frequency"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List every panel column: name, group, unit, window, and what it measures."""
    defs = feature_definitions(frequency.value)
    if as_json:
        print_json([dataclasses.asdict(d) for d in defs])
        return
    t = Table(title=f"features ({frequency.value})")
    for col in ("name", "group", "unit", "window", "description"):
        t.add_column(col, overflow="fold")
    for d in defs:
        t.add_row(d.name, d.group, d.unit, d.window, d.description)
    out.print(t)


def _date(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{what}: expected YYYY-MM-DD, got {text!r}") from exc


def _instant(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--known-at: expected an ISO date-time, got {text!r}") from exc
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


@app.command("panel")
def panel(
    series: str = typer.Option(..., help="series name"),
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: latest day)"),
    known_at: str | None = typer.Option(
        None, "--known-at", help="use only rows ingested by this ISO date-time (UTC)"
    ),
    out_path: Path = typer.Option(..., "--out", help="FILE.csv or FILE.parquet"),
) -> None:
    """Write the feature panel of SERIES as knowable on --as-of."""
    suffix = out_path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError(f"--out: expected a .csv or .parquet file, got {out_path.name!r}")
    p = load_panel(engine_for(), series, as_of=_date(as_of, "--as-of"), known_at=_instant(known_at))
    frame = p.frame
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(out_path, date_format="%Y-%m-%d")
    else:
        frame.to_parquet(out_path)
    if not p.intervals.empty:
        ipath = out_path.with_name(out_path.stem + ".intervals" + suffix)
        p.intervals.to_csv(ipath, index=False) if suffix == ".csv" else p.intervals.to_parquet(
            ipath
        )
        err.print(f"interval totals: {ipath}")
    err.print(f"{len(frame)} periods x {frame.shape[1]} columns, as of {p.as_of}: {out_path}")
