"""Retrains of many series at once: fits in parallel batches, registry writes only on change.

``retrain_many(engine, names, ...)`` runs the weekly retrain of ``job.retrain`` for
many series (a family, ``--all``) with the same promotion rule, but:

1. **lock and read** (this process): each series' retrain job is started (a series
   already being retrained is reported and skipped), its aliases reconciled with what is
   served (``retrain.reconcile``) and its champion's accuracy alarm read. All jobs'
   leases are kept by one heartbeat thread.
2. **data**: every series' rows come from one read of the events and statements
   (``many.data.load_many``).
3. **fit** (the executor: serial, process pool or Dask; batches of whole series,
   ``many.backtest.series_batches``): backtest, decision, refit and served paths per series
   (``batch.fit_batch``, ``local_level`` batched across the series of a batch).
   A series that fails is recorded with its reason; the others go on.
4. **track**: one MLflow run per model per family with per-series tables
   (``many.tracking.log_many``), not one run per series and model.
5. **register and serve** (this process, per series, each in its own transaction as
   ``retrain`` does): a new version is registered only when the champion's
   configuration changes (or there was none); a champion that stays serves its refitted
   paths under the version it already has, and the stored forecast names that version
   and says ``registered: false`` in its job's details. The challenger is registered only
   when its configuration changes. Each version's ``cadence.origin`` tag says where its
   pickled fit ends; consumers that need the fit behind a stored forecast at a later
   origin refit the version's configuration (``scenarios`` does).

The result of each series is a ``RetrainOutcome`` (the JSON shape of ``retrain``);
``ManyRetrain.step_seconds`` is the wall time of each phase.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cadence.experiments import model_registry as reg
from cadence.experiments.accuracy.rolling import DriftBand, accuracy_status
from cadence.experiments.backtest import CLIMATOLOGY, ModelConfig
from cadence.experiments.driver_futures import DETERMINISTIC, DriverFuturesConfig
from cadence.experiments.executors import Executor, SerialExecutor
from cadence.experiments.many.backtest import (
    ManyResult,
    ManySettings,
    SeriesBacktest,
    series_batches,
)
from cadence.experiments.many.data import load_many
from cadence.experiments.many.tracking import log_many
from cadence.jobs.retrain.batch import RetrainSettings, SeriesFit, SeriesTask, fit_batch
from cadence.jobs.retrain.job import (
    DEFAULT_CANDIDATES,
    EXPECTED_FAILURES,
    FAILED_OUTCOME,
    RetrainOutcome,
    reconcile,
)
from cadence.jobs.retrain.serve import LiveSeries, fail_series, serve_fit
from cadence.store.backtest_cache_repo import CachedRows, read_cached, write_cached
from cadence.store.errors import ConflictError
from cadence.store.job_lease import LeaseKeeper
from cadence.store.jobs_repo import (
    DEFAULT_HEARTBEAT,
    DEFAULT_LEASE_EXPIRY,
    KIND_RETRAIN,
    start_job,
)

__all__ = ["ManyRetrain", "retrain_many"]

log = logging.getLogger(__name__)


@dataclass
class ManyRetrain:
    """Outcomes in the order the series were asked for; wall seconds per phase (the
    ``fit`` phase's per-series split: ``fit_seconds``, summed over series)."""

    outcomes: list[RetrainOutcome]
    step_seconds: dict[str, float] = field(default_factory=dict)
    fit_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    # (model, origin) pairs scored from earlier retrains ("reused") and fitted ("fitted")
    scores: dict[str, int] = field(default_factory=dict)


class _Clock:
    def __init__(self, into: dict[str, float]) -> None:
        self.into, self.t = into, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.into[step] = round(self.into.get(step, 0.0) + now - self.t, 3)
        self.t = now


def _open(
    engine: Engine,
    name: str,
    *,
    tracking_uri: str,
    candidates: Sequence[ModelConfig],
    horizon: int,
    stale_after: dt.timedelta | None,
    drift_band: DriftBand,
) -> tuple[LiveSeries | None, RetrainOutcome, SeriesTask | None]:
    """Start ``name``'s job and read its registry state (step 1 of the module)."""
    keys = [c.key for c in candidates]
    try:
        job = start_job(
            engine,
            KIND_RETRAIN,
            name,
            details={"candidates": keys, "horizon": horizon},
            stale_after=stale_after,
        )
    except ConflictError as exc:
        return None, RetrainOutcome(name, None, FAILED_OUTCOME, f"lock: {exc}"), None
    outcome = RetrainOutcome(series=name, job_id=job.id, status=FAILED_OUTCOME, reason="")
    live = LiveSeries(outcome, job, details={"candidates": keys, "horizon": horizon, "many": True})
    try:
        champ, notes = reconcile(engine, name, tracking_uri)
        outcome.warnings.extend(notes)
        live.champion = champ
        live.challenger = reg.alias_version(tracking_uri, name, reg.CHALLENGER)
        outcome.previous_champion = champ.config.key if champ and champ.config else None
        outcome.previous_version = champ.version if champ is not None else None
        unproven: tuple[str, ...] = ()
        if champ is not None and champ.config is not None:
            status = accuracy_status(engine, name, drift_band)
            if status.alarm:
                unproven = tuple(status.reasons)
                live.details["unproven"] = list(unproven)
                outcome.warnings.append("champion unproven: " + "; ".join(unproven))
    except EXPECTED_FAILURES as exc:
        fail_series(engine, live, "registry", f"{type(exc).__name__}: {exc}")
        return None, outcome, None
    c = live.challenger
    task = SeriesTask(
        name,
        champ.config if champ is not None else None,
        unproven,
        c.config.key if c is not None and c.config is not None else None,
    )
    return live, outcome, task


def retrain_many(
    engine: Engine,
    names: Sequence[str],
    *,
    tracking_uri: str,
    candidates: Sequence[ModelConfig] = DEFAULT_CANDIDATES,
    recent_origins: int = 8,
    every: int | str = 7,
    horizon: int = 28,
    n_samples: int = 1000,
    seed: int = 0,
    n_boot: int = 1000,
    executor: Executor | None = None,
    stale_after: dt.timedelta | None = DEFAULT_LEASE_EXPIRY,
    heartbeat_every: dt.timedelta = DEFAULT_HEARTBEAT,
    drift_band: DriftBand | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_level: bool = True,
    drivers: DriverFuturesConfig = DETERMINISTIC,
    reuse_scores: bool = True,
) -> ManyRetrain:
    """Retrain ``names`` (see the module). ``progress(done, total)`` counts series as
    batches come back from the executor. ``batch_level=False`` fits ``local_level`` one
    series at a time, as ``retrain`` does. ``drivers``: as ``retrain``'s, the driver
    futures a served forecast is drawn over when its model reads drivers.
    ``reuse_scores=False`` fits every (model, origin) pair again instead of taking the
    scores earlier retrains stored for unchanged data (it still stores the new ones)."""
    t0 = time.perf_counter()
    settings = RetrainSettings(
        tuple(candidates),
        recent_origins,
        every,
        horizon,
        n_samples,
        seed,
        n_boot,
        batch_level,
        drivers,
        reuse_scores=reuse_scores,
    )
    steps: dict[str, float] = {}
    clock = _Clock(steps)
    outcomes: dict[str, RetrainOutcome] = {}
    lives: dict[str, LiveSeries] = {}
    tasks: dict[str, SeriesTask] = {}
    keeper = LeaseKeeper(engine, every=heartbeat_every).start()
    try:
        for name in names:
            live, outcomes[name], task = _open(
                engine,
                name,
                tracking_uri=tracking_uri,
                candidates=candidates,
                horizon=horizon,
                stale_after=stale_after,
                drift_band=drift_band or DriftBand(),
            )
            if live is not None and task is not None:
                keeper.hold(live.job.id)
                lives[name], tasks[name] = live, task
        clock.lap("lock_and_registry")
        fits = _fit_all(engine, lives, tasks, settings, executor, progress, clock)
        run_ids = _track(engine, lives, fits, settings, tracking_uri)
        clock.lap("tracking")
        _serve_all(engine, lives, fits, run_ids, settings, tracking_uri)
        clock.lap("register_and_serve")
    except BaseException as exc:  # a bug, a lost cluster or an interruption: jobs recorded
        for live in lives.values():
            if live.outcome.status == FAILED_OUTCOME and not live.outcome.reason:
                fail_series(engine, live, "retrain", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        keeper.stop()
    ordered = [outcomes[n] for n in names]
    scores = {
        "reused": sum(int(live.details.get("scores_reused", 0)) for live in lives.values()),
        "fitted": sum(int(live.details.get("scores_fitted", 0)) for live in lives.values()),
    }
    return ManyRetrain(ordered, steps, _summed_steps(ordered), time.perf_counter() - t0, scores)


def _serve_all(
    engine: Engine,
    lives: dict[str, LiveSeries],
    fits: dict[str, SeriesFit],
    run_ids: dict[str, dict[str, str]],
    settings: RetrainSettings,
    tracking_uri: str,
) -> None:
    """Register and serve what came back, series by series, in their own transactions."""
    for name, fit in fits.items():
        if name in lives:
            serve_fit(engine, lives[name], fit, run_ids.get(name, {}), settings, tracking_uri)


def _summed_steps(outcomes: Sequence[RetrainOutcome]) -> dict[str, float]:
    out: dict[str, float] = {}
    for o in outcomes:
        for k, v in o.step_seconds.items():
            out[k] = round(out.get(k, 0.0) + v, 3)
    return out


def _fit_all(
    engine: Engine,
    lives: dict[str, LiveSeries],
    tasks: dict[str, SeriesTask],
    settings: RetrainSettings,
    executor: Executor | None,
    progress: Callable[[int, int], None] | None,
    clock: _Clock,
) -> dict[str, SeriesFit]:
    datas, errors = load_many(engine, list(lives))
    for name, reason in errors.items():
        fail_series(engine, lives[name], "data", reason)
    names = [n for n in lives if n in datas]
    if settings.caches and settings.reuse_scores:
        stored = read_cached(engine, names, settings.cache_key)
        tasks = {n: dataclasses.replace(t, cached=stored.get(n, {})) for n, t in tasks.items()}
    clock.lap("data")
    ex = executor if executor is not None else SerialExecutor()
    batches = [
        ([(datas[names[i]], tasks[names[i]]) for i in r],)
        for r in series_batches(len(names), ex.workers)
    ]
    fits: dict[str, SeriesFit] = {}
    if progress is not None:
        progress(0, len(names))
    for batch in ex.run(fit_batch, settings, batches):
        for fit in batch:
            fits[fit.series] = fit
            live = lives[fit.series]
            live.outcome.step_seconds.update(fit.step_seconds)
            if fit.error is not None:
                fail_series(engine, live, "fit", fit.error)
        if progress is not None:
            progress(len(fits), len(names))
    clock.lap("fit")
    _keep_scores(engine, settings, fits.values())
    clock.lap("score_store")
    return {n: f for n, f in fits.items() if f.error is None}


def _keep_scores(engine: Engine, settings: RetrainSettings, fits: Iterable[SeriesFit]) -> None:
    """Store the scores the fits computed for the next retrain; a failure costs only
    time next week (logged), never this retrain."""
    items = [CachedRows(f.series, f.new_scores, f.origins) for f in fits if f.origins]
    if not items:
        return
    try:
        write_cached(engine, settings.cache_key, items)
    except SQLAlchemyError as exc:
        log.warning("backtest scores not kept for the next retrain: %s", exc)


def _track(
    engine: Engine,
    lives: dict[str, LiveSeries],
    fits: dict[str, SeriesFit],
    settings: RetrainSettings,
    tracking_uri: str,
) -> dict[str, dict[str, str]]:
    """One MLflow run per model per family (``log_many``); a tracking failure fails the
    series it would have recorded."""
    items = [SeriesBacktest(n, f.result, None) for n, f in fits.items() if f.result is not None]
    configs = [*settings.candidates, ModelConfig(CLIMATOLOGY)]
    for live in lives.values():
        champ = live.champion.config if live.champion is not None else None
        if champ is not None and champ.key not in {c.key for c in configs}:
            configs.append(champ)
    many = ManyResult(items, ManySettings(tuple(configs), settings.horizon))
    try:
        return log_many(
            many,
            tracking_uri=tracking_uri,
            configs=configs,
            n_samples=settings.n_samples,
            seed=settings.seed,
        )
    except EXPECTED_FAILURES as exc:
        for name in fits:
            fail_series(
                engine, lives[name], "tracking", f"MLflow failed: {type(exc).__name__}: {exc}"
            )
        fits.clear()
        return {}
