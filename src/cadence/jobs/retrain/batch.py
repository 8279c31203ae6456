"""The fitting half of a many-series retrain, run on a worker for a batch of series.

For each series of a batch (``fit_batch``): the backtest of the candidates and the
champion's configuration on the recent origins (``local_level`` of all the batch's
series fitted together, ``experiments.level_batch``; pairs whose scores the driver found
in the store for unchanged data are not fitted, and the scores of the others go back
for the store, ``experiments.score_cache``), the decision
(``decide.decide_unproven``, an unproven champion competing as a candidate), the refit of
the chosen configuration on all the data (falling back to the next eligible candidates,
the champion's, then Climatology), the served paths (over simulated driver futures when
the settings ask for them and the model reads drivers, as ``job.retrain`` serves), the
served configuration backtested again without its retaliation and statement columns on
the same origins (``driver_ablation``: the record goes into the job's details and the
served backtest body, as a single-series retrain's does), and the challenger's refit
when the registry needs a new challenger version. Nothing here reads or writes the
database or MLflow: the driver (``retrain_many``) registers and serves what comes back.
A series that fails is returned with its reason; the others go on.

Fitted models travel back only when they will be registered (a new champion, a new
challenger configuration); a kept champion sends its paths only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd

from cadence.experiments.backtest import (
    CLIMATOLOGY,
    ENSEMBLE,
    BacktestResult,
    ModelConfig,
    Precomputed,
    fit_and_forecast,
    run_backtest,
)
from cadence.experiments.data import SeriesData
from cadence.experiments.driver_ablation import driver_ablation
from cadence.experiments.driver_futures import (
    DETERMINISTIC,
    DriverFuturesConfig,
)
from cadence.experiments.errors import ExperimentError, NoServableModelError
from cadence.experiments.level_batch import batchable, level_forecasts
from cadence.experiments.many.panels import prebuild
from cadence.experiments.score_cache import (
    CachedScore,
    cacheable,
    fingerprint,
    new_entries,
    settings_key,
)
from cadence.jobs.retrain.decide import Decision, decide_unproven
from cadence.jobs.retrain.job import (
    champion_effects,
    recent_origins_for,
    served_forecast,
    serving_order,
)
from cadence.jobs.served_body import counts_through
from cadence.jobs.served_paths import served_paths
from cadence.models.forecast import CountForecast

__all__ = ["RetrainSettings", "SeriesFit", "SeriesTask", "fit_batch"]


@dataclass(frozen=True)
class RetrainSettings:
    """What every series' retrain shares (``job.retrain``'s arguments)."""

    candidates: tuple[ModelConfig, ...]
    recent_origins: int = 8
    every: int | str = 7
    horizon: int = 28
    n_samples: int = 1000
    seed: int = 0
    n_boot: int = 1000
    batch_level: bool = True
    drivers: DriverFuturesConfig = DETERMINISTIC
    staggered: bool = True  # origins on each series' own calendar grid (recent_origins_for)
    reuse_scores: bool = True  # scores kept from earlier retrains (score_cache)

    @property
    def cache_key(self) -> str:
        return settings_key(self.horizon, self.n_samples, self.seed)

    @property
    def caches(self) -> bool:
        """Whether scores are kept for the next retrain (always, but with an ensemble
        candidate, which mixes its members' paths); ``reuse_scores`` says whether stored
        ones are read."""
        return not any(c.name == ENSEMBLE for c in self.candidates)

    def origins(self, data: SeriesData) -> list[pd.Timestamp]:
        return recent_origins_for(
            data,
            n=self.recent_origins,
            every=self.every,
            horizon=self.horizon,
            staggered=self.staggered,
        )


@dataclass(frozen=True)
class SeriesTask:
    """One series as the driver found it: its champion's configuration (None: none yet),
    why the champion is unproven (empty: it is not), the challenger alias' key."""

    series: str
    champion: ModelConfig | None = None
    unproven: tuple[str, ...] = ()
    challenger: str | None = None
    # scores stored by earlier retrains: (model key, origin) -> (fingerprint, payload)
    cached: Mapping[tuple[str, dt.date], tuple[str, str]] = field(default_factory=dict)


@dataclass
class SeriesFit:
    """What a worker sends back for one series. ``error`` set: nothing else is."""

    series: str
    error: str | None = None
    result: BacktestResult | None = None
    decision: Decision | None = None
    config: ModelConfig | None = None
    model: Any = None  # the fitted champion, only when it is to be registered
    origin: pd.Timestamp | None = None
    frequency: str = ""
    future: pd.DataFrame | None = None
    forecast: CountForecast | None = None  # the served paths
    last_count: str | None = None  # the body's counts_through
    challenger: tuple[ModelConfig, Any] | None = None  # only when it is to be registered
    challenger_key: str | None = None
    effects: dict[str, Any] = field(default_factory=dict)
    drivers: dict[str, Any] | None = None  # the with/without-drivers record
    driver_futures: dict[str, Any] | None = None  # the simulated futures' record, if any
    warnings: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)
    # scores computed here, for the store: (model key, origin) -> (fingerprint, payload)
    new_scores: dict[tuple[str, dt.date], tuple[str, str]] = field(default_factory=dict)
    origins: list[dt.date] = field(default_factory=list)
    reused: int = 0  # (model, origin) pairs scored from the store instead of fitted


def _configs(s: RetrainSettings, task: SeriesTask) -> list[ModelConfig]:
    configs = list(s.candidates)
    if task.champion is not None and task.champion.key not in {c.key for c in configs}:
        configs.append(task.champion)
    return configs


def _decide(s: RetrainSettings, task: SeriesTask, result: BacktestResult) -> Decision:
    contenders = [c.key for c in s.candidates]
    holder = task.champion.key if task.champion is not None else None
    return decide_unproven(result, contenders, holder, task.unproven, n_boot=s.n_boot, seed=s.seed)


def _refit(
    data: SeriesData,
    order: Sequence[ModelConfig],
    s: RetrainSettings,
    ready: Precomputed,
    notes: list[str],
) -> tuple[ModelConfig, Any]:
    """The first configuration of ``order`` that fits on all the data (``ready``: fits
    already made at the last period)."""
    origin = data.last_period
    for config in order:
        if (config.key, origin) in ready:
            return config, ready[(config.key, origin)][0]
        try:
            model, _ = fit_and_forecast(data, config, origin, s.horizon, n_samples=1, seed=s.seed)
            return config, model
        except Exception as exc:  # per-model fallback: the next configuration serves instead
            notes.append(f"refit of {config.key} failed: {type(exc).__name__}: {exc}")
    raise NoServableModelError(
        f"series {data.spec.name!r}: no configuration could be fitted on all the data "
        f"(tried {', '.join(c.key for c in order)})"
    )


@dataclass
class _Plan:
    """A series' backtest origins (None: they could not be placed, and the series fails
    in its own backtest with the reason), their fingerprints (empty: scores are not
    kept for this series) and the stored scores still valid there."""

    origins: list[pd.Timestamp] | None
    last: pd.Timestamp | None = None  # the last period, where the served model is refitted
    fingerprints: dict[pd.Timestamp, str] = field(default_factory=dict)
    found: dict[tuple[str, pd.Timestamp], CachedScore] = field(default_factory=dict)


def _plan(data: SeriesData, task: SeriesTask, s: RetrainSettings) -> _Plan:
    try:
        origins, last = s.origins(data), data.last_period
    except Exception:  # the series fails in its own backtest, with its reason
        return _Plan(None)
    if not s.caches or not cacheable(data):
        return _Plan(origins, last)
    fps = {o: fingerprint(data, o, s.horizon) for o in origins}
    found: dict[tuple[str, pd.Timestamp], CachedScore] = {}
    for (key, day), (fp, payload) in task.cached.items():
        o = pd.Timestamp(day)
        if fps.get(o) == fp:
            found[(key, o)] = CachedScore.from_json(fp, payload)
    return _Plan(origins, last, fps, found)


def _one(
    data: SeriesData,
    task: SeriesTask,
    s: RetrainSettings,
    ready: Precomputed,
    plan: _Plan,
) -> SeriesFit:
    out = SeriesFit(series=task.series, frequency=data.frequency)
    t = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal t
        now = time.perf_counter()
        out.step_seconds[step] = round(out.step_seconds.get(step, 0.0) + now - t, 4)
        t = now

    origins = plan.origins if plan.origins is not None else s.origins(data)
    if not origins:
        raise ExperimentError(
            f"series {task.series!r}: no origin with {s.horizon} periods of data after it"
        )
    configs = _configs(s, task)
    result = run_backtest(
        data,
        configs,
        origins=origins,
        horizon=s.horizon,
        n_samples=s.n_samples,
        seed=s.seed,
        precomputed=ready,
        cached=plan.found,
    )
    out.result = dataclasses.replace(result, forecasts=[])
    _scores_for_store(out, result, plan)
    lap("backtest")
    decision = _decide(s, task, result)
    out.decision = decision
    lap("decide")
    if decision.chosen is None:
        raise NoServableModelError(f"series {task.series!r}: {decision.reason}")
    _serve_fit(data, task, s, ready, [*configs, ModelConfig(CLIMATOLOGY)], out, result)
    lap("refit")
    return out


def _scores_for_store(out: SeriesFit, result: BacktestResult, plan: _Plan) -> None:
    """The scores of the pairs fitted here, for the store; the origins in use."""
    if not plan.fingerprints:
        return
    out.origins = [o.date() for o in result.origins]
    out.reused = len(plan.found)
    fitted = [
        (f.model, f.origin, f.error, f.seconds)
        for f in result.forecasts
        if (f.model, f.origin) not in plan.found
    ]
    entries = new_entries(result.per_origin, result.total_per_origin, fitted, plan.fingerprints)
    out.new_scores = {(k, o.date()): (e.fingerprint, e.to_json()) for (k, o), e in entries.items()}


def _serve_fit(
    data: SeriesData,
    task: SeriesTask,
    s: RetrainSettings,
    ready: Precomputed,
    all_configs: list[ModelConfig],
    out: SeriesFit,
    result: BacktestResult,
) -> None:
    """Refit the chosen configuration (with fallbacks: the next eligible candidates, the
    champion, Climatology), draw the served paths, compare it with and without its
    drivers on the backtest's origins, refit the challenger when its configuration
    changed."""
    decision = out.decision
    assert decision is not None and decision.chosen is not None
    by_key = {c.key: c for c in all_configs}
    eligible = [by_key[k] for k in decision.eligible if k in by_key]
    order = serving_order(by_key[decision.chosen], task.champion, eligible)
    config, model = _refit(data, order, s, ready, out.warnings)
    out.drivers, _, _ = driver_ablation(
        data, result, config, model, horizon=s.horizon, n_samples=s.n_samples, seed=s.seed
    )
    origin = data.last_period
    future = data.future(origin, s.horizon)
    out.forecast = served_forecast(
        lambda: served_paths(
            model,
            data,
            origin,
            s.horizon,
            n_samples=s.n_samples,
            seed=s.seed,
            drivers=s.drivers,
        )
    )
    if "driver_futures" in out.forecast.meta:
        out.driver_futures = dict(cast(dict[str, Any], out.forecast.meta["driver_futures"]))
    kept = task.champion is not None and config.key == task.champion.key
    out.config, out.origin, out.future = config, origin, future
    out.last_count = counts_through(data.last_reported_period, origin, data.frequency)
    out.model = None if kept else model
    out.effects = champion_effects(model)
    failed = {c.key for c in order[: order.index(config)]}
    rivals = [by_key[k] for k in decision.challengers(config.key, failed)]
    out.challenger_key = rivals[0].key if rivals else None
    if rivals and rivals[0].key != task.challenger:
        notes: list[str] = []
        try:
            c_config, c_model = _refit(data, rivals, s, ready, notes)
            out.challenger, out.challenger_key = (c_config, c_model), c_config.key
        except NoServableModelError:
            out.challenger_key = None
        out.warnings.extend(notes)


def fit_batch(
    settings: RetrainSettings, items: Sequence[tuple[SeriesData, SeriesTask]]
) -> list[SeriesFit]:
    """Fit each series of ``items`` (a task of ``retrain_many``); see the module."""
    built = prebuild({d.spec.name: d for d, _ in items})
    datas = [built[d.spec.name] for d, _ in items]
    plans = {t.series: _plan(d, t, settings) for d, (_, t) in zip(datas, items, strict=True)}
    ready = _batched_levels(settings, datas, plans)
    out = []
    for data, (_, task) in zip(datas, items, strict=True):
        try:
            out.append(_one(data, task, settings, ready.get(task.series, {}), plans[task.series]))
        except Exception as exc:  # one series failing must not stop the others
            out.append(SeriesFit(series=task.series, error=f"{type(exc).__name__}: {exc}"))
        finally:
            data.clear_cache()
    return out


def _batched_levels(
    s: RetrainSettings,
    datas: Sequence[SeriesData],
    plans: Mapping[str, _Plan],
) -> dict[str, Precomputed]:
    """Batched ``local_level`` fits at every planned origin whose scores were not found
    in the store, and at the last period."""
    configs = [c for c in s.candidates if batchable(c)]
    if not s.batch_level or not configs:
        return {}
    out: dict[str, Precomputed] = {}
    for config in configs:
        todo: dict[str, list[pd.Timestamp]] = {}
        for name, plan in plans.items():
            if plan.origins is not None and plan.last is not None:
                at = [*plan.origins, plan.last]
                todo[name] = [o for o in at if (config.key, o) not in plan.found]
        found = level_forecasts(
            datas, todo, config, horizon=s.horizon, n_samples=s.n_samples, seed=s.seed
        )
        for name, pre in found.items():
            out.setdefault(name, {}).update(pre)
    return out
