"""The retraining job: backtest, promote only on evidence, serve the champion's forecast.

One run of ``retrain(engine, series, ...)``:

1. **lock**: a ``running`` job row for ``("retrain", series)``; a second retrain of the
   same series fails with ``JobConflictError`` (the database enforces it). While the job
   runs, a background thread renews its lease every ``heartbeat_every``; a job left
   ``running`` by a killed process is taken over (recorded ``abandoned``) once it has not
   been renewed for ``stale_after``.
2. **reconcile** (``aliases``): the database says what is served; if the registry's
   ``champion`` alias points elsewhere (a process killed between moving the alias and
   committing), the alias is put back on the served version. A ``challenger`` alias on a
   version newer than any the serving job registered (moved by a retrain that never
   committed) is put back on the challenger that job recorded (removed when it had
   none).
3. **data**: the series' stored rows are read afresh (``load_series_data``).
4. **backtest**: the candidates, the champion's configuration and Climatology on the
   same ``recent_origins`` (rolling origins ``every`` apart, the last one ``horizon``
   periods before the end of the data); one MLflow run per configuration.
5. **decide** (``decide``): a candidate is *eligible* when it was scored at every origin
   and has a lower mean CRPS than Climatology over the same (origin, horizon) pairs, and
   (daily series) a lower mean CRPS of 7-day totals too (it *beats Climatology*). The
   best eligible candidate (lowest mean of its daily and 7-day-total CRPS relative to
   Climatology's; lowest CRPS when no total is scored) is promoted when there is no
   champion, or when the 95% bootstrap interval of its CRPS difference to the champion
   over origins (``BacktestResult.crps_difference``) lies below zero. A champion that
   failed in the backtest yields to the best eligible candidate. A champion whose served
   forecasts raised the accuracy alarm (``cadence.experiments.accuracy.rolling``:
   rolling 80% coverage outside its band, or rolling CRPS worse than Climatology) is
   *unproven*: it competes as one more candidate, without the advantage of the interval
   rule. With no champion and no eligible candidate, Climatology itself serves (the
   reference every model must beat), also when nothing could be scored (counts known
   only as interval totals).
6. **refit**: the chosen configuration is fitted on all the data (``fit_and_forecast`` at
   the last period). If it raises, a warning is logged, its MLflow run is tagged
   ``cadence.refit_failed``, and the next configuration serves instead (the next
   eligible candidates in rank order, the current champion, then Climatology): the one
   broad ``except`` of the job.
   **drivers**: the refitted configuration is backtested again on the same origins
   without the retaliation and statement columns it used (``driver_ablation``); the
   with/without CRPS, or the note that it uses no driver, goes into the job details, the
   served ``/backtest`` body and an MLflow run.
7. **register**: the fitted model is logged as a pyfunc model into its backtest run and
   registered as a new version of ``cadence-<series>`` (no alias yet).
8. **challenger**: the best eligible candidate that does not serve (``Decision.
   challengers``: the runner-up by CRPS on the recent origins) is fitted on all the data
   and registered as its own version, so modelers can compare it with the champion. A
   candidate whose refit fails is skipped for the next one; with none left there is no
   challenger.
9. **serve**: in one database transaction the forecast (``forecast_payload`` + sample
   paths, drawn from the registered model with ``seed``) is written, the job is marked
   ``succeeded``, and just before the commit the ``challenger`` alias is moved to the
   challenger's version (removed when there is none) and the ``champion`` alias to the
   new version. If an alias cannot be moved the transaction rolls back; if the commit
   fails after the moves, both aliases are moved back.

Any failure leaves the previous champion alias and the served forecast as they were and
records the job as ``failed`` with its reason: expected failures (data, models, MLflow,
the database) come back as an outcome with ``status == "failed"``; anything else, and
interruptions (Ctrl-C, SIGTERM turned into ``SystemExit``), is recorded and re-raised.

Time convention: origins and the served forecast's ``origin`` are period labels (first
day); the served forecast covers the ``horizon`` periods after the last one with data.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cadence.columns import Frequency
from cadence.experiments import model_registry as reg
from cadence.experiments.accuracy.rolling import DriftBand, accuracy_status
from cadence.experiments.backtest import (
    CLIMATOLOGY,
    BacktestResult,
    ModelConfig,
    fit_and_forecast,
    run_backtest,
    stride_for,
)
from cadence.experiments.data import SeriesData, load_series_data, shift_periods
from cadence.experiments.driver_ablation import driver_ablation
from cadence.experiments.driver_futures import (
    DETERMINISTIC,
    DriverFuturesConfig,
)
from cadence.experiments.errors import ExperimentError, NoServableModelError
from cadence.experiments.executors import Executor
from cadence.experiments.numbers import finite_or_none
from cadence.experiments.tracking import log_backtest, mlflow_client, quiet_mlflow
from cadence.features.errors import FeatureError
from cadence.features.periods import to_ordinals
from cadence.jobs.retrain.aliases import mlflow_call, point_alias, reconcile, restore_alias
from cadence.jobs.retrain.decide import (
    Decision,
    all_crps,
    decide,
    decide_unproven,
    failure_notes,
)
from cadence.jobs.served_body import counts_through, forecast_payload
from cadence.jobs.served_paths import served_paths
from cadence.models.errors import ModelError
from cadence.models.forecast import CountForecast
from cadence.store.errors import StoreError
from cadence.store.forecasts_repo import NewForecast, write_forecast
from cadence.store.job_lease import keep_lease
from cadence.store.jobs_repo import (
    DEFAULT_HEARTBEAT,
    DEFAULT_LEASE_EXPIRY,
    FAILED,
    KIND_RETRAIN,
    SUCCEEDED,
    JobInfo,
    finish_job,
    start_job,
)
from cadence.store.tables import utcnow

__all__ = [
    "DEFAULT_CANDIDATES",
    "Decision",
    "RetrainJob",
    "RetrainOutcome",
    "champion_effects",
    "decide",
    "origin_grid",
    "recent_origins_for",
    "reconcile",
    "retrain",
    "served_forecast",
    "served_row",
    "serving_order",
]

log = logging.getLogger(__name__)
EFFECT_LEVEL: Final = 0.95

DEFAULT_CANDIDATES: Final = (
    ModelConfig(CLIMATOLOGY),
    ModelConfig("recent_rate"),
    ModelConfig("negbin_glm"),
    ModelConfig("ingarch"),
    ModelConfig("hawkes"),
    ModelConfig("local_level"),
    ModelConfig("regime_nb"),
    ModelConfig("prophet"),
)
PROMOTED: Final = "promoted"
KEPT: Final = "kept"
FALLBACK: Final = "fallback"
FAILED_OUTCOME: Final = "failed"

# what an operator can act on; anything else is a bug (recorded, then re-raised)
EXPECTED_FAILURES: Final = (
    ExperimentError,
    ModelError,
    FeatureError,
    StoreError,
    SQLAlchemyError,
    MlflowException,
    OSError,  # includes connection errors of a remote tracking server
)


@dataclass
class RetrainOutcome:
    """What one retrain did. ``status``: ``promoted`` (a new configuration serves),
    ``kept`` (the champion's configuration, refitted, serves), ``fallback`` (the chosen
    configuration could not be refitted; the next one serves, ``warnings`` say why),
    ``failed`` (nothing changed; ``reason`` says why)."""

    series: str
    job_id: str | None
    status: str
    reason: str
    champion: str | None = None
    champion_version: str | None = None
    previous_champion: str | None = None
    previous_version: str | None = None
    challenger: str | None = None
    challenger_version: str | None = None
    crps: dict[str, float] = field(default_factory=dict)
    skill: dict[str, float] = field(default_factory=dict)
    difference: tuple[float, float, float] | None = None
    run_ids: dict[str, str] = field(default_factory=dict)
    forecast_id: int | None = None
    origin: str | None = None
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "series": self.series,
            "job_id": self.job_id,
            "status": self.status,
            "reason": self.reason,
            "champion": self.champion,
            "champion_version": self.champion_version,
            "previous_champion": self.previous_champion,
            "previous_version": self.previous_version,
            "challenger": self.challenger,
            "challenger_version": self.challenger_version,
            "crps": {k: num(v) for k, v in self.crps.items()},
            "skill_vs_climatology": {k: num(v) for k, v in self.skill.items()},
            "crps_difference": None
            if self.difference is None
            else [num(x) for x in self.difference],
            "mlflow_run_ids": dict(self.run_ids),
            "forecast_id": self.forecast_id,
            "origin": self.origin,
            "failures": list(self.failures),
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
            "step_seconds": dict(self.step_seconds),
        }


# --- steps ----------------------------------------------------------------------------------


def recent_origins_for(
    data: SeriesData, *, n: int, every: int | str, horizon: int, staggered: bool = False
) -> list[pd.Timestamp]:
    """``n`` origins ``every`` apart (periods, or a length like ``1W``/``1M`` matched to
    the series' frequency; ``BacktestConfigError`` when it does not fit), the last one
    ``horizon`` periods before the last reported period (so every horizon is observed; a
    sampled view may run the panel further, with no truth to score there), oldest
    first; origins before the first period are dropped.

    ``staggered``: the origins lie on a fixed grid of the calendar instead, every
    ``every`` periods from an offset drawn from the series' name (``origin_grid``), the
    last one the latest grid point with the whole horizon observed. A weekly retrain
    then finds last week's origins again (their scores can be reused,
    ``experiments.score_cache``), and the series of a family gain a new origin on
    different weeks rather than all on the same one."""
    freq = data.frequency
    step = stride_for(data, every)
    last = shift_periods(data.last_reported_period, -horizon, freq)
    if staggered:
        last = origin_grid(data.spec.name, last, step, freq)
    out = [shift_periods(last, -step * i, freq) for i in range(n)]
    return sorted(o for o in out if o > data.first_period)


def origin_grid(name: str, latest: pd.Timestamp, step: int, freq: Frequency) -> pd.Timestamp:
    """The latest period on or before ``latest`` whose ordinal is ``offset`` modulo
    ``step``, ``offset`` a stable hash of the series ``name``."""
    if step <= 1:
        return latest
    days = np.array([(latest - pd.Timestamp("1970-01-01")).days])
    ordinal = int(to_ordinals(days, freq)[0])
    offset = zlib.crc32(name.encode()) % step
    return shift_periods(latest, -((ordinal - offset) % step), freq)


class _Step:
    """The step under way (for the job's reason) and the seconds each step took."""

    def __init__(self) -> None:
        self.name = "start"
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def __call__(self, name: str, progress: Callable[[str], None] | None) -> None:
        self.close()
        self.name = name
        if progress is not None:
            progress(name)

    def close(self) -> None:
        now = time.perf_counter()
        self.seconds[self.name] = round(self.seconds.get(self.name, 0.0) + now - self._t, 3)
        self._t = now


def _tag_run(tracking_uri: str, run_id: str | None, key: str, value: str) -> None:
    if run_id is None:
        return
    try:
        with quiet_mlflow():
            mlflow_client(tracking_uri).set_tag(run_id, key, value[:500])
    except (MlflowException, OSError) as exc:  # the tag is a note; the fallback goes on
        log.warning("could not tag run %s: %s", run_id, exc)


def _refit(
    data: SeriesData,
    order: Sequence[ModelConfig],
    *,
    horizon: int,
    n_samples: int,
    seed: int,
    tracking_uri: str,
    run_ids: dict[str, str],
    notes: list[str],
) -> tuple[ModelConfig, Any, pd.Timestamp]:
    """Fit the first configuration of ``order`` that fits on all the data."""
    origin = data.last_period
    for config in order:
        try:
            model, _ = fit_and_forecast(data, config, origin, horizon, n_samples=1, seed=seed)
            return config, model, origin
        except Exception as exc:  # per-model fallback: the next configuration serves instead
            reason = f"{type(exc).__name__}: {exc}"
            log.warning(
                "%s: refit of %s failed (%s); falling back", data.spec.name, config.key, reason
            )
            notes.append(f"refit of {config.key} failed: {reason}")
            _tag_run(tracking_uri, run_ids.get(config.key), "cadence.refit_failed", reason)
    raise NoServableModelError(
        f"series {data.spec.name!r}: no configuration could be fitted on all the data "
        f"(tried {', '.join(c.key for c in order)})"
    )


def _register_challenger(
    data: SeriesData,
    order: Sequence[ModelConfig],
    *,
    series: str,
    origin: pd.Timestamp,
    future: pd.DataFrame | None,
    horizon: int,
    seed: int,
    tracking_uri: str,
    job_id: str,
    run_ids: dict[str, str],
    notes: list[str],
) -> tuple[str, str] | None:
    """Fit the first configuration of ``order`` that fits on all the data and register
    it as a new version (no alias: ``_serve`` moves it): (model key, version); None when
    ``order`` is empty or none fits (refit failures are noted in ``notes``)."""
    if not order:
        return None
    try:
        config, model, _ = _refit(
            data,
            order,
            horizon=horizon,
            n_samples=1,
            seed=seed,
            tracking_uri=tracking_uri,
            run_ids=run_ids,
            notes=notes,
        )
    except NoServableModelError:
        return None
    registered = _register(
        "registering the challenger",
        model,
        config,
        data,
        origin=origin,
        future=future,
        horizon=horizon,
        tracking_uri=tracking_uri,
        run_ids=run_ids,
        tags={"cadence.job_id": job_id, "cadence.promoted": "false"},
    )
    return config.key, str(registered.version)


def _register(
    step: str,
    model: Any,
    config: ModelConfig,
    data: SeriesData,
    *,
    origin: pd.Timestamp,
    future: pd.DataFrame | None,
    horizon: int,
    tracking_uri: str,
    run_ids: dict[str, str],
    tags: dict[str, str],
) -> reg.RegisteredVersion:
    """Register the fitted ``model`` as a new version of the series' model, without an
    alias (``_serve`` moves them), linked to the run of its configuration."""
    return cast(
        reg.RegisteredVersion,
        mlflow_call(
            step,
            lambda: reg.register_forecaster(
                model,
                config,
                series=data.spec.name,
                frequency=data.frequency,
                origin=origin,
                future=future,
                max_horizon=horizon,
                tracking_uri=tracking_uri,
                run_id=run_ids.get(config.key),
                aliases=(),
                tags=tags,
            ),
        ),
    )


def champion_effects(model: Any, level: float = EFFECT_LEVEL) -> dict[str, Any]:
    """The fitted model's incidence-rate ratios of retaliation and statement features as
    JSON: ``{"level", "effects": [{"feature", "irr", "lower", "upper", "p_value"}]}``;
    an empty list for a model without effects (non-finite numbers become null)."""
    rows: list[dict[str, Any]] = []
    effects = getattr(model, "effects", None)
    if callable(effects):
        try:
            frame = effects(level)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            log.warning("effects of %s could not be computed: %s", type(model).__name__, exc)
            return {"level": level, "effects": rows, "error": str(exc)}
        for rec in frame.to_dict("records"):
            rows.append(
                {
                    "feature": str(rec["feature"]),
                    **{k: finite_or_none(rec[k]) for k in ("irr", "lower", "upper", "p_value")},
                }
            )
    return {"level": level, "effects": rows}


def served_forecast(draw: Callable[[], CountForecast]) -> CountForecast:
    """The served paths ``draw`` gives (model warnings were reported at fit time)."""
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return draw()


def served_row(
    series: str,
    frequency: str,
    forecast: CountForecast,
    *,
    model_name: str,
    version: str | None,
    run_id: str | None,
    horizon: int,
    job_id: str,
    last_count: str | None,
) -> NewForecast:
    """The stored row of a served ``forecast``: its body (``forecast_payload``, generated
    now) and its paths, under the model's registry ``version``."""
    generated = utcnow()
    payload = forecast_payload(
        series,
        frequency,
        forecast,
        model_name=model_name,
        version=version,
        run_id=run_id,
        generated_at=generated,
        last_count=last_count,
    )
    return NewForecast(
        origin=forecast.origin.date(),
        horizon=horizon,
        generated_at=generated,
        model_name=model_name,
        payload=payload,
        samples=forecast.samples,
        model_version=version,
        run_id=run_id,
        job_id=job_id,
    )


def _serve(
    engine: Engine,
    series: str,
    *,
    job: JobInfo,
    forecast: NewForecast,
    tracking_uri: str,
    version: str,
    previous: str | None,
    details: dict[str, Any],
    reason: str,
    challenger: str | None = None,
    previous_challenger: str | None = None,
) -> int:
    """Write the forecast and finish the job in one transaction; the aliases move just
    before the commit (``challenger``: its version, None removes the alias) and are
    moved back if the commit fails."""
    moved: list[tuple[str, str | None]] = []  # (alias, version to restore)
    try:
        with engine.begin() as conn:
            forecast_id = write_forecast(conn, series, forecast)
            finish_job(conn, job.id, SUCCEEDED, reason=reason, details=details)
            mlflow_call(
                "moving the challenger alias",
                lambda: point_alias(tracking_uri, series, reg.CHALLENGER, challenger),
            )
            moved.append((reg.CHALLENGER, previous_challenger))
            mlflow_call(
                "moving the champion alias",
                lambda: reg.set_alias(tracking_uri, series, reg.CHAMPION, version),
            )
            moved.append((reg.CHAMPION, previous))
        return forecast_id
    except BaseException:
        for alias, before in reversed(moved):
            restore_alias(tracking_uri, series, alias, before)
        raise


def _fail(engine: Engine, job: JobInfo | None, reason: str, details: dict[str, Any]) -> None:
    if job is None:
        return
    try:
        finish_job(engine, job.id, FAILED, reason=reason, details=details)
    except (StoreError, SQLAlchemyError) as exc:
        # the database itself is failing: the job stays running until it goes stale
        log.error("job %s: could not record the failure (%s): %s", job.id, exc, reason)


def retrain(
    engine: Engine,
    series: str,
    *,
    tracking_uri: str,
    candidates: Sequence[ModelConfig] = DEFAULT_CANDIDATES,
    recent_origins: int = 26,
    every: int | str = 7,
    horizon: int = 28,
    n_samples: int = 1000,
    seed: int = 0,
    n_boot: int = 1000,
    executor: Executor | None = None,
    stale_after: dt.timedelta | None = DEFAULT_LEASE_EXPIRY,
    heartbeat_every: dt.timedelta = DEFAULT_HEARTBEAT,
    progress: Callable[[str], None] | None = None,
    plots: bool = True,
    job: JobInfo | None = None,
    drift_band: DriftBand | None = None,
    drivers: DriverFuturesConfig = DETERMINISTIC,
) -> RetrainOutcome:
    """Retrain ``series`` (see the module docstring for the steps and the promotion rule).

    ``recent_origins`` origins ``every`` apart (periods, or a length such as ``1W`` or
    ``1M`` matched to the series' frequency: ``stride_for``); ``horizon`` periods per forecast
    (also the served horizon); ``n_samples`` paths per forecast; ``seed`` fixes every
    draw. ``progress(step)`` is called as steps begin; ``plots=False`` logs the runs
    without their PNG charts. ``job``: a running retrain job of ``series`` that the
    caller already started (an API request answers with its id before the work
    begins); by default the job is started here. ``drift_band``: the accuracy alarm's
    settings (default ``DriftBand()``) that decide whether the champion is unproven.
    ``drivers``: the forecast period's drivers of the served forecast when its model
    reads any (``cadence.experiments.driver_futures``: the deterministic continuation by
    default, or simulated futures of the fitted driver process, which a scenario with the
    same setting and seed reproduces exactly).
    ``heartbeat_every``/``stale_after``: the job's lease (renewal interval; how long a
    running job of ``series`` may go unrenewed before this retrain takes it over).
    Raises ``JobConflictError`` when a retrain of ``series`` is already running;
    returns ``status == "failed"`` for the failures an operator can act on.
    """
    t0 = time.perf_counter()
    step = _Step()
    step("lock", progress)
    job = _lock(
        engine, series, job, candidates=candidates, horizon=horizon, stale_after=stale_after
    )
    outcome = RetrainJob(
        engine,
        series,
        job,
        tracking_uri=tracking_uri,
        candidates=candidates,
        recent_origins=recent_origins,
        every=every,
        horizon=horizon,
        n_samples=n_samples,
        seed=seed,
        n_boot=n_boot,
        executor=executor,
        plots=plots,
        drift_band=drift_band or DriftBand(),
        heartbeat_every=heartbeat_every,
        progress=progress,
        step=step,
        driver_futures=drivers,
    ).run()
    outcome.seconds = time.perf_counter() - t0
    return outcome


# --- the job --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evaluation:
    """What the first half of a retrain found: the data, the backtest and the decision,
    with the configurations to try in order (the chosen one, then its fallbacks)."""

    data: SeriesData
    result: BacktestResult
    decision: Decision
    order: list[ModelConfig]
    by_key: dict[str, ModelConfig]
    champion: ModelConfig | None


@dataclass(frozen=True)
class _Refitted:
    """The configuration that was fitted on all the data, and how it came to serve."""

    config: ModelConfig
    model: Any
    origin: pd.Timestamp
    promoted: bool
    fell_back: bool
    reason: str


@dataclass
class RetrainJob:
    """One retrain of one series whose job row is already held (see the module docstring
    for the steps). Each step is a method that returns what it found; ``run`` calls them
    in order and records their results on ``outcome`` and on the job's ``details`` as
    they become known, so a failure still reports everything found before it."""

    engine: Engine
    series: str
    job: JobInfo
    tracking_uri: str
    candidates: Sequence[ModelConfig]
    recent_origins: int
    every: int | str
    horizon: int
    n_samples: int
    seed: int
    n_boot: int
    executor: Executor | None
    plots: bool
    drift_band: DriftBand
    heartbeat_every: dt.timedelta = DEFAULT_HEARTBEAT
    progress: Callable[[str], None] | None = None
    step: _Step = field(default_factory=_Step)
    driver_futures: DriverFuturesConfig = DETERMINISTIC
    outcome: RetrainOutcome = field(init=False)
    details: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.outcome = RetrainOutcome(
            series=self.series, job_id=self.job.id, status=FAILED_OUTCOME, reason=""
        )
        self.details = {"candidates": [c.key for c in self.candidates], "horizon": self.horizon}

    def run(self) -> RetrainOutcome:
        """Run every step under the job's lease; expected failures become a ``failed``
        outcome, anything else is recorded on the job and re-raised."""
        with keep_lease(self.engine, self.job.id, every=self.heartbeat_every):
            try:
                self._promote(self._evaluate())
            except EXPECTED_FAILURES as exc:
                self._failed(exc)
            except BaseException as exc:  # a bug or an interruption: recorded, then re-raised
                self.details["failed_step"] = self.step.name
                reason = f"{self.step.name}: {type(exc).__name__}: {exc}"
                _fail(self.engine, self.job, reason, self.details)
                raise
        self.step.close()
        self.outcome.step_seconds = {k: v for k, v in self.step.seconds.items() if k != "start"}
        return self.outcome

    def _begin(self, name: str) -> None:
        self.step(name, self.progress)

    def _failed(self, exc: BaseException) -> None:
        o, name = self.outcome, self.step.name
        o.status = FAILED_OUTCOME
        o.reason = f"{name}: {type(exc).__name__}: {exc}"
        o.champion, o.champion_version = o.previous_champion, o.previous_version
        self.details["failed_step"] = name
        _fail(self.engine, self.job, o.reason, self.details)
        log.warning("retrain of %s failed at %s: %s", self.series, name, exc)

    # --- the first half: what should serve ------------------------------------------------

    def _evaluate(self) -> _Evaluation:
        o = self.outcome
        self._begin("registry")
        champ, notes = reconcile(self.engine, self.series, self.tracking_uri)
        o.warnings.extend(notes)
        champ_config = champ.config if champ is not None else None
        o.previous_champion = champ_config.key if champ_config else None
        o.previous_version = champ.version if champ is not None else None
        self._begin("data")
        data, origins = self.load()
        self._begin("backtest")
        configs, result = self.backtest(data, origins, champ_config)
        o.crps, o.skill = all_crps(result), result.skill_vs_climatology()
        o.failures = failure_notes(result)
        self._begin("tracking")
        all_configs = [*configs, ModelConfig(CLIMATOLOGY)]
        o.run_ids = self.track(result, all_configs)
        self.details["backtest"] = result.to_json(o.run_ids)
        self._begin("decide")
        unproven = self.unproven(champ_config)
        if unproven:
            self.details["unproven"] = unproven
            o.warnings.append("champion unproven: " + "; ".join(unproven))
        decision = self.decide(result, champ_config, unproven)
        o.difference = decision.difference
        self.details.update(decision=decision.reason, eligible=list(decision.eligible))
        if decision.chosen is None:
            raise NoServableModelError(f"series {self.series!r}: {decision.reason}")
        by_key = {c.key: c for c in all_configs}
        eligible = [by_key[k] for k in decision.eligible if k in by_key]
        order = serving_order(by_key[decision.chosen], champ_config, eligible)
        return _Evaluation(data, result, decision, order, by_key, champ_config)

    def load(self) -> tuple[SeriesData, list[pd.Timestamp]]:
        """The series' stored rows and the recent origins of its backtest."""
        data = load_series_data(self.engine, self.series)
        origins = recent_origins_for(
            data, n=self.recent_origins, every=self.every, horizon=self.horizon
        )
        if not origins:
            raise ExperimentError(
                f"series {self.series!r}: no origin with {self.horizon} periods of data after it"
            )
        return data, origins

    def backtest(
        self, data: SeriesData, origins: list[pd.Timestamp], champion: ModelConfig | None
    ) -> tuple[list[ModelConfig], BacktestResult]:
        """The candidates and the champion's configuration on the recent origins."""
        configs = list(self.candidates)
        if champion is not None and champion.key not in {c.key for c in configs}:
            configs.append(champion)
        result = run_backtest(
            data,
            configs,
            origins=origins,
            horizon=self.horizon,
            n_samples=self.n_samples,
            seed=self.seed,
            executor=self.executor,
        )
        return configs, result

    def track(self, result: BacktestResult, configs: list[ModelConfig]) -> dict[str, str]:
        """One MLflow run per configuration: their ids by model key."""
        return cast(
            dict[str, str],
            mlflow_call(
                "logging the backtest",
                lambda: log_backtest(
                    result,
                    tracking_uri=self.tracking_uri,
                    configs=configs,
                    n_samples=self.n_samples,
                    seed=self.seed,
                    tags={"cadence.job_id": self.job.id},
                    plots=self.plots,
                ),
            ),
        )

    def unproven(self, champion: ModelConfig | None) -> list[str]:
        """Why the champion's served forecasts raised the accuracy alarm (empty: they did
        not, or there is no champion)."""
        if champion is None:
            return []
        live = accuracy_status(self.engine, self.series, self.drift_band)
        return list(live.reasons) if live.alarm else []

    def decide(
        self, result: BacktestResult, champion: ModelConfig | None, unproven: list[str]
    ) -> Decision:
        """The promotion rule; an ``unproven`` champion competes as one more candidate."""
        return decide_unproven(
            result,
            [c.key for c in self.candidates],
            champion.key if champion else None,
            unproven,
            n_boot=self.n_boot,
            seed=self.seed,
        )

    # --- the second half: refit, register, serve ------------------------------------------

    def _promote(self, ev: _Evaluation) -> None:
        o = self.outcome
        self._begin("refit")
        fit = self.refit(ev)
        self._begin("drivers")
        drivers, ids = self.drivers(ev, fit)
        o.run_ids.update(ids)
        self.details["drivers"] = drivers
        self.details["backtest"]["drivers"] = drivers
        self._begin("register")
        future = ev.data.future(fit.origin, self.horizon)
        registered = self.register(ev.data, fit, future)
        self._begin("challenger")
        challenger = self.challenger(ev, fit, future)
        previous_challenger = mlflow_call(
            "reading the challenger alias",
            lambda: reg.alias_version(self.tracking_uri, self.series, reg.CHALLENGER),
        )
        self._begin("serve")
        o.forecast_id = self.serve(
            ev.data, fit, future, registered, challenger, previous_challenger
        )
        o.status = FALLBACK if fit.fell_back else PROMOTED if fit.promoted else KEPT
        o.reason = fit.reason
        o.champion = fit.config.key
        o.champion_version = registered.version
        if challenger is not None:
            o.challenger, o.challenger_version = challenger
        o.origin = fit.origin.date().isoformat()

    def refit(self, ev: _Evaluation) -> _Refitted:
        """The first configuration of the serving order fitted on all the data."""
        config, model, origin = _refit(
            ev.data,
            ev.order,
            horizon=self.horizon,
            n_samples=self.n_samples,
            seed=self.seed,
            tracking_uri=self.tracking_uri,
            run_ids=self.outcome.run_ids,
            notes=self.outcome.warnings,
        )
        promoted = config.key != (ev.champion.key if ev.champion else None)
        fell_back = config.key != ev.decision.chosen
        reason = ev.decision.reason if not fell_back else "; ".join(self.outcome.warnings)
        return _Refitted(config, model, origin, promoted, fell_back, reason)

    def drivers(self, ev: _Evaluation, fit: _Refitted) -> tuple[Any, dict[str, str]]:
        """The with/without-drivers comparison, and the ids of its MLflow runs."""
        drivers, ablation, ablated = driver_ablation(
            ev.data,
            ev.result,
            fit.config,
            fit.model,
            horizon=self.horizon,
            n_samples=self.n_samples,
            seed=self.seed,
        )
        if ablation is None or ablated is None:
            return drivers, {}
        tags = {"cadence.job_id": self.job.id, "cadence.driver_ablation": fit.config.key}
        ids = mlflow_call(
            "logging the driver ablation",
            lambda: log_backtest(
                ablation,
                tracking_uri=self.tracking_uri,
                configs=[ablated, ModelConfig(CLIMATOLOGY)],
                n_samples=self.n_samples,
                seed=self.seed,
                tags=tags,
                plots=False,
            ),
        )
        return drivers, ids

    def register(
        self, data: SeriesData, fit: _Refitted, future: pd.DataFrame | None
    ) -> reg.RegisteredVersion:
        """The fitted model as a new registry version (its aliases move at ``serve``)."""
        return _register(
            "registering the model",
            fit.model,
            fit.config,
            data,
            origin=fit.origin,
            future=future,
            horizon=self.horizon,
            tracking_uri=self.tracking_uri,
            run_ids=self.outcome.run_ids,
            tags={"cadence.job_id": self.job.id, "cadence.promoted": str(fit.promoted).lower()},
        )

    def challenger(
        self, ev: _Evaluation, fit: _Refitted, future: pd.DataFrame | None
    ) -> tuple[str, str] | None:
        """The runner-up registered as its own version: (model key, version), or None."""
        refit_failed = {c.key for c in ev.order[: ev.order.index(fit.config)]}
        return _register_challenger(
            ev.data,
            [ev.by_key[k] for k in ev.decision.challengers(fit.config.key, refit_failed)],
            series=self.series,
            origin=fit.origin,
            future=future,
            horizon=self.horizon,
            seed=self.seed,
            tracking_uri=self.tracking_uri,
            job_id=self.job.id,
            run_ids=self.outcome.run_ids,
            notes=self.outcome.warnings,
        )

    def serve(
        self,
        data: SeriesData,
        fit: _Refitted,
        future: pd.DataFrame | None,
        registered: reg.RegisteredVersion,
        challenger: tuple[str, str] | None,
        previous_challenger: reg.RegisteredVersion | None,
    ) -> int:
        """Draw the served paths from the registered model, write them and finish the
        job in one transaction, moving the aliases just before the commit."""
        forecast = self._forecast(data, fit, registered)
        self.details.update(
            champion=fit.config.key,
            version=registered.version,
            challenger=None if challenger is None else challenger[0],
            challenger_version=None if challenger is None else challenger[1],
            promoted=fit.promoted,
            effects=champion_effects(fit.model),
        )
        return _serve(
            self.engine,
            self.series,
            job=self.job,
            forecast=forecast,
            tracking_uri=self.tracking_uri,
            version=registered.version,
            previous=self.outcome.previous_version,
            details=self.details,
            reason=fit.reason,
            challenger=None if challenger is None else challenger[1],
            previous_challenger=_version(previous_challenger),
        )

    def _forecast(
        self,
        data: SeriesData,
        fit: _Refitted,
        registered: reg.RegisteredVersion,
    ) -> NewForecast:
        """The served forecast: paths drawn as the registered model draws them, or, with
        simulated driver futures and a model that reads drivers, over those futures
        (``served_paths``)."""
        fc = served_forecast(
            lambda: served_paths(
                fit.model,
                data,
                fit.origin,
                self.horizon,
                n_samples=self.n_samples,
                seed=self.seed,
                drivers=self.driver_futures,
            )
        )
        if "driver_futures" in fc.meta:
            self.details["driver_futures"] = fc.meta["driver_futures"]
        return served_row(
            self.series,
            data.frequency,
            fc,
            model_name=fit.config.key,
            version=registered.version,
            run_id=registered.run_id,
            horizon=self.horizon,
            job_id=self.job.id,
            last_count=counts_through(data.last_reported_period, fc.origin, data.frequency),
        )


def _version(registered: reg.RegisteredVersion | None) -> str | None:
    return None if registered is None else registered.version


def serving_order(
    chosen: ModelConfig, champion: ModelConfig | None, eligible: Sequence[ModelConfig] = ()
) -> list[ModelConfig]:
    """The chosen configuration, then the next ``eligible`` ones (they beat climatology
    too, best first), then the champion's, then Climatology (each once): a refit that
    fails moves down this list."""
    order = [chosen]
    for fallback in (*eligible, champion, ModelConfig(CLIMATOLOGY)):
        if fallback is not None and fallback.key not in {c.key for c in order}:
            order.append(fallback)
    return order


def _lock(
    engine: Engine,
    series: str,
    job: JobInfo | None,
    *,
    candidates: Sequence[ModelConfig],
    horizon: int,
    stale_after: dt.timedelta | None,
) -> JobInfo:
    """The running retrain job of ``series``: the one given, or a new one."""
    if job is None:
        return start_job(
            engine,
            KIND_RETRAIN,
            series,
            details={"candidates": [c.key for c in candidates], "horizon": horizon},
            stale_after=stale_after,
        )
    if job.kind != KIND_RETRAIN or job.series != series:
        raise ValueError(
            f"job {job.id} is a {job.kind} of {job.series!r}, not a retrain of {series!r}"
        )
    return job
