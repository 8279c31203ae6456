"""The Python API for modelers: panels, backtests and forecasts as pandas objects.

    import cadence
    panel = cadence.panel("israel-alerts", as_of="2024-03-31")
    scores = cadence.backtest("israel-alerts", models=["climatology", "local_level"])
    fc, summary = cadence.forecast("israel-alerts", model="local_level", as_of="2024-03-31")

Every function reads the database the settings name (``CADENCE_HOME`` /
``CADENCE_DATABASE_URL``, as the ``cadence`` command does) unless given ``database_url``,
and computes with the same code as the command line: ``backtest`` returns the rows of
``cadence backtest --json``'s ``scores`` (and ``totals``) as a DataFrame, with the same
numbers. Nothing is logged to MLflow. Models also work on a plain pandas Series of
counts without any database: ``cadence.models.panel_from_series``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Engine

from cadence.experiments.backtest import (
    CLIMATOLOGY,
    ModelConfig,
    default_origins,
    fit_and_forecast,
    run_backtest,
)
from cadence.experiments.data import SeriesData, load_series_data, period_label
from cadence.models.forecast import CountForecast
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine

__all__ = ["backtest", "forecast", "panel", "summary_frame"]

SUMMARY_QUANTILES = (0.1, 0.5, 0.9)


def _engine(database_url: str | None) -> Engine:
    if database_url is None:
        s = Settings()
        s.home.mkdir(parents=True, exist_ok=True)
        database_url = s.resolved_database_url
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    return engine


def _data(series: str, database_url: str | None, known_at: str | None) -> SeriesData:
    stored_at = None if known_at is None else dt.datetime.fromisoformat(known_at)
    return load_series_data(_engine(database_url), series, known_at=stored_at)


def panel(
    series: str,
    *,
    as_of: str | None = None,
    known_at: str | None = None,
    database_url: str | None = None,
) -> pd.DataFrame:
    """The feature panel of ``series`` as of the day ``as_of`` (default: where its data
    end), one row per period: ``count`` then the ``cnt_``/``ret_``/``stm_``/``cal_``
    columns, each row using only rows dated on or before it (``cadence panel``)."""
    data = _data(series, database_url, known_at)
    day = data.last_day if as_of is None else pd.Timestamp(as_of)
    return data.panel(day).frame.copy()


def backtest(
    series: str,
    models: Sequence[str] = ("climatology", "local_level"),
    *,
    horizon: int = 28,
    every: str | int | None = None,
    start: str | None = None,
    end: str | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    database_url: str | None = None,
) -> pd.DataFrame:
    """A rolling-origin backtest as ``cadence backtest`` runs it (same origins, seeds and
    scores; Climatology added as the reference): one row per model and horizon
    (``horizon`` an int or ``"all"``), columns ``window`` (``"day"``, or ``"7d"``,
    ``"14d"``, ``"28d"`` for window totals), ``model``, ``horizon``, the metrics and
    ``n``; ``attrs["origins"]`` lists the origins and ``attrs["skill"]`` the skill
    against Climatology."""
    data = _data(series, database_url, None)
    configs = [ModelConfig(m) for m in models]
    if CLIMATOLOGY not in models:
        configs.insert(0, ModelConfig(CLIMATOLOGY))
    origins = default_origins(data, start=start, end=end, every=every, horizon=horizon)
    result = run_backtest(
        data, configs, origins=origins, horizon=horizon, n_samples=n_samples, seed=seed
    )
    body = result.to_json({})
    frames = [pd.DataFrame(body["scores"]).assign(window="day")]
    for days, rows in dict(body["totals"]).items():  # type: ignore[call-overload]
        frames.append(pd.DataFrame(rows).assign(window=f"{days}d"))
    out = pd.concat(frames, ignore_index=True)
    out = out[["window", *[c for c in out.columns if c != "window"]]]
    out.attrs["origins"] = body["origins"]
    out.attrs["skill"] = body["skill_vs_climatology"]
    return out


def forecast(
    series: str,
    *,
    model: str = "local_level",
    horizon: int = 28,
    as_of: str | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    database_url: str | None = None,
) -> tuple[CountForecast, pd.DataFrame]:
    """Fit ``model`` on ``series`` as of the period holding ``as_of`` (default: the last
    one with data) and forecast ``horizon`` periods: the ``CountForecast`` (sample
    paths) and its summary frame (``summary_frame``). The paths are the ones a backtest
    at that origin draws."""
    data = _data(series, database_url, None)
    day = data.last_day if as_of is None else pd.Timestamp(as_of)
    origin = period_label(day, data.frequency)
    _, fc = fit_and_forecast(
        data, ModelConfig(model), origin, horizon, n_samples=n_samples, seed=seed
    )
    return fc, summary_frame(fc)


def summary_frame(
    fc: CountForecast, quantiles: Sequence[float] = SUMMARY_QUANTILES
) -> pd.DataFrame:
    """One row per forecast period, indexed by date: ``mean``, the ``quantiles``
    (``q0.1`` ...), ``p_any`` (P(count >= 1)) and ``cumulative_mean`` (the mean total
    from the first forecast period through that one)."""
    q = fc.quantiles(quantiles)
    frame = pd.DataFrame(
        {"mean": fc.mean(), **{f"q{lv:g}": q[i] for i, lv in enumerate(quantiles)}},
        index=pd.DatetimeIndex(fc.index, name="date"),
    )
    frame["p_any"] = fc.prob_at_least(1)
    frame["cumulative_mean"] = fc.samples.cumsum(axis=1).mean(axis=0)
    return frame
