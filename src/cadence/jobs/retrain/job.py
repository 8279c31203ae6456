"""The retraining job: backtest, promote only on evidence, serve the champion's forecast.

One run of ``retrain(engine, series, ...)``:

1. **lock**: a ``running`` job row for ``("retrain", series)``; a second retrain of the
   same series fails with ``JobConflictError`` (the database enforces it). While the job
   runs, a background thread renews its lease every ``heartbeat_every``; a job left
   ``running`` by a killed process is taken over (recorded ``abandoned``) once it has not
   been renewed for ``stale_after``.
2. **reconcile**: the database says what is served; if the registry's ``champion`` alias
   points elsewhere (a process killed between moving the alias and committing), the
   alias is put back on the served version. A ``challenger`` alias on a version newer
   than any the serving job registered (moved by a retrain that never committed) is put
   back on the challenger that job recorded (removed when it had none).
3. **data**: the series' stored rows are read afresh (``load_series_data``).
4. **backtest**: the candidates, the champion's configuration and Climatology on the
   same ``recent_origins`` (rolling origins ``every`` apart, the last one ``horizon``
   periods before the end of the data); one MLflow run per configuration.
5. **decide**: a candidate is *eligible* when it was scored at every origin and has a
   lower mean CRPS than Climatology over the same (origin, horizon) pairs, and (daily
   series) a lower mean CRPS of 7-day totals too (it *beats Climatology*). The best
   eligible candidate (lowest mean of its daily and 7-day-total CRPS relative to
   Climatology's; lowest CRPS when no total is scored) is promoted when there is
   no champion, or when the 95% bootstrap interval of its CRPS difference to the champion
   over origins (``BacktestResult.crps_difference``) lies below zero. A champion that
   failed in the backtest yields to the best eligible candidate. A champion whose served
   forecasts raised the accuracy alarm (``cadence.experiments.accuracy.rolling``: rolling
   80% coverage outside its band, or rolling CRPS worse than Climatology) is *unproven*: it
   competes as one more candidate, without the advantage of the interval rule. With no
   champion and no eligible candidate, Climatology itself serves (the reference every
   model must beat), also when nothing could be scored (counts known only as interval
   totals).
6. **refit**: the chosen configuration is fitted on all the data (``fit_and_forecast`` at
   the last period). If it raises, a warning is logged, its MLflow run is tagged
   ``cadence.refit_failed``, and the next configuration serves instead (the current
   champion, then Climatology): the one broad ``except`` of the job.
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
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cadence.experiments import model_registry as reg
from cadence.experiments.accuracy.rolling import DriftBand, accuracy_status
from cadence.experiments.backtest import (
    CLIMATOLOGY,
    BacktestResult,
    ModelConfig,
    fit_and_forecast,
    run_backtest,
    skill_against_climatology,
    stride_for,
)
from cadence.experiments.data import SeriesData, load_series_data, shift_periods
from cadence.experiments.driver_ablation import driver_ablation
from cadence.experiments.errors import ExperimentError, NoServableModelError, TrackingError
from cadence.experiments.executors import Executor
from cadence.experiments.numbers import finite_or_none
from cadence.experiments.serving import forecast_payload
from cadence.experiments.tracking import log_backtest, mlflow_client, quiet_mlflow
from cadence.features.errors import FeatureError
from cadence.models.errors import ModelError
from cadence.models.forecast import CountForecast
from cadence.store.errors import StoreError
from cadence.store.forecasts_repo import (
    NewForecast,
    StoredForecast,
    current_forecast,
    write_forecast,
)
from cadence.store.job_lease import keep_lease
from cadence.store.jobs_repo import (
    DEFAULT_HEARTBEAT,
    DEFAULT_LEASE_EXPIRY,
    FAILED,
    KIND_RETRAIN,
    SUCCEEDED,
    JobInfo,
    finish_job,
    get_job,
    start_job,
)
from cadence.store.tables import utcnow

__all__ = [
    "DEFAULT_CANDIDATES",
    "Decision",
    "RetrainOutcome",
    "champion_effects",
    "decide",
    "recent_origins_for",
    "reconcile",
    "retrain",
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


@dataclass(frozen=True)
class Decision:
    """Which configuration serves next and why. ``difference``: (mean, low, high) of
    the CRPS difference candidate - champion when it was computed."""

    chosen: str | None
    promoted: bool
    reason: str
    difference: tuple[float, float, float] | None = None
    eligible: tuple[str, ...] = ()

    def challengers(self, served: str, skip: Collection[str] = ()) -> tuple[str, ...]:
        """Who the ``challenger`` alias may point at, best first: the eligible candidates
        (lowest CRPS first) other than the ``served`` configuration and those in
        ``skip`` (e.g. configurations that could not be refitted)."""
        return tuple(k for k in self.eligible if k != served and k not in skip)


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


# --- decision -----------------------------------------------------------------------------


def _all_crps(result: BacktestResult) -> dict[str, float]:
    s = result.scores
    if s.empty:
        return {}
    rows = s[s["horizon"].astype(str) == "all"]
    return {str(m): float(v) for m, v in zip(rows["model"], rows["crps"], strict=True)}


def _weekly_skill(result: BacktestResult) -> dict[str, float]:
    """``1 - CRPS / CRPS of climatology`` of 7-day totals, over the (origin, window)
    pairs both scored (NaN where none); empty when the backtest scored no 7-day total."""
    po = result.total_per_origin.get(7)
    if po is None:
        return {}
    po = po[np.isfinite(po["crps"].to_numpy(dtype=float))]  # a tally series scores none
    if po.empty or CLIMATOLOGY not in set(po["model"]):
        return {}
    return skill_against_climatology(po, result.models)


def decide(
    result: BacktestResult,
    candidates: Sequence[str],
    champion: str | None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> Decision:
    """The promotion rule of the module docstring, on one backtest. ``candidates`` and
    ``champion`` are model keys of ``result``."""
    crps = _all_crps(result)
    skill = result.skill_vs_climatology()
    weekly = _weekly_skill(result)
    # the origins where anything was scored: a tally series has origins whose horizon
    # holds no whole interval, and origins before its first observation where every
    # model fails; nothing can be compared there
    scored_all = result.per_origin
    if not scored_all.empty and "crps" in scored_all:
        scored_all = scored_all[np.isfinite(scored_all["crps"].to_numpy(dtype=float))]
    n_scored = not scored_all.empty
    n_origins = scored_all["origin"].nunique() if n_scored else len(result.origins)
    compared = set(scored_all["origin"]) if n_scored else set(result.origins)
    failed = {m for m, o, _ in result.failures if o in compared} | set(result.skipped)

    def clean(key: str) -> bool:
        seen = scored_all[scored_all["model"] == key]["origin"].nunique() if n_scored else 0
        return (
            key in result.models
            and key not in failed
            and np.isfinite(crps.get(key, np.nan))
            and seen == n_origins
        )

    def beats_climatology(key: str) -> bool:
        # on daily CRPS and, where scored, on the CRPS of 7-day totals
        return skill.get(key, -1.0) > 0 and (not weekly or weekly.get(key, -1.0) > 0)

    def rank(key: str) -> float:
        # the mean of the two relative CRPS (model / climatology) when totals are scored
        if not weekly:
            return crps[key]
        return 1.0 - 0.5 * (skill[key] + weekly[key])

    eligible = tuple(
        sorted(
            (k for k in candidates if k != CLIMATOLOGY and clean(k) and beats_climatology(k)),
            key=rank,
        )
    )
    best = eligible[0] if eligible else None
    if champion is None:
        if best is not None:
            why = (
                f"no champion yet; {best} has the lowest CRPS ({crps[best]:.4g})"
                if not weekly
                else f"no champion yet; {best} ranks best on daily and 7-day-total CRPS "
                f"relative to climatology (daily {crps[best]:.4g}, skill {skill[best]:+.3f}; "
                f"7-day totals skill {weekly[best]:+.3f})"
            )
            return Decision(best, True, f"{why} and beats climatology", None, eligible)
        if clean(CLIMATOLOGY):
            return Decision(
                CLIMATOLOGY,
                True,
                "no champion yet and no candidate beats climatology: the baseline serves",
                None,
                eligible,
            )
        if CLIMATOLOGY in result.models and CLIMATOLOGY not in failed:
            # e.g. counts known only as interval totals leave nothing to score against
            return Decision(
                CLIMATOLOGY,
                True,
                "no champion yet and no model could be scored at every origin: the baseline serves",
                None,
                eligible,
            )
        return Decision(None, False, "no model was scored at every origin", None, eligible)
    if not clean(champion):
        if best is not None:
            return Decision(
                best,
                True,
                f"champion {champion} failed or was not scored at every origin; "
                f"{best} beats climatology",
                None,
                eligible,
            )
        return Decision(
            champion,
            False,
            f"champion {champion} kept: it failed or was not scored at every origin, and no "
            "candidate beats climatology",
            None,
            eligible,
        )
    if best is None or best == champion:
        why = "no candidate beats climatology" if best is None else "the champion scores best"
        return Decision(champion, False, f"champion {champion} kept: {why}", None, eligible)
    diff = result.crps_difference(best, champion, n_boot=n_boot, seed=seed)
    mean, lo, hi = diff
    if np.isfinite(hi) and hi < 0:
        return Decision(
            best,
            True,
            f"{best} beats champion {champion}: CRPS difference {mean:.4g} "
            f"(95% interval {lo:.4g} .. {hi:.4g})",
            diff,
            eligible,
        )
    # per-origin means can order the two differently from the pooled CRPS that made
    # ``best`` the best candidate: say which case this is
    where = "includes zero" if lo <= 0 else "lies above zero: the champion is better per origin"
    return Decision(
        champion,
        False,
        f"champion {champion} kept: {best} differs by {mean:.4g} CRPS "
        f"(95% interval {lo:.4g} .. {hi:.4g} {where})",
        diff,
        eligible,
    )


# --- steps ----------------------------------------------------------------------------------


def recent_origins_for(
    data: SeriesData, *, n: int, every: int | str, horizon: int
) -> list[pd.Timestamp]:
    """``n`` origins ``every`` apart (periods, or a length like ``1W``/``1M`` matched to
    the series' frequency; ``BacktestConfigError`` when it does not fit), the last one
    ``horizon`` periods before the last period with data (so every horizon is observed),
    oldest first; origins before the first period are dropped."""
    freq = data.frequency
    step = stride_for(data, every)
    last = shift_periods(data.last_period, -horizon, freq)
    out = [shift_periods(last, -step * i, freq) for i in range(n)]
    return sorted(o for o in out if o > data.first_period)


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


def _mlflow(step: str, fn: Callable[[], Any]) -> Any:
    """Run one MLflow interaction; its failures become ``TrackingError`` naming ``step``."""
    try:
        return fn()
    except (MlflowException, OSError) as exc:
        raise TrackingError(
            f"MLflow failed while {step}: {type(exc).__name__}: {exc}", step
        ) from exc


def reconcile(
    engine: Engine, series: str, tracking_uri: str
) -> tuple[reg.RegisteredVersion | None, list[str]]:
    """The champion the registry and the database agree on; notes on what was repaired
    (the champion alias, and the challenger alias recorded by the serving job)."""
    champ = _mlflow("reading the champion alias", lambda: reg.alias_version(tracking_uri, series))
    served = current_forecast(engine, series, with_samples=False)
    if served is None or served.model_version is None:
        return champ, []
    notes = _reconcile_challenger(engine, series, tracking_uri, served)
    if champ is not None and champ.version == served.model_version:
        return champ, notes
    _mlflow(
        "restoring the champion alias",
        lambda: reg.set_alias(tracking_uri, series, reg.CHAMPION, str(served.model_version)),
    )
    note = (
        f"champion alias was on version {champ.version if champ else None} but version "
        f"{served.model_version} is served; alias restored"
    )
    log.warning("%s: %s", series, note)
    restored = _mlflow(
        "reading the champion alias", lambda: reg.alias_version(tracking_uri, series)
    )
    return restored, [note, *notes]


def _reconcile_challenger(
    engine: Engine, series: str, tracking_uri: str, served: StoredForecast
) -> list[str]:
    """Put the ``challenger`` alias back where the job that served the current forecast
    left it (None: removed) when it points at a version registered after that job's
    (champion or challenger): a retrain that moved it and never committed. An alias on an
    older version (set by hand) is left alone; so is a job that recorded no challenger."""
    if served.job_id is None or served.model_version is None:
        return []
    details = get_job(engine, served.job_id).details or {}
    if "challenger_version" not in details:
        return []
    recorded = details["challenger_version"]
    expected = None if recorded is None else str(recorded)
    current = _mlflow(
        "reading the challenger alias",
        lambda: reg.alias_version(tracking_uri, series, reg.CHALLENGER),
    )
    newest = max(int(v) for v in (served.model_version, expected) if v is not None)
    if current is None or int(current.version) <= newest:
        return []
    _mlflow(
        "restoring the challenger alias",
        lambda: _point_alias(tracking_uri, series, reg.CHALLENGER, expected),
    )
    note = (
        f"challenger alias was on version {current.version}, registered after the served "
        f"forecast by a retrain that never committed; the serving job {served.job_id} "
        f"recorded {expected}; alias restored"
    )
    log.warning("%s: %s", series, note)
    return [note]


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
    outcome: RetrainOutcome,
) -> tuple[str, str] | None:
    """Fit the first configuration of ``order`` that fits on all the data and register
    it as a new version (no alias: ``_serve`` moves it): (model key, version); None when
    ``order`` is empty or none fits (refit failures are noted in ``outcome.warnings``)."""
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
            run_ids=outcome.run_ids,
            notes=outcome.warnings,
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
        run_ids=outcome.run_ids,
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
        _mlflow(
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


def _served_forecast(
    wrapper: reg.CadenceForecaster, horizon: int, n_samples: int, seed: int
) -> CountForecast:
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")  # model warnings were reported at fit time
        return wrapper.forecast(horizon, n_samples=n_samples, seed=seed)


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
            _mlflow(
                "moving the challenger alias",
                lambda: _point_alias(tracking_uri, series, reg.CHALLENGER, challenger),
            )
            moved.append((reg.CHALLENGER, previous_challenger))
            _mlflow(
                "moving the champion alias",
                lambda: reg.set_alias(tracking_uri, series, reg.CHAMPION, version),
            )
            moved.append((reg.CHAMPION, previous))
        return forecast_id
    except BaseException:
        for alias, before in reversed(moved):
            _restore_alias(tracking_uri, series, alias, before)
        raise


def _point_alias(tracking_uri: str, series: str, alias: str, version: str | None) -> None:
    """Point ``alias`` at ``version``, or remove it when ``version`` is None."""
    if version is None:
        reg.remove_alias(tracking_uri, series, alias)
    else:
        reg.set_alias(tracking_uri, series, alias, version)


def _restore_alias(tracking_uri: str, series: str, alias: str, previous: str | None) -> None:
    try:
        _point_alias(tracking_uri, series, alias, previous)
    except (MlflowException, OSError) as exc:
        # champion: the next retrain's reconcile step repairs it from the served forecast;
        # challenger: the next retrain moves it
        log.error("%s: could not move the %s alias back: %s", series, alias, exc)


def _fail(engine: Engine, job: JobInfo | None, reason: str, details: dict[str, Any]) -> None:
    if job is None:
        return
    try:
        finish_job(engine, job.id, FAILED, reason=reason, details=details)
    except (StoreError, SQLAlchemyError) as exc:
        # the database itself is failing: the job stays running until it goes stale
        log.error("job %s: could not record the failure (%s): %s", job.id, exc, reason)


# --- the job --------------------------------------------------------------------------------


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
    ``heartbeat_every``/``stale_after``: the job's lease (renewal interval; how long a
    running job of ``series`` may go unrenewed before this retrain takes it over).
    Raises ``JobConflictError`` when a retrain of ``series`` is already running;
    returns ``status == "failed"`` for the failures an operator can act on.
    """
    t0 = time.perf_counter()
    step = _Step()
    step("lock", progress)
    if job is None:
        job = start_job(
            engine,
            KIND_RETRAIN,
            series,
            details={"candidates": [c.key for c in candidates], "horizon": horizon},
            stale_after=stale_after,
        )
    elif job.kind != KIND_RETRAIN or job.series != series:
        raise ValueError(
            f"job {job.id} is a {job.kind} of {job.series!r}, not a retrain of {series!r}"
        )
    outcome = RetrainOutcome(series=series, job_id=job.id, status=FAILED_OUTCOME, reason="")
    details: dict[str, Any] = {"candidates": [c.key for c in candidates], "horizon": horizon}
    with keep_lease(engine, job.id, every=heartbeat_every):
        try:
            _run(
                engine,
                series,
                job,
                outcome,
                details,
                step,
                progress,
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
            )
        except EXPECTED_FAILURES as exc:
            outcome.status = FAILED_OUTCOME
            outcome.reason = f"{step.name}: {type(exc).__name__}: {exc}"
            outcome.champion, outcome.champion_version = (
                outcome.previous_champion,
                outcome.previous_version,
            )
            details["failed_step"] = step.name
            _fail(engine, job, outcome.reason, details)
            log.warning("retrain of %s failed at %s: %s", series, step.name, exc)
        except BaseException as exc:  # a bug or an interruption: recorded, then re-raised
            details["failed_step"] = step.name
            _fail(engine, job, f"{step.name}: {type(exc).__name__}: {exc}", details)
            raise
    step.close()
    outcome.step_seconds = {k: v for k, v in step.seconds.items() if k != "start"}
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _run(
    engine: Engine,
    series: str,
    job: JobInfo,
    outcome: RetrainOutcome,
    details: dict[str, Any],
    step: _Step,
    progress: Callable[[str], None] | None,
    *,
    tracking_uri: str,
    candidates: Sequence[ModelConfig],
    recent_origins: int,
    every: int | str,
    horizon: int,
    n_samples: int,
    seed: int,
    n_boot: int,
    executor: Executor | None,
    plots: bool,
    drift_band: DriftBand,
) -> None:
    step("registry", progress)
    champ, notes = reconcile(engine, series, tracking_uri)
    outcome.warnings.extend(notes)
    champ_config = champ.config if champ is not None else None
    outcome.previous_champion = champ_config.key if champ_config else None
    outcome.previous_version = champ.version if champ is not None else None

    step("data", progress)
    data = load_series_data(engine, series)
    origins = recent_origins_for(data, n=recent_origins, every=every, horizon=horizon)
    if not origins:
        raise ExperimentError(
            f"series {series!r}: no origin with {horizon} periods of data after it"
        )

    step("backtest", progress)
    configs = list(candidates)
    keys = {c.key for c in configs}
    if champ_config is not None and champ_config.key not in keys:
        configs.append(champ_config)
    result = run_backtest(
        data,
        configs,
        origins=origins,
        horizon=horizon,
        n_samples=n_samples,
        seed=seed,
        executor=executor,
    )
    outcome.crps = _all_crps(result)
    outcome.skill = result.skill_vs_climatology()
    outcome.failures = [f"{m} at {o:%Y-%m-%d}: {r}" for m, o, r in result.failures] + [
        f"{m}: {r}" for m, r in result.skipped.items()
    ]

    step("tracking", progress)
    all_configs = [*configs, ModelConfig(CLIMATOLOGY)]
    outcome.run_ids = _mlflow(
        "logging the backtest",
        lambda: log_backtest(
            result,
            tracking_uri=tracking_uri,
            configs=all_configs,
            n_samples=n_samples,
            seed=seed,
            tags={"cadence.job_id": job.id},
            plots=plots,
        ),
    )

    details["backtest"] = result.to_json(outcome.run_ids)

    step("decide", progress)
    contenders = [c.key for c in candidates]
    holder = champ_config.key if champ_config else None
    if holder is not None:
        live = accuracy_status(engine, series, drift_band)
        if live.alarm:
            # unproven: the champion competes like any candidate
            details["unproven"] = list(live.reasons)
            outcome.warnings.append("champion unproven: " + "; ".join(live.reasons))
            contenders = [*contenders, holder] if holder not in contenders else contenders
            holder = None
    decision = decide(result, contenders, holder, n_boot=n_boot, seed=seed)
    if "unproven" in details:
        why = "; ".join(details["unproven"])
        rule = decision.reason.replace("no champion yet", "the champion competing as a candidate")
        decision = replace(decision, reason=f"champion unproven ({why}): {rule}")
    outcome.difference = decision.difference
    details.update(decision=decision.reason, eligible=list(decision.eligible))
    if decision.chosen is None:
        raise NoServableModelError(f"series {series!r}: {decision.reason}")
    by_key = {c.key: c for c in all_configs}
    order = [by_key[decision.chosen]]
    for fallback in (champ_config, ModelConfig(CLIMATOLOGY)):
        if fallback is not None and fallback.key not in {c.key for c in order}:
            order.append(fallback)

    step("refit", progress)
    config, model, origin = _refit(
        data,
        order,
        horizon=horizon,
        n_samples=n_samples,
        seed=seed,
        tracking_uri=tracking_uri,
        run_ids=outcome.run_ids,
        notes=outcome.warnings,
    )
    promoted = config.key != (champ_config.key if champ_config else None)
    fell_back = config.key != decision.chosen
    reason = decision.reason if not fell_back else "; ".join(outcome.warnings)

    step("drivers", progress)
    drivers, ablation, ablated = driver_ablation(
        data, result, config, model, horizon=horizon, n_samples=n_samples, seed=seed
    )
    if ablation is not None and ablated is not None:
        ids = _mlflow(
            "logging the driver ablation",
            lambda: log_backtest(
                ablation,
                tracking_uri=tracking_uri,
                configs=[ablated, ModelConfig(CLIMATOLOGY)],
                n_samples=n_samples,
                seed=seed,
                tags={"cadence.job_id": job.id, "cadence.driver_ablation": config.key},
                plots=False,
            ),
        )
        outcome.run_ids.update(ids)
    details["drivers"] = drivers
    details["backtest"]["drivers"] = drivers

    step("register", progress)
    future = data.future(origin, horizon)
    registered = _register(
        "registering the model",
        model,
        config,
        data,
        origin=origin,
        future=future,
        horizon=horizon,
        tracking_uri=tracking_uri,
        run_ids=outcome.run_ids,
        tags={"cadence.job_id": job.id, "cadence.promoted": str(promoted).lower()},
    )

    step("challenger", progress)
    refit_failed = {c.key for c in order[: order.index(config)]}
    challenger = _register_challenger(
        data,
        [by_key[k] for k in decision.challengers(config.key, refit_failed)],
        series=series,
        origin=origin,
        future=future,
        horizon=horizon,
        seed=seed,
        tracking_uri=tracking_uri,
        job_id=job.id,
        outcome=outcome,
    )
    previous_challenger = _mlflow(
        "reading the challenger alias",
        lambda: reg.alias_version(tracking_uri, series, reg.CHALLENGER),
    )

    step("serve", progress)
    wrapper = reg.CadenceForecaster(
        model,
        series=series,
        frequency=data.frequency,
        origin=origin,
        max_horizon=horizon,
        future=future,
    )
    fc = _served_forecast(wrapper, horizon, n_samples, seed)
    generated = utcnow()
    payload = forecast_payload(
        series,
        data.frequency,
        fc,
        model_name=config.key,
        version=registered.version,
        run_id=registered.run_id,
        generated_at=generated,
    )
    details.update(
        champion=config.key,
        version=registered.version,
        challenger=None if challenger is None else challenger[0],
        challenger_version=None if challenger is None else challenger[1],
        promoted=promoted,
        effects=champion_effects(model),
    )
    outcome.forecast_id = _serve(
        engine,
        series,
        job=job,
        forecast=NewForecast(
            origin=origin.date(),
            horizon=horizon,
            generated_at=generated,
            model_name=config.key,
            payload=payload,
            samples=fc.samples,
            model_version=registered.version,
            run_id=registered.run_id,
            job_id=job.id,
        ),
        tracking_uri=tracking_uri,
        version=registered.version,
        previous=outcome.previous_version,
        details=details,
        reason=reason,
        challenger=None if challenger is None else challenger[1],
        previous_challenger=None if previous_challenger is None else previous_challenger.version,
    )
    outcome.status = FALLBACK if fell_back else PROMOTED if promoted else KEPT
    outcome.reason = reason
    outcome.champion = config.key
    outcome.champion_version = registered.version
    if challenger is not None:
        outcome.challenger, outcome.challenger_version = challenger
    outcome.origin = origin.date().isoformat()
