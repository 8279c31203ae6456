"""The driver's half of a many-series retrain for one series: register on change, serve.

``serve_fit`` takes what a worker fitted for a series (``batch.SeriesFit``) and,
as ``job.retrain`` does in its last steps, registers and serves it in the series'
own transaction, moving the aliases just before the commit. Unlike ``retrain``, a new
registry version is made only when the champion's configuration changes (or there was
no champion): a champion that stays serves its refitted paths under its current version
(the job's details say ``registered: false``), so a weekly retrain of a thousand series
whose champions hold writes no model at all. The challenger is registered only when its
configuration changes, and its alias is otherwise left where it is.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine

from cadence.experiments import model_registry as reg
from cadence.experiments.backtest import ModelConfig
from cadence.features.families import family_of
from cadence.jobs.retrain.aliases import mlflow_call
from cadence.jobs.retrain.batch import RetrainSettings, SeriesFit
from cadence.jobs.retrain.decide import all_crps, failure_notes
from cadence.jobs.retrain.job import (
    EXPECTED_FAILURES,
    FAILED_OUTCOME,
    FALLBACK,
    KEPT,
    PROMOTED,
    RetrainOutcome,
    _serve,
    served_row,
)
from cadence.store.forecasts_repo import NewForecast
from cadence.store.jobs_repo import FAILED, JobInfo, finish_job

__all__ = ["LiveSeries", "fail_series", "serve_fit"]

log = logging.getLogger(__name__)


@dataclass
class LiveSeries:
    """A series under way on the driver: its outcome, its running job, the versions its
    aliases pointed at when it started, and the job's details as they grow."""

    outcome: RetrainOutcome
    job: JobInfo
    champion: reg.RegisteredVersion | None = None
    challenger: reg.RegisteredVersion | None = None
    details: dict[str, Any] = field(default_factory=dict)


def fail_series(engine: Engine, live: LiveSeries, step: str, reason: str) -> None:
    """Record ``live`` as failed at ``step`` (its job and its outcome); nothing it
    serves changes."""
    o = live.outcome
    o.status, o.reason = FAILED_OUTCOME, f"{step}: {reason}"
    o.champion, o.champion_version = o.previous_champion, o.previous_version
    live.details["failed_step"] = step
    try:
        finish_job(engine, live.job.id, FAILED, reason=o.reason, details=live.details)
    except EXPECTED_FAILURES as exc:
        log.error("job %s: could not record the failure (%s): %s", live.job.id, exc, o.reason)


def _register(
    what: str,
    model: Any,
    config: ModelConfig,
    fit: SeriesFit,
    *,
    run_ids: dict[str, str],
    settings: RetrainSettings,
    tracking_uri: str,
    tags: dict[str, str],
) -> reg.RegisteredVersion:
    # a family's runs hold every member's tables: a member's model gets a run of its own
    run_id = run_ids.get(config.key) if family_of(fit.series) is None else None
    return cast(
        reg.RegisteredVersion,
        mlflow_call(
            what,
            lambda: reg.register_forecaster(
                model,
                config,
                series=fit.series,
                frequency=fit.frequency,
                origin=fit.origin,
                future=fit.future,
                max_horizon=settings.horizon,
                tracking_uri=tracking_uri,
                run_id=run_id,
                aliases=(),
                tags=tags,
            ),
        ),
    )


def serve_fit(
    engine: Engine,
    live: LiveSeries,
    fit: SeriesFit,
    run_ids: dict[str, str],
    settings: RetrainSettings,
    tracking_uri: str,
) -> None:
    """Register (on change) and serve ``fit`` for ``live`` (see the module); an expected
    failure fails this series only."""
    step = ["register"]
    try:
        _serve_one(engine, live, fit, run_ids, settings, tracking_uri, step)
    except EXPECTED_FAILURES as exc:
        fail_series(engine, live, step[0], f"{type(exc).__name__}: {exc}")
        log.warning("retrain of %s failed at %s: %s", fit.series, step[0], exc)


def _versions(
    live: LiveSeries,
    fit: SeriesFit,
    run_ids: dict[str, str],
    settings: RetrainSettings,
    tracking_uri: str,
    tags: dict[str, str],
) -> tuple[str, str | None, str | None]:
    """(champion version, its run, challenger version): new versions only on change."""
    config = cast(ModelConfig, fit.config)
    if fit.model is not None:
        new = _register(
            "registering the model",
            fit.model,
            config,
            fit,
            run_ids=run_ids,
            settings=settings,
            tracking_uri=tracking_uri,
            tags=tags,
        )
        version, run_id = new.version, new.run_id
    elif live.champion is not None:
        version, run_id = live.champion.version, live.champion.run_id
    else:  # a worker sends the model whenever the champion changes
        raise AssertionError(f"{fit.series}: no fitted model and no champion")
    if fit.challenger is not None:
        c_config, c_model = fit.challenger
        c_version: str | None = _register(
            "registering the challenger",
            c_model,
            c_config,
            fit,
            run_ids=run_ids,
            settings=settings,
            tracking_uri=tracking_uri,
            tags={**tags, "cadence.promoted": "false"},
        ).version
    elif fit.challenger_key is None or live.challenger is None:
        c_version = None
    else:
        c_version = live.challenger.version
    return version, run_id, c_version


def _record_backtest(live: LiveSeries, fit: SeriesFit, run_ids: dict[str, str]) -> None:
    """The backtest and the decision in the outcome and the job's details."""
    o, result, decision = live.outcome, fit.result, fit.decision
    assert result is not None and decision is not None
    o.crps, o.skill, o.run_ids = all_crps(result), result.skill_vs_climatology(), run_ids
    o.failures = failure_notes(result)
    o.difference = decision.difference
    o.warnings.extend(fit.warnings)
    live.details["backtest"] = result.to_json(run_ids)
    live.details.update(decision=decision.reason, eligible=list(decision.eligible))
    if fit.origins:  # (model, origin) pairs scored from earlier retrains, and fitted now
        live.details["scores_reused"] = fit.reused
        live.details["scores_fitted"] = len(fit.new_scores)
    if fit.drivers is not None:
        live.details["drivers"] = fit.drivers
        live.details["backtest"]["drivers"] = fit.drivers
    if fit.driver_futures is not None:
        live.details["driver_futures"] = fit.driver_futures


def _new_forecast(
    fit: SeriesFit,
    config: ModelConfig,
    version: str,
    run_id: str | None,
    *,
    horizon: int,
    job_id: str,
) -> NewForecast:
    """The forecast row of what the worker drew for ``config``, served as ``version``."""
    assert fit.forecast is not None and fit.origin is not None
    return served_row(
        fit.series,
        fit.frequency,
        fit.forecast,
        model_name=config.key,
        version=version,
        run_id=run_id,
        horizon=horizon,
        job_id=job_id,
        last_count=fit.last_count,
    )


def _serve_one(
    engine: Engine,
    live: LiveSeries,
    fit: SeriesFit,
    run_ids: dict[str, str],
    settings: RetrainSettings,
    tracking_uri: str,
    step: list[str],
) -> None:
    t0 = time.perf_counter()
    o, details = live.outcome, live.details
    decision, config = fit.decision, fit.config
    assert decision is not None and config is not None
    assert fit.forecast is not None and fit.origin is not None
    _record_backtest(live, fit, run_ids)
    promoted = config.key != o.previous_champion
    fell_back = config.key != decision.chosen
    reason = decision.reason if not fell_back else "; ".join(fit.warnings)
    tags = {"cadence.job_id": live.job.id, "cadence.promoted": str(promoted).lower()}
    version, run_id, c_version = _versions(live, fit, run_ids, settings, tracking_uri, tags)
    o.step_seconds["register"] = round(time.perf_counter() - t0, 4)
    t1 = time.perf_counter()
    step[0] = "serve"
    forecast = _new_forecast(
        fit, config, version, run_id, horizon=settings.horizon, job_id=live.job.id
    )
    details.update(
        champion=config.key,
        version=version,
        challenger=fit.challenger_key if c_version is not None else None,
        challenger_version=c_version,
        promoted=promoted,
        registered=fit.model is not None,
        effects=fit.effects,
    )
    o.forecast_id = _serve(
        engine,
        fit.series,
        job=live.job,
        forecast=forecast,
        tracking_uri=tracking_uri,
        version=version,
        previous=o.previous_version,
        details=details,
        reason=reason,
        challenger=c_version,
        previous_challenger=None if live.challenger is None else live.challenger.version,
    )
    o.status = FALLBACK if fell_back else PROMOTED if promoted else KEPT
    o.reason = reason
    o.champion, o.champion_version = config.key, version
    if c_version is not None:
        o.challenger, o.challenger_version = fit.challenger_key, c_version
    o.origin = fit.origin.date().isoformat()
    o.step_seconds["serve"] = round(time.perf_counter() - t1, 4)
