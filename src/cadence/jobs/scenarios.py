"""What-if forecasts: the served champion's forecast with and without hypothetical events.

The champion is the registry version that produced the stored forecast (loaded once and
kept in a small cache). When that version was fitted at an earlier origin than the
stored forecast's (a many-series retrain serves a champion that stays under its existing
version), its configuration is refitted at the forecast's origin on the rows known when
the forecast was generated, which is the fit the retrain served. Both forecasts use the
same fitted model, the same origin and the same seed, so the paths share their random
numbers and the difference shows the scenario's effect rather than sampling noise.
``uses_drivers`` is true when the scenario changed the forecast; when it did not,
``note`` says so. The exogenous future is rebuilt from what the database holds up to the
origin, once as is and once with the scenario's events injected
(``features.future_frame``); a champion that uses no retaliation or statement features
(Climatology, say) gives equal forecasts, and the body says so.

Body::

    {"series", "origin", "model": {"name", "version", "run_id"}, "horizon", "n_samples",
     "seed", "uses_drivers": bool, "note": str | null,
     "baseline": <forecast body>, "scenario": <forecast body>, "driver_futures": {...},
     "difference": {"periods": [{"date", "mean", "p_any"}],
                    "windows": [{"days", "mean", "p_at_least": {"k": p}}]}}

``driver_futures`` says how the forecast period's strikes and statements were filled:
``{"mode": "none"}`` (the deterministic continuation, as the served forecast) or
``{"mode": "simulated", "paths", "fit"}`` (``cadence.experiments.driver_futures``; the
same simulated futures and seeds in both forecasts, the scenario's events on top).

Differences are scenario minus baseline. Cost is bounded by ``ScenarioLimits``; requests
beyond them raise ``ScenarioLimitError`` before any work.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from cadence.columns import Frequency
from cadence.experiments import model_registry as reg
from cadence.experiments.data import horizon_index, load_series_data, period_end
from cadence.experiments.driver_futures import (
    DETERMINISTIC,
    DriverFuturesConfig,
    forecast_over_drivers,
)
from cadence.experiments.errors import ExperimentError, TrackingError
from cadence.experiments.level_batch import refit_as_many
from cadence.features.future import Scenario
from cadence.jobs.served_body import DEFAULT_QUANTILES, forecast_payload
from cadence.models.forecast import CountForecast
from cadence.store.forecasts_repo import StoredForecast, require_current_forecast
from cadence.store.tables import utcnow

__all__ = [
    "ForecasterCache",
    "ScenarioLimitError",
    "ScenarioLimits",
    "scenario_forecast",
]


class ScenarioLimitError(ExperimentError):
    """A scenario request beyond the configured cost limits (or outside the horizon)."""


@dataclass(frozen=True)
class ScenarioLimits:
    """Caps on one scenario request: sample paths, hypothetical events."""

    max_samples: int = 2000
    max_events: int = 20


class ForecasterCache:
    """The last ``size`` loaded registry versions, keyed by (store, series, version).
    Thread-safe; a version is immutable, so an entry never goes stale."""

    def __init__(self, size: int = 8, loader: Callable[..., Any] = reg.load_forecaster) -> None:
        self.size = size
        self._loader = loader
        self._items: OrderedDict[tuple[str, str, str], reg.CadenceForecaster] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tracking_uri: str, series: str, version: str) -> reg.CadenceForecaster:
        key = (tracking_uri, series, version)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        try:
            loaded = self._loader(tracking_uri, series, version=version).unwrap_python_model()
        except Exception as exc:  # MLflow raises many types: all mean "not loadable now"
            raise TrackingError(
                f"could not load {series} version {version} from the registry: {exc}",
                "loading the champion",
            ) from exc
        if not isinstance(loaded, reg.CadenceForecaster):
            raise ExperimentError(f"{series} version {version} is not a Cadence forecaster")
        with self._lock:
            self._items[key] = loaded
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return loaded


def _refitted(
    engine: Engine,
    tracking_uri: str,
    series: str,
    stored: StoredForecast,
    wrapper: reg.CadenceForecaster,
) -> reg.CadenceForecaster:
    """The fit behind a stored forecast served under a version fitted at an earlier
    origin (a many-series retrain keeps a champion's version when its configuration
    stays): the version's configuration refitted at the forecast's origin on the rows
    the database held when it was generated, as the retrain fitted it."""
    try:
        version = reg.version_info(tracking_uri, series, str(stored.model_version))
    except Exception as exc:  # MLflow raises many types: all mean "not readable now"
        raise TrackingError(
            f"could not read {series} version {stored.model_version}: {exc}", "loading the champion"
        ) from exc
    if version.config is None:
        raise ExperimentError(f"{series} version {version.version} records no configuration")
    data = load_series_data(engine, series, known_at=stored.generated_at)
    origin = pd.Timestamp(stored.origin)
    model = refit_as_many(data, version.config, origin, horizon=stored.horizon, seed=0)
    return reg.CadenceForecaster(
        model,
        series=series,
        frequency=wrapper.frequency,
        origin=origin,
        max_horizon=stored.horizon,
        future=data.future(origin, stored.horizon),
    )


def _check_limits(
    scenario: Scenario, n_samples: int, horizon: int, served: int, limits: ScenarioLimits
) -> None:
    n_events = len(scenario.retaliations) + len(scenario.statements)
    if n_events > limits.max_events:
        raise ScenarioLimitError(
            f"events: at most {limits.max_events} hypothetical events per request, got {n_events}"
        )
    if not 1 <= n_samples <= limits.max_samples:
        raise ScenarioLimitError(f"n_samples: expected 1..{limits.max_samples}, got {n_samples}")
    if not 1 <= horizon <= served:
        raise ScenarioLimitError(
            f"horizon: expected 1..{served} (the served forecast's horizon), got {horizon}"
        )


def _check_dates(scenario: Scenario, index: pd.DatetimeIndex, frequency: Frequency) -> None:
    """Every hypothetical event falls on a day inside the forecast horizon."""
    first, last = index[0], period_end(index[-1], frequency)
    dates = [e.date for e in scenario.retaliations] + [e.date for e in scenario.statements]
    for d in dates:
        if not first <= d <= last:
            raise ScenarioLimitError(
                f"event date {d:%Y-%m-%d}: expected a day in the forecast horizon, "
                f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
            )


def _difference(base: dict[str, Any], scen: dict[str, Any]) -> dict[str, Any]:
    periods = [
        {
            "date": b["date"],
            "mean": round(s["mean"] - b["mean"], 6) + 0.0,
            "p_any": round(s["p_any"] - b["p_any"], 6) + 0.0,
        }
        for b, s in zip(base["periods"], scen["periods"], strict=True)
    ]
    windows = [
        {
            "days": b["days"],
            "mean": round(s["mean"] - b["mean"], 6) + 0.0,
            "p_at_least": {
                k: round(s["p_at_least"][k] - v, 6) + 0.0 for k, v in b["p_at_least"].items()
            },
        }
        for b, s in zip(base["windows"], scen["windows"], strict=True)
    ]
    return {"periods": periods, "windows": windows}


def scenario_forecast(
    engine: Engine,
    series: str,
    scenario: Scenario,
    *,
    tracking_uri: str,
    cache: ForecasterCache,
    horizon: int | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    limits: ScenarioLimits | None = None,
    drivers: DriverFuturesConfig = DETERMINISTIC,
) -> dict[str, Any]:
    """The champion's forecast of ``series`` with and without ``scenario`` (see the module
    docstring for the body). ``drivers``: the forecast period's drivers besides the
    scenario's events, deterministic (default: the served forecast's) or simulated
    (``cadence.experiments.driver_futures``: both forecasts share the same simulated
    futures and seeds, the scenario's events come on top). Raises ``NotFoundError``
    (unknown series or no forecast yet), ``ScenarioLimitError`` (beyond the limits or
    the horizon), ``FeatureError`` (a malformed scenario event)."""
    limits = limits or ScenarioLimits()
    stored = require_current_forecast(engine, series)
    h = int(horizon if horizon is not None else stored.horizon)
    _check_limits(scenario, n_samples, h, stored.horizon, limits)
    wrapper = _served_champion(engine, series, stored, tracking_uri, cache)
    frequency = cast(Frequency, wrapper.frequency)
    _check_dates(scenario, horizon_index(wrapper.origin, h, frequency), frequency)
    base, scen = _both_forecasts(
        engine, series, wrapper, scenario, h, n_samples=n_samples, seed=seed, drivers=drivers
    )
    now = utcnow()
    base_body, scen_body = (
        forecast_payload(
            series,
            wrapper.frequency,
            fc,
            model_name=stored.model_name,
            version=stored.model_version,
            run_id=stored.run_id,
            generated_at=now,
            quantiles=quantiles,
            last_count=stored.payload.get("counts_through"),
        )
        for fc in (base, scen)
    )
    changed = not np.array_equal(base.samples, scen.samples)
    return {
        "series": series,
        "origin": wrapper.origin.date().isoformat(),
        "model": base_body["model"],
        "horizon": h,
        "n_samples": n_samples,
        "seed": seed,
        "uses_drivers": wrapper.future is not None and changed,
        "note": None if changed else _unmoved(stored.model_name),
        "baseline": base_body,
        "scenario": scen_body,
        "difference": _difference(base_body, scen_body),
        "driver_futures": base.meta.get("driver_futures", {"mode": "none"}),
    }


def _unmoved(model_name: str) -> str:
    return (
        f"the champion ({model_name}) does not respond to these events (it uses no "
        "retaliation or statement features, or none that they touch): both forecasts are "
        "the same"
    )


def _served_champion(
    engine: Engine,
    series: str,
    stored: StoredForecast,
    tracking_uri: str,
    cache: ForecasterCache,
) -> reg.CadenceForecaster:
    """The registry version that produced the stored forecast, refitted at its origin
    when the version was fitted at an earlier one."""
    if stored.model_version is None:
        raise ExperimentError(f"series {series!r}: the served forecast names no registry version")
    wrapper = cache.get(tracking_uri, series, stored.model_version)
    if wrapper.origin != pd.Timestamp(stored.origin):
        wrapper = _refitted(engine, tracking_uri, series, stored, wrapper)
    return wrapper


def _both_forecasts(
    engine: Engine,
    series: str,
    wrapper: reg.CadenceForecaster,
    scenario: Scenario,
    horizon: int,
    *,
    n_samples: int,
    seed: int,
    drivers: DriverFuturesConfig,
) -> tuple[CountForecast, CountForecast]:
    """The baseline and the scenario forecast, with the same seed (and, simulated, the
    same driver futures): a champion that reads no driver forecasts twice alike."""
    model = wrapper.model
    if wrapper.future is None:
        base, scen = (
            model.forecast(
                horizon, future=None, n_samples=n_samples, rng=np.random.default_rng(seed)
            )
            for _ in range(2)
        )
        return base, scen
    data = load_series_data(engine, series)
    base, scen = (
        forecast_over_drivers(
            model,
            data,
            wrapper.origin,
            horizon,
            n_samples=n_samples,
            seed=seed,
            config=drivers,
            scenario=s,
        )
        for s in (None, scenario)
    )
    return base, scen
