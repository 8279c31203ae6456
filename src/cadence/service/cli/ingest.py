"""``cadence ingest``: events, statements, counts and tallies from CSV or JSON Lines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from cadence.features.counts import check_observations
from cadence.features.stance import resolve_stances
from cadence.service.accuracy.rescoring import rescore_after_ingest
from cadence.service.cli.app import app, engine_for, err, out, print_json, settings
from cadence.store.ingest import (
    IngestSummary,
    event_chunks,
    ingest_counts,
    ingest_events,
    ingest_statements,
    ingest_tallies,
)
from cadence.store.period_align import week_start_index
from cadence.store.readers import read_chunks

ingest_app = typer.Typer(help="Load rows from CSV or JSON Lines files.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")


class EventFormat(StrEnum):
    native = "native"
    acled = "acled"


class Frequency(StrEnum):
    D = "D"
    W = "W"
    M = "M"


PathArg = typer.Argument(..., exists=False, help="a .csv or .jsonl file")
SkipInvalid = typer.Option(
    False, "--skip-invalid", help="store the valid rows; write rejected ones to --rejects"
)
RejectsOpt = typer.Option(None, "--rejects", help="rejects file (default: PATH.rejects.csv)")
JsonOpt = typer.Option(False, "--json", help="print the summary as JSON")


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int], None]]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda n: bar.advance(task, n)


def _rejects_path(path: Path, rejects: Path | None) -> Path:
    return rejects or path.with_name(path.name + ".rejects.csv")


def show_summary(s: IngestSummary, as_json: bool) -> None:
    if as_json:
        print_json(s.as_dict())
        return
    t = Table(title=f"ingest {s.kind}" + (f" ({s.source})" if s.source else ""))
    for col in ("rows", "inserted", "updated", "unchanged", "rejected", "removed", "seconds"):
        t.add_column(col, justify="right")
    t.add_row(
        *(
            f"{v:,}" if isinstance(v, int) else f"{v:.2f}"
            for v in (s.rows, s.inserted, s.updated, s.unchanged, s.rejected, s.removed, s.seconds)
        )
    )
    out.print(t)
    if s.rejects_path:
        out.print(f"rejected rows with their reasons: {s.rejects_path}")


def score_after(engine: Engine, s: IngestSummary, *, observed: bool) -> None:
    """Score the served forecasts the new rows may hold the truth of (messages on
    stderr); nothing when the ingest changed nothing."""
    if not s.inserted + s.updated:
        return
    for run in rescore_after_ingest(engine, settings(), observed=observed):
        if run.scored:
            err.print(
                f"{run.series}: scored {run.scored} targets of {run.forecasts} served "
                f"forecasts ({run.counts.inserted} new, {run.counts.changed} changed)",
                highlight=False,
            )
        if run.rolling is not None and run.rolling.alarm:
            err.print(
                f"{run.series}: accuracy alarm: {'; '.join(run.rolling.reasons)}",
                highlight=False,
            )


@ingest_app.command("events")
def events(
    path: Path = PathArg,
    fmt: EventFormat = typer.Option(EventFormat.native, "--format", help="file layout"),
    source: str | None = typer.Option(None, help="set `source` on every row (ACLED: 'acled')"),
    skip_invalid: bool = SkipInvalid,
    rejects: Path | None = RejectsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Ingest events (native layout, or an ACLED export with --format acled)."""
    engine = engine_for()
    with _progress(f"events from {path.name}", as_json) as tick:
        s = ingest_events(
            engine,
            event_chunks(path, fmt.value, source=source),
            source_label=source or path.name,
            skip_invalid=skip_invalid,
            rejects_path=_rejects_path(path, rejects),
            progress=tick,
            window=settings().ingest_window(),
        )
    show_summary(s, as_json)
    score_after(engine, s, observed=False)


@ingest_app.command("statements")
def statements(
    path: Path = PathArg,
    skip_invalid: bool = SkipInvalid,
    rejects: Path | None = RejectsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Ingest statements; a missing stance is filled by the statement-signal extractor."""
    engine = engine_for()
    with _progress(f"statements from {path.name}", as_json) as tick:
        s = ingest_statements(
            engine,
            read_chunks(path),
            source_label=path.name,
            enrich=resolve_stances,
            skip_invalid=skip_invalid,
            rejects_path=_rejects_path(path, rejects),
            progress=tick,
            window=settings().ingest_window(),
        )
    show_summary(s, as_json)


@ingest_app.command("counts")
def counts(
    path: Path = PathArg,
    series: str | None = typer.Option(None, help="series name for rows without one"),
    frequency: Frequency | None = typer.Option(
        None, help="create missing series as observed series of this frequency"
    ),
    source: str = typer.Option("counts", help="source label (part of the natural key)"),
    skip_invalid: bool = SkipInvalid,
    rejects: Path | None = RejectsOpt,
    as_json: bool = JsonOpt,
    week_start: str | None = typer.Option(
        None,
        "--week-start",
        help="weekday the file's weekly counts count their weeks from (e.g. saturday for "
        "ACLED aggregates; default: the series' week_start, else monday)",
    ),
) -> None:
    """Ingest counts in long format: series,date,count[,end]. A weekly or monthly count
    dated on any day of its period is stored on that period."""
    if week_start is not None:
        try:
            week_start_index(week_start, "--week-start")
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--week-start") from exc
    engine = engine_for()
    with _progress(f"counts from {path.name}", as_json) as tick:
        s = ingest_counts(
            engine,
            read_chunks(path),
            series=series,
            frequency=frequency.value if frequency else None,
            source=source,
            skip_invalid=skip_invalid,
            rejects_path=_rejects_path(path, rejects),
            progress=tick,
            week_start=week_start,
            window=settings().ingest_window(),
            check=check_observations,
        )
    show_summary(s, as_json)
    score_after(engine, s, observed=True)


@ingest_app.command("tallies")
def tallies(
    path: Path = PathArg,
    series: str = typer.Option(..., help="the series the tallies count"),
    frequency: Frequency | None = typer.Option(None, help="create the series if missing"),
    source: str | None = typer.Option(None, help="source label (default: the file name)"),
    skip_invalid: bool = SkipInvalid,
    rejects: Path | None = RejectsOpt,
    replace: bool = typer.Option(
        False,
        "--replace",
        help="remove stored intervals of this source the file no longer implies "
        "(without it such an ingest is refused)",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Ingest cumulative tallies (as_of_date,total[,period_start]) as interval counts."""
    engine = engine_for()
    s = ingest_tallies(
        engine,
        path,
        series=series,
        frequency=frequency.value if frequency else None,
        source=source,
        skip_invalid=skip_invalid,
        rejects_path=_rejects_path(path, rejects),
        replace=replace,
        window=settings().ingest_window(),
        check=check_observations,
    )
    show_summary(s, as_json)
    score_after(engine, s, observed=True)
