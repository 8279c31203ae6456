"""``cadence backtest``: rolling-origin backtests of stored series, scored and tracked.

Prints the score table (over all horizons; 7-day totals for daily series), names every
model that failed at an origin and why, and writes the fixed JSON shape with ``--json``
(see ``BacktestResult.to_json``, plus ``data_mode``). Runs are logged to MLflow
(``Settings``' tracking URI) unless ``--no-tracking``. Data mode: by default every stored
row counts by its event date (late reports included at the origins they are dated
before); ``--known-at INSTANT`` backtests the database as it was at that instant (one
series). The mode is printed and written as ``data_mode``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import math
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from cadence.experiments.backtest import (
    CLIMATOLOGY,
    BacktestResult,
    ModelConfig,
    default_origins,
    run_backtest,
)
from cadence.experiments.data import SeriesData, load_series_data
from cadence.experiments.driver_futures import DEFAULT_PATHS, DriverFuturesConfig
from cadence.experiments.errors import ExecutorError, ExperimentError
from cadence.experiments.executors import Executor
from cadence.models.errors import ModelError
from cadence.models.lookup import available_models
from cadence.service.cli.app import app, engine_for, err, out, settings
from cadence.service.cli.backtest_many import BacktestOptions, backtest_many
from cadence.service.cli.errors import BAD_INPUT, FAILURE
from cadence.service.cli.known_at import HELP as KNOWN_AT_HELP
from cadence.service.cli.known_at import mode_label, parse_known_at
from cadence.service.cli.progress import counting_bar
from cadence.service.cli.selection import select_series
from cadence.service.settings import Settings
from cadence.store.series_repo import list_series

ENSEMBLE = "ensemble"
_SHOWN_FAILURES = 20


class DriverFuturesName(StrEnum):
    none = "none"
    simulated = "simulated"


class DriverProcessName(StrEnum):
    rate = "rate"
    self_exciting = "self_exciting"


class ExecutorName(StrEnum):
    serial = "serial"
    process = "process"
    dask = "dask"


def model_configs(text: str) -> list[ModelConfig]:
    """``all`` (every registered model, the ensemble last) or comma-separated names;
    climatology is added as the reference of skill."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        names = [n for n in available_models() if n != ENSEMBLE] + [ENSEMBLE]
    unknown = [n for n in names if n not in available_models()]
    if unknown or not names:
        raise typer.BadParameter(
            f"unknown model(s) {unknown}; expected 'all' or names from "
            f"{', '.join(available_models())}",
            param_hint="--models",
        )
    if CLIMATOLOGY not in names:
        names.insert(0, CLIMATOLOGY)
    return [ModelConfig(n) for n in dict.fromkeys(names)]


def _fmt(x: object, digits: int = 3) -> str:
    v = float(x)  # type: ignore[arg-type]
    return "-" if not math.isfinite(v) else f"{v:.{digits}f}"


def _difference(result: BacktestResult, model: str) -> str:
    """Mean CRPS difference to climatology over origins with its bootstrap interval."""
    mean, lo, hi = result.crps_difference(model, CLIMATOLOGY)
    if not math.isfinite(mean):
        return "-"
    return f"{mean:+.2f} [{lo:+.2f}, {hi:+.2f}]"


def score_table(
    result: BacktestResult, frame: pd.DataFrame, title: str, *, show_skill: bool = True
) -> Table:
    """Scores over all horizons, one row per model; skill is CRPS skill vs climatology."""
    skill = result.skill_vs_climatology()
    failed: dict[str, int] = {}
    for m, _, _ in result.failures:
        failed[m] = failed.get(m, 0) + 1
    t = Table(title=title)
    for col in (
        "model",
        "CRPS",
        "skill",
        "ΔCRPS vs clim [95%]",
        "log",
        "RPS",
        "MAE",
        "cov50",
        "cov80",
        "cov95",
        "Brier any 7d",
        "n",
        "failed",
    ):
        t.add_column(col, justify="left" if col == "model" else "right")
    rows = frame[frame["horizon"].astype(str) == "all"]
    for r in rows.to_dict("records"):
        m = str(r["model"])
        t.add_row(
            m,
            _fmt(r["crps"]),
            _fmt(skill.get(m, float("nan"))) if show_skill else "",
            _difference(result, m) if show_skill and m != CLIMATOLOGY else "",
            _fmt(r["log_score"]),
            _fmt(r["rps"]),
            _fmt(r["mae"], 2),
            _fmt(r["coverage_50"], 2),
            _fmt(r["coverage_80"], 2),
            _fmt(r["coverage_95"], 2),
            _fmt(r["brier_any_7"]),
            str(int(r["n"])),
            str(failed.get(m, 0)),
        )
    return t


def report_failures(result: BacktestResult) -> None:
    for key, reason in result.skipped.items():
        err.print(f"[yellow]skipped[/] {key}: {reason}", highlight=False)
    for m, o, reason in result.failures[:_SHOWN_FAILURES]:
        err.print(f"[red]failed[/] {m} at origin {o:%Y-%m-%d}: {reason}", highlight=False)
    more = len(result.failures) - _SHOWN_FAILURES
    if more > 0:
        err.print(f"... and {more} more failure(s)", highlight=False)


def track(
    result: BacktestResult,
    configs: Sequence[ModelConfig],
    n_samples: int,
    seed: int,
    tags: dict[str, str] | None = None,
) -> dict[str, str]:
    """MLflow run ids by model key, or {} when tracking is not available."""
    try:
        module = importlib.import_module("cadence.experiments.tracking")
    except ImportError as exc:
        err.print(f"runs not tracked: {exc}", highlight=False)
        return {}
    log_backtest = getattr(module, "log_backtest", None)
    if log_backtest is None:
        err.print("runs not tracked: no log_backtest in cadence.experiments.tracking")
        return {}
    optional = {"configs": list(configs), "n_samples": n_samples, "seed": seed, "tags": tags}
    accepted = inspect.signature(log_backtest).parameters
    kwargs = {k: v for k, v in optional.items() if k in accepted}
    ids = log_backtest(result, tracking_uri=settings().resolved_tracking_uri, **kwargs)
    return {str(k): str(v) for k, v in dict(ids).items()}


def _driver_json(drivers: DriverFuturesConfig) -> dict[str, object]:
    """The driver futures a backtest used, for its JSON output."""
    if not drivers.simulated:
        return {"mode": drivers.mode}
    return {"mode": drivers.mode, "paths": drivers.paths, "process": drivers.process}


def _driver_tags(drivers: DriverFuturesConfig) -> dict[str, str]:
    """MLflow tags of the driver futures a backtest used (none: no tag, as before)."""
    if not drivers.simulated:
        return {}
    return {
        "cadence.driver_futures": drivers.mode,
        "cadence.driver_paths": str(drivers.paths),
        "cadence.driver_process": drivers.process,
    }


DRIVER_FUTURES_OPTION = typer.Option(
    DriverFuturesName.none,
    "--driver-futures",
    help="strikes and statements after each origin: none (the deterministic "
    "continuation) or simulated from a driver process fitted at the origin",
)
DRIVER_PATHS_OPTION = typer.Option(
    DEFAULT_PATHS,
    "--driver-paths",
    min=1,
    max=500,
    help="simulated driver futures per forecast (--samples are split among them)",
)
DRIVER_PROCESS_OPTION = typer.Option(
    DriverProcessName.rate,
    "--driver-process",
    help="rate (recent rate, gamma-Poisson) or self_exciting (Hawkes, excited by the "
    "target's counts too)",
)


@app.command("backtest")
def backtest(
    selected: list[str] | None = typer.Option(
        None, "--series", help="series name or glob ('family/*'); repeat for several"
    ),
    all_series: bool = typer.Option(False, "--all", help="every declared series"),
    models: str = typer.Option("all", help="'all' or comma-separated registry names"),
    start: str | None = typer.Option(None, help="first origin, YYYY-MM-DD"),
    end: str | None = typer.Option(None, help="last origin, YYYY-MM-DD"),
    every: str | None = typer.Option(
        None,
        help="spacing of origins: a number of periods (4) or a length matched to each "
        "series' frequency (7D, 1W, 1M, 3M); default a week, a month for monthly series",
    ),
    horizon: int = typer.Option(28, min=1, help="periods ahead"),
    executor: ExecutorName = typer.Option(ExecutorName.serial, help="where fits run"),
    scheduler: str | None = typer.Option(
        None, help="Dask scheduler address tcp://HOST:PORT (implies --executor dask)"
    ),
    workers: int | None = typer.Option(None, min=1, help="process pool / LocalCluster workers"),
    json_path: Path | None = typer.Option(None, "--json", help="write the result as JSON"),
    samples: int = typer.Option(1000, "--samples", min=1, help="sample paths per forecast"),
    seed: int = typer.Option(0, help="base seed (each model x origin derives its own)"),
    no_tracking: bool = typer.Option(False, "--no-tracking", help="do not log MLflow runs"),
    known_at: str | None = typer.Option(None, "--known-at", help=KNOWN_AT_HELP),
    driver_futures: DriverFuturesName = DRIVER_FUTURES_OPTION,
    driver_paths: int = DRIVER_PATHS_OPTION,
    driver_process: DriverProcessName = DRIVER_PROCESS_OPTION,
) -> int:
    """Backtest models on SERIES at rolling origins; print scores, write JSON. Several
    names, a glob or --all backtest many series: one result per series under
    {"series": [...], "summary": {...}}."""
    configs = model_configs(models)
    drivers = DriverFuturesConfig(
        mode=driver_futures.value, paths=driver_paths, process=driver_process.value
    )
    s = settings()
    chosen = select_series([x.name for x in list_series(engine_for(s))], selected, all_series)
    stored_at = parse_known_at(known_at)
    if chosen.many and stored_at is not None:
        raise typer.BadParameter("--known-at takes one series", param_hint="--known-at")
    if chosen.many and drivers.simulated:
        raise typer.BadParameter(
            "--driver-futures simulated takes one series", param_hint="--driver-futures"
        )
    opts = BacktestOptions(
        configs=configs,
        start=start,
        end=end,
        every=every,
        horizon=horizon,
        kind=ExecutorName.dask.value if scheduler else executor.value,
        scheduler=scheduler,
        workers=workers,
        json_path=json_path,
        samples=samples,
        seed=seed,
        no_tracking=no_tracking,
        drivers=drivers,
    )
    if chosen.many:
        return backtest_many(chosen.names, opts)
    return _backtest_one(s, chosen.names[0], opts, stored_at)


def _backtest_one(
    s: Settings, series: str, opts: BacktestOptions, stored_at: dt.datetime | None
) -> int:
    """``cadence backtest`` of one series: run, print, track, write."""
    configs, horizon, drivers = opts.configs, opts.horizon, opts.drivers
    try:
        data = load_series_data(engine_for(s), series, known_at=stored_at)
        origins = default_origins(
            data, start=opts.start, end=opts.end, every=opts.every, horizon=horizon
        )
        err.print(
            f"{series}: {len(origins)} origins {origins[0]:%Y-%m-%d} .. {origins[-1]:%Y-%m-%d}, "
            f"horizon {horizon}, {len(configs)} models, executor {opts.kind}, data by "
            f"{mode_label(stored_at)}, driver futures {drivers.mode}"
            + (f" ({drivers.paths} paths, {drivers.process})" if drivers.simulated else ""),
            highlight=False,
        )
        with opts.executor(s) as ex:
            result = _run_with_bar(data, configs, origins, opts, ex)
    except ExecutorError as exc:
        err.print(f"error: {exc}", highlight=False)
        return FAILURE
    except (ExperimentError, ModelError) as exc:
        err.print(f"error: {exc}", highlight=False)
        return BAD_INPUT
    _print_scores(result, series, data.frequency)
    status, run_ids = (
        (0, {})
        if opts.no_tracking
        else _track_and_print(result, configs, opts.samples, opts.seed, drivers)
    )
    if opts.json_path is not None:
        opts.json_path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            **result.to_json(run_ids),
            "data_mode": mode_label(stored_at),
            "driver_futures": _driver_json(drivers),
        }
        opts.json_path.write_text(json.dumps(body, indent=2) + "\n")
        err.print(f"wrote {opts.json_path}", highlight=False)
    return status


def _run_with_bar(
    data: SeriesData,
    configs: list[ModelConfig],
    origins: list[pd.Timestamp],
    opts: BacktestOptions,
    ex: Executor,
) -> BacktestResult:
    """``run_backtest`` with a progress bar of the fits (stderr, removed when done)."""
    with counting_bar("backtest", "fits") as update:
        return run_backtest(
            data,
            configs,
            origins=origins,
            horizon=opts.horizon,
            n_samples=opts.samples,
            seed=opts.seed,
            executor=ex,
            progress=update,
            drivers=opts.drivers,
        )


def _print_scores(result: BacktestResult, series: str, frequency: str) -> None:
    """Failures to stderr; the score tables (all horizons, then window totals) to stdout."""
    report_failures(result)
    if not result.scores.empty and int(result.scores["n"].max()) == 0:
        err.print(
            "[yellow]nothing scored:[/] no forecast period has a known count and no "
            "interval total lies wholly inside a horizon (try a longer --horizon)",
            highlight=False,
        )
    by_interval = "start" in result.per_origin.columns
    title = (
        f"interval totals (tallies inside each horizon), {series}"
        if by_interval
        else f"daily scores, {series}"
        if frequency == "D"
        else f"scores, {series}"
    )
    out.print(score_table(result, result.scores, title))
    for days, scores in result.total_scores.items():
        if not scores.empty and scores["n"].sum() > 0:
            out.print(score_table(result, scores, f"{days}-day totals, {series}", show_skill=False))


def _track_and_print(
    result: BacktestResult,
    configs: list[ModelConfig],
    samples: int,
    seed: int,
    drivers: DriverFuturesConfig,
) -> tuple[int, dict[str, str]]:
    """Log the runs (a failure is reported and sets the exit status, the scores stay)."""
    status = 0
    run_ids: dict[str, str] = {}
    try:
        run_ids = track(result, configs, samples, seed, _driver_tags(drivers))
    except Exception as exc:  # tracking must not lose the scores just computed
        err.print(f"[red]MLflow logging failed:[/] {type(exc).__name__}: {exc}")
        status = FAILURE
    for key, run_id in run_ids.items():
        err.print(f"mlflow run {key}: {run_id}", highlight=False)
    return status, run_ids
