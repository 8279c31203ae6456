"""``cadence retrain`` (the weekly job) and ``cadence forecast`` (the served forecast).

``cadence retrain --series NAME | --all`` backtests the candidates against the champion
on recent origins, promotes only on evidence and writes the champion's forecast for
serving (``cadence.jobs.retrain.job``). Exit status: 0 when every series now serves a
fresh forecast, 1 when a retrain failed or another one of the same series is running
(the previous champion keeps serving), 2 for bad input (unknown series or model).

``cadence forecast --series NAME [--horizon H] [--json]`` prints the stored champion
forecast (the API's forecast body); nothing is fitted. With ``--as-of DATE`` it refits
the champion's configuration on what was dated on or before DATE, for replays; adding
``--known-at DATETIME`` uses only the rows ingested by then, which reproduces the
forecast served at that instant (``cadence.jobs.replay``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table
from sqlalchemy import Engine

from cadence.experiments.backtest import ModelConfig
from cadence.experiments.errors import ExperimentError
from cadence.experiments.executors import make_executor
from cadence.experiments.many.summary import retrain_summary
from cadence.jobs.replay import REPLAY_HORIZON, replay_forecast
from cadence.jobs.retrain.job import FAILED_OUTCOME, retrain
from cadence.jobs.retrain.many import ManyRetrain, retrain_many
from cadence.jobs.served_body import re_summary
from cadence.service.candidates import parse_candidates
from cadence.service.cli.app import app, engine_for, err, out, print_json, settings
from cadence.service.cli.errors import BAD_INPUT, FAILURE
from cadence.service.cli.known_at import parse_known_at
from cadence.service.cli.selection import select_series
from cadence.store.errors import ConflictError, NotFoundError
from cadence.store.forecasts_repo import require_current_forecast
from cadence.store.series_repo import list_series

# an unreachable tracking server fails a retrain in seconds, not minutes of retries; no
# artifact progress bars in job logs; no run links printed on stdout (it carries --json)
_MLFLOW_HTTP_DEFAULTS = {
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def candidate_configs(text: str) -> list[ModelConfig]:
    """``parse_candidates`` with its error as a usage error of ``--models``."""
    try:
        return parse_candidates(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--models") from exc


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM (a cancelled CronJob, ``kill``) into ``SystemExit`` so the running job
    is recorded as failed before the process ends."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress(name: str) -> Callable[[str], None]:
    def show(step: str) -> None:
        err.print(f"{name}: {step}", highlight=False)

    return show


# a LocalCluster takes seconds to start: a handful of series is retrained in this process
MANY_SERIAL_UP_TO = 25


def _many_executor(given: str | None, n: int) -> str:
    if given is not None:
        return given
    return "dask" if n > MANY_SERIAL_UP_TO else "serial"


def _retrain_many(
    engine: Engine,
    names: list[str],
    *,
    kind: str,
    workers: int | None,
    scheduler: str | None,
    local_directory: Path,
    quiet: bool,
    **kw: Any,
) -> ManyRetrain:
    """``retrain_many`` on the chosen executor with a progress bar (stderr)."""
    with (
        _sigterm_as_exit(),
        make_executor(
            kind, workers=workers, scheduler=scheduler, local_directory=local_directory
        ) as ex,
        Progress(
            *Progress.get_default_columns(),
            MofNCompleteColumn(),
            console=err,
            disable=quiet or not err.is_terminal,
        ) as bar,
    ):
        task = bar.add_task(f"retrain ({kind})", total=len(names))

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        run = retrain_many(engine, names, executor=ex, progress=show, **kw)
    for o in run.outcomes:
        if o.status == FAILED_OUTCOME:
            err.print(f"[red]{o.series}: failed[/] {o.reason}", highlight=False)
        for w in o.warnings:
            err.print(f"[yellow]{o.series}: warning[/] {w}", highlight=False)
    return run


def _retrain_one(
    engine: Engine,
    name: str,
    *,
    kind: str,
    workers: int | None,
    scheduler: str | None,
    local_directory: Path,
    quiet: bool,
    **kw: Any,
) -> tuple[list[dict[str, object]], int]:
    """One series, as before: its backtest fits on the chosen executor."""
    with (
        _sigterm_as_exit(),
        make_executor(
            kind, workers=workers, scheduler=scheduler, local_directory=local_directory
        ) as ex,
    ):
        try:
            outcome = retrain(
                engine, name, progress=None if quiet else _progress(name), executor=ex, **kw
            )
        except ConflictError as exc:
            err.print(f"{name}: not retrained: {exc}", highlight=False)
            return [{"series": name, "status": FAILED_OUTCOME, "reason": str(exc)}], FAILURE
    if outcome.status == FAILED_OUTCOME:
        err.print(f"[red]{name}: failed[/] {outcome.reason}", highlight=False)
    for w in outcome.warnings:
        err.print(f"[yellow]{name}: warning[/] {w}", highlight=False)
    return [outcome.as_dict()], FAILURE if outcome.status == FAILED_OUTCOME else 0


@app.command("retrain")
def retrain_cmd(
    selected: list[str] | None = typer.Option(
        None, "--series", help="series name or glob ('family/*'); repeat for several"
    ),
    all_series: bool = typer.Option(False, "--all", help="every declared series"),
    models: str = typer.Option("default", help="'default', 'all' or comma-separated names"),
    horizon: int = typer.Option(28, min=1, help="periods ahead (backtest and served)"),
    origins: int = typer.Option(26, min=1, help="recent origins to compare models on"),
    every: str = typer.Option(
        "7",
        help="spacing of origins: a number of periods (7) or a length matched to each "
        "series' frequency (1W, 1M, 3M)",
    ),
    samples: int = typer.Option(1000, "--samples", min=10, help="sample paths per forecast"),
    seed: int = typer.Option(0, help="base seed"),
    as_json: bool = typer.Option(False, "--json", help="print the outcomes as JSON"),
    executor: str | None = typer.Option(
        None,
        help="where fits run: serial|process|dask (default: serial for one series; for "
        f"many, a Dask LocalCluster when there are more than {MANY_SERIAL_UP_TO} series)",
    ),
    scheduler: str | None = typer.Option(
        None, help="Dask scheduler address tcp://HOST:PORT (implies --executor dask)"
    ),
    workers: int | None = typer.Option(None, min=1, help="process pool / LocalCluster workers"),
    refit_all: bool = typer.Option(
        False,
        "--refit-all",
        help="several series: fit every model at every origin again instead of reusing "
        "the scores earlier retrains stored for unchanged data",
    ),
) -> int:
    """Retrain SERIES (or --all): promote a better model, serve the champion's forecast.
    Several names, a glob or --all: series are fitted in batches (in parallel on Dask),
    a failing series is reported and the others go on, a new registry version is made
    only when a series' champion changes; --json prints {"series": [...], "summary":
    {...}}."""
    candidates = candidate_configs(models)
    for k, v in _MLFLOW_HTTP_DEFAULTS.items():
        os.environ.setdefault(k, v)
    s = settings()
    engine = engine_for(s)
    chosen = select_series([x.name for x in list_series(engine)], selected, all_series)
    names = chosen.names
    kw: dict[str, Any] = dict(
        workers=workers,
        scheduler=scheduler,
        local_directory=s.home / "dask-worker-space",
        quiet=as_json,
        tracking_uri=s.resolved_tracking_uri,
        candidates=candidates,
        recent_origins=origins,
        every=every,
        horizon=horizon,
        n_samples=samples,
        seed=seed,
        drivers=s.drivers,
        **s.job_lease,
    )
    if chosen.many:
        kw["reuse_scores"] = not refit_all
    outcomes, status, timing = _run_retrains(engine, names, chosen.many, executor, kw)
    if as_json:
        print_json(
            {"series": outcomes, "summary": {**retrain_summary(outcomes), "timing": timing}}
            if chosen.many
            else outcomes
        )
    else:
        out.print(_outcome_table(outcomes))
    return status


def _run_retrains(
    engine: Engine, names: list[str], many: bool, executor: str | None, kw: dict[str, Any]
) -> tuple[list[dict[str, object]], int, dict[str, object]]:
    """The outcomes as JSON, the exit status and (many series) the timing summary."""
    scheduler = kw["scheduler"]
    if not many:
        kind = "dask" if scheduler else executor or "serial"
        outcomes, status = _retrain_one(engine, names[0], kind=kind, **kw)
        return outcomes, status, {}
    kind = "dask" if scheduler else _many_executor(executor, len(names))
    run = _retrain_many(engine, names, kind=kind, **kw)
    outcomes = [o.as_dict() for o in run.outcomes]
    status = FAILURE if any(o["status"] == FAILED_OUTCOME for o in outcomes) else 0
    timing: dict[str, object] = {
        "seconds": round(run.seconds, 3),
        "steps": run.step_seconds,
        "fit_steps": run.fit_seconds,
        "scores": run.scores,
    }
    return outcomes, status, timing


def _outcome_table(outcomes: list[dict[str, object]]) -> Table:
    t = Table(title="retrain")
    for col in ("series", "status", "champion", "version", "seconds", "reason"):
        t.add_column(col, overflow="fold")
    for o in outcomes:
        t.add_row(
            str(o["series"]),
            str(o["status"]),
            str(o.get("champion") or "-"),
            str(o.get("champion_version") or "-"),
            str(o.get("seconds", "-")),
            str(o.get("reason") or ""),
        )
    return t


@app.command("forecast")
def forecast_cmd(
    series: str = typer.Option(..., help="series name"),
    horizon: int | None = typer.Option(None, min=1, help="periods to show (default: all)"),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="replay: refit the champion's configuration on what was dated on or before "
        "DATE (YYYY-MM-DD) and forecast from there",
    ),
    model: str | None = typer.Option(
        None, help="with --as-of: replay this model instead of the champion's configuration"
    ),
    known_at: str | None = typer.Option(
        None,
        "--known-at",
        help="with --as-of: use only rows ingested by this ISO date-time (UTC), as the "
        "database held them then (default: every row dated by --as-of)",
    ),
    as_json: bool = typer.Option(False, "--json", help="print the forecast body as JSON"),
) -> int:
    """Print the stored champion forecast of SERIES (the API's forecast body), or with
    --as-of the forecast its configuration gives on what was known on that date."""
    engine = engine_for()
    if model is not None and as_of is None:
        raise typer.BadParameter("--model needs --as-of", param_hint="--model")
    if known_at is not None and as_of is None:
        raise typer.BadParameter("--known-at needs --as-of", param_hint="--known-at")
    if as_of is not None:
        body = _replay(engine, series, as_of, horizon, model, parse_known_at(known_at))
        if body is None:
            return BAD_INPUT
        return _print_forecast(series, body, as_json)
    body = _stored_body(engine, series, horizon)
    if body is None:
        return BAD_INPUT
    return _print_forecast(series, body, as_json)


def _stored_body(engine: Engine, series: str, horizon: int | None) -> dict[str, Any] | None:
    """The served forecast body of ``series``, cut to ``horizon`` periods (its windows
    summarised again from the stored paths); None after printing why there is none."""
    try:
        stored = require_current_forecast(engine, series)
    except NotFoundError as exc:
        err.print(f"error: {exc}", highlight=False)
        return None
    body = stored.payload
    if horizon is None:
        return body
    if horizon > stored.horizon:
        err.print(
            f"error: --horizon {horizon} exceeds the stored horizon {stored.horizon}",
            highlight=False,
        )
        return None
    if stored.samples is None:
        return {**body, "periods": body["periods"][:horizon]}
    return re_summary(stored, str(body["frequency"]), horizon=horizon)


def _replay(
    engine: Any,
    series: str,
    as_of: str,
    horizon: int | None,
    model: str | None,
    known_at: dt.datetime | None = None,
) -> dict[str, Any] | None:
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError as exc:
        raise typer.BadParameter(
            f"expected a date YYYY-MM-DD, got {as_of!r}", param_hint="--as-of"
        ) from exc
    config = candidate_configs(model)[0] if model is not None else None
    mode = f", as stored at {known_at.isoformat()}" if known_at else " (by event date)"
    err.print(f"{series}: refitting on what was known on {day}{mode} ...", highlight=False)
    try:
        s = settings()
        return replay_forecast(
            engine,
            series,
            day,
            tracking_uri=s.resolved_tracking_uri,
            horizon=horizon or REPLAY_HORIZON,
            config=config,
            known_at=known_at,
            drivers=s.drivers,
        )
    except (NotFoundError, ExperimentError) as exc:
        err.print(f"error: {exc}", highlight=False)
        return None


def _print_forecast(series: str, body: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print_json(body)
        return 0
    model = body["model"]
    what = (
        f"replay as of {body['as_of']}"
        if "as_of" in body
        else f"v{model['version']} (run {model['run_id']})"
    )
    out.print(
        f"{series}: origin {body['origin']}, generated {body['generated_at']}, model "
        f"{model['name']} {what}",
        highlight=False,
    )
    levels = list(body["periods"][0]["quantiles"]) if body["periods"] else []
    t = Table(title=f"forecast per period, {series}")
    for col in ("date", "mean", *(f"q{lv}" for lv in levels), "P(>=1)"):
        t.add_column(col, justify="right")
    for p in body["periods"]:
        t.add_row(
            p["date"],
            f"{p['mean']:.2f}",
            *(str(p["quantiles"][lv]) for lv in levels),
            f"{p['p_any']:.2f}",
        )
    out.print(t)
    if body["windows"]:
        w = Table(title="window totals")
        ks = list(body["windows"][0]["p_at_least"])
        for col in ("days", "mean", *(f"q{lv}" for lv in levels), *(f"P(>={k})" for k in ks)):
            w.add_column(col, justify="right")
        for row in body["windows"]:
            w.add_row(
                str(row["days"]),
                f"{row['mean']:.1f}",
                *(str(row["quantiles"][lv]) for lv in levels),
                *(f"{row['p_at_least'][k]:.2f}" for k in ks),
            )
        out.print(w)
    if "regimes" in body:
        out.print(_regimes_line(body["regimes"]), highlight=False)
    return 0


def _regimes_line(regimes: dict[str, Any]) -> str:
    """One line for the optional ``regimes`` field of a forecast body."""
    states = ", ".join(
        f"{s['name']} {s['probability']:.2f} (mean {s['rate']:.1f} per period)"
        for s in regimes["states"]
    )
    switch = ", ".join(f"{p:.2f} within {n}" for n, p in regimes["p_switch"].items())
    return (
        f"regimes at the origin: {states}; most likely {regimes['most_likely']}; "
        f"P(regime switch) {switch} periods"
    )


__all__ = ["candidate_configs", "forecast_cmd", "retrain_cmd"]
