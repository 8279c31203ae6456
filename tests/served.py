"""Served forecasts for tests: a model's replay as of a day, stored as the champion's."""

from __future__ import annotations

from sqlalchemy import Engine

from cadence.experiments.backtest import ModelConfig
from cadence.jobs.replay import replay
from cadence.store.forecasts_repo import NewForecast, write_forecasts
from cadence.store.tables import utcnow


def serve_replay(
    engine: Engine,
    series: str,
    as_of: str,
    *,
    n_samples: int,
    model: str = "recent_rate",
    horizon: int = 28,
) -> None:
    """Store ``model``'s replay as of ``as_of`` (fitted on the rows stored now) as the
    served champion forecast of ``series``, version "1", generated now."""
    body, fc = replay(
        engine,
        series,
        as_of,
        tracking_uri="sqlite://",
        horizon=horizon,
        n_samples=n_samples,
        config=ModelConfig(model),
    )
    write_forecasts(
        engine,
        series,
        [
            NewForecast(
                origin=fc.origin.date(),
                horizon=horizon,
                generated_at=utcnow(),
                model_name=model,
                payload=body,
                samples=fc.samples,
                model_version="1",
            )
        ],
    )
