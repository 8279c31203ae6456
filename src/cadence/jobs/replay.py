"""Replays: the forecast a configuration would have served on a past date.

``replay_forecast`` refits the champion's configuration (or a given one) on the rows
dated on or before ``as_of`` (the backtest's rule: nothing later reaches the fit or the
exogenous future) and returns the served forecast body for the periods after it, with
``model.version`` and ``model.run_id`` null (a replay is not a registry version) and an
added ``as_of``. Paths are drawn as the retrain job draws the served forecast (the
fitted model's forecast with generator ``seed``).

Any as-of date from the end of the series' first period on is accepted: the origin is
the last complete period on or before it. When the data end earlier (an as-of date
after the last observation) the forecast still covers the periods after the origin and
the body adds ``data_through``, as ``cadence report`` does.

Two modes: by *event date* (default: every stored row dated by ``as_of``, late reports
and corrections included, as a backtest does) and *known at* (``known_at``: only rows
ingested by that instant, as the database held them then; the body says
``known_at``). A known-at replay at a served forecast's ``generated_at`` and origin,
with its configuration, seed, number of paths and driver futures (``drivers``: the
service's ``CADENCE_DRIVER_FUTURES``, as the retrain used), reproduces it exactly. Over
simulated driver futures the body adds ``driver_futures`` (the process fit), as a
scenario's does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import pandas as pd
from sqlalchemy import Engine

from cadence.columns import Frequency
from cadence.experiments import model_registry as reg
from cadence.experiments.backtest import ModelConfig, check_reach, fit_and_forecast
from cadence.experiments.data import (
    SeriesData,
    load_series_data,
    period_end,
    period_label,
    shift_periods,
)
from cadence.experiments.driver_futures import DETERMINISTIC, DriverFuturesConfig
from cadence.experiments.errors import ExperimentError
from cadence.jobs.served_body import DEFAULT_QUANTILES, forecast_payload
from cadence.jobs.served_paths import served_paths
from cadence.models.forecast import CountForecast
from cadence.store.tables import utcnow

# Periods a replay forecasts unless asked otherwise (the served forecasts' own).
REPLAY_HORIZON = 28

__all__ = ["REPLAY_HORIZON", "replay", "replay_forecast", "replay_origin"]


def replay_origin(as_of: object, frequency: str) -> pd.Timestamp:
    """The last period complete on ``as_of``: its own period when ``as_of`` is that
    period's last day (always, for a daily series), else the one before."""
    day = pd.Timestamp(as_of).normalize()
    freq = cast(Frequency, frequency)
    label = period_label(day, freq)
    if period_end(label, freq) != day:
        label = shift_periods(label, -1, freq)
    return label


def replay(
    engine: Engine,
    series: str,
    as_of: object,
    *,
    tracking_uri: str,
    horizon: int = REPLAY_HORIZON,
    n_samples: int = 1000,
    seed: int = 0,
    config: ModelConfig | None = None,
    known_at: dt.datetime | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    drivers: DriverFuturesConfig = DETERMINISTIC,
) -> tuple[dict[str, Any], CountForecast]:
    """The forecast body ``config`` (default: the registered champion's configuration)
    gives when fitted on what was dated on or before ``as_of`` (and, with ``known_at``,
    ingested by then), and the forecast (sample paths ``(n_samples, horizon)``) it
    summarizes. ``drivers``: the strikes and statements after the origin, for a model
    that reads them. Raises ``NotFoundError`` (unknown series), ``ExperimentError`` (no
    champion and no ``config``; ``as_of`` outside the data)."""
    data = load_series_data(engine, series, known_at=known_at)
    if config is None:
        champ = reg.alias_version(tracking_uri, series)
        if champ is None or champ.config is None:
            raise ExperimentError(
                f"series {series!r} has no champion in the registry yet: retrain it, or "
                "name a model to replay"
            )
        config = champ.config
    origin = replay_origin(as_of, data.frequency)
    if origin < data.first_period:
        raise ExperimentError(
            f"as-of {pd.Timestamp(as_of):%Y-%m-%d}: expected a date on or after "
            f"{period_end(data.first_period, data.frequency):%Y-%m-%d}, the end of the first "
            f"period of {series!r} (frequency {data.frequency})"
        )
    check_reach(data, origin, name="as-of")
    forecast = _forecast_after(
        data, config, origin, horizon, n_samples=n_samples, seed=seed, drivers=drivers
    )
    body = forecast_payload(
        series,
        data.frequency,
        forecast,
        model_name=config.key,
        version=None,
        run_id=None,
        generated_at=utcnow(),
        quantiles=quantiles,
    )
    body["as_of"] = pd.Timestamp(as_of).date().isoformat()
    if "driver_futures" in forecast.meta:
        body["driver_futures"] = forecast.meta["driver_futures"]
    gap = int(cast(int, forecast.meta.get("origin_gap", 0)))
    if gap:
        last_seen = shift_periods(origin, -gap, data.frequency)
        body["data_through"] = period_end(last_seen, data.frequency).date().isoformat()
    if known_at is not None:
        at = known_at if known_at.tzinfo else known_at.replace(tzinfo=dt.UTC)
        body["known_at"] = at.astimezone(dt.UTC).isoformat()
    return body, forecast


def _forecast_after(
    data: SeriesData,
    config: ModelConfig,
    origin: pd.Timestamp,
    horizon: int,
    *,
    n_samples: int,
    seed: int,
    drivers: DriverFuturesConfig = DETERMINISTIC,
) -> CountForecast:
    """Paths for the ``horizon`` periods after ``origin``, drawn as the retrain job draws
    the served forecast (over simulated driver futures when ``drivers`` asks for them
    and the model reads drivers). When the data end before ``origin`` (an as-of date
    after the last observation), the model forecasts from its last observed period
    through the gap and the gap's periods are dropped, as ``cadence report`` does."""
    model, fitted = fit_and_forecast(data, config, origin, horizon, n_samples=1, seed=seed)
    gap = int(cast(int, fitted.meta.get("origin_gap", 0)))
    last_seen = shift_periods(origin, -gap, data.frequency)
    paths = served_paths(
        model, data, last_seen, horizon + gap, n_samples=n_samples, seed=seed, drivers=drivers
    )
    if not gap:
        return paths
    meta = {**paths.meta, "origin_gap": gap}
    return CountForecast(
        origin=origin,
        samples=paths.samples[:, gap:],
        index=paths.index[gap:],
        model=paths.model,
        meta=meta,
    )


def replay_forecast(engine: Engine, series: str, as_of: object, **kw: Any) -> dict[str, Any]:
    """``replay``'s body alone (same arguments)."""
    return replay(engine, series, as_of, **kw)[0]
