"""The paths of a served forecast, drawn one way for every job that serves or replays one.

``served_paths`` draws what the retrain jobs serve (single series and families) and what
a replay reproduces: over simulated driver futures when ``drivers`` asks for them and
the model reads a driver column (``experiments.driver_futures``; the forecast's
``meta["driver_futures"]`` records the process fit), else as the registered model draws
them (``CadenceForecaster``: the model's forecast over the deterministic future frame).
"""

from __future__ import annotations

import pandas as pd

from cadence.experiments import model_registry as reg
from cadence.experiments.data import SeriesData
from cadence.experiments.driver_futures import (
    DriverFuturesConfig,
    forecast_over_drivers,
    uses_drivers,
)
from cadence.models.base import CountModel
from cadence.models.forecast import CountForecast

__all__ = ["served_paths"]


def served_paths(
    model: CountModel,
    data: SeriesData,
    origin: pd.Timestamp,
    horizon: int,
    *,
    n_samples: int,
    seed: int,
    drivers: DriverFuturesConfig,
) -> CountForecast:
    """``n_samples`` paths of ``model`` (fitted up to ``origin``) for the ``horizon``
    periods after ``origin`` (see the module)."""
    if drivers.simulated and uses_drivers(model):
        return forecast_over_drivers(
            model, data, origin, horizon, n_samples=n_samples, seed=seed, config=drivers
        )
    wrapper = reg.CadenceForecaster(
        model,
        series=data.spec.name,
        frequency=data.frequency,
        origin=origin,
        max_horizon=horizon,
        future=data.future(origin, horizon),
    )
    return wrapper.forecast(horizon, n_samples=n_samples, seed=seed)
