"""The ``local_level`` candidate of many series fitted in batches, at every origin.

A many-series retrain fits ``local_level`` at each origin of each series. For the series
it can be fitted to from counts alone (no drivers, no interval totals, the panel reaching
the origin, at least eight observed periods), the fits of all series of a batch that
share an origin and a first period are one vectorised call
(``models.local_level.fit_many``, the fit of ``forecast_many``): a thousand series cost
about as many filter steps as one. Each series' paths are then drawn by its own fitted
``LocalLevel`` (``level_from_batch``) with the generator of its (model, origin) pair
(``backtest.origin_seed``), so a series' forecast is the same whatever else shares its
batch, and the same model object is what gets registered when it wins.

Series or origins the batch cannot take are left out; ``run_backtest`` fits them one by
one as before.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from cadence.columns import COUNT
from cadence.experiments.backtest import ModelConfig, Precomputed, fit_and_forecast, origin_seed
from cadence.experiments.data import SeriesData, period_end
from cadence.models.base import CountModel
from cadence.models.forecast import CountForecast
from cadence.models.local_level import fit_many, level_from_batch

__all__ = ["LOCAL_LEVEL", "batchable", "level_forecasts", "refit_as_many"]

LOCAL_LEVEL: Final = "local_level"
_MIN_OBSERVED: Final = 8
_DEFAULTS: Final = {"damping": 0.98, "day_of_week": False, "drivers": False, "window": None}


def batchable(config: ModelConfig) -> bool:
    """Whether ``config`` is a ``local_level`` the batched fit reproduces: no drivers, no
    day-of-week effects, no window (any damping)."""
    if config.name != LOCAL_LEVEL:
        return False
    params = {**_DEFAULTS, **dict(config.params)}
    extra = set(params) - set(_DEFAULTS)
    return (
        not extra
        and not params["day_of_week"]
        and not params["drivers"]
        and (params["window"] is None)
    )


def _counts_at(data: SeriesData, origin: pd.Timestamp) -> pd.Series | None:
    """The counts the fit at ``origin`` would see, or None when the batch cannot take it."""
    if data.has_intervals or data.spec.retaliation is not None or data.spec.statements:
        return None
    panel = data.panel(period_end(origin, data.frequency))
    if panel.origin != origin or not len(panel.frame):
        return None
    y = panel.frame[COUNT].astype(float)
    return y if int(np.isfinite(y.to_numpy()).sum()) >= _MIN_OBSERVED else None


def level_forecasts(
    datas: Sequence[SeriesData],
    origins: Mapping[str, Sequence[pd.Timestamp]],
    config: ModelConfig,
    *,
    horizon: int,
    n_samples: int,
    seed: int,
) -> dict[str, Precomputed]:
    """Series name -> {(model key, origin): (fitted model, forecast, seconds)} for every
    (series, origin) of ``origins`` the batch can take (see the module)."""
    groups: dict[tuple[str, pd.Timestamp, pd.Timestamp, int], list[tuple[str, pd.Series]]] = {}
    for d in datas:
        for o in origins.get(d.spec.name, ()):
            y = _counts_at(d, o)
            if y is not None:
                key = (str(y.index.freqstr), y.index[0], o, len(y))
                groups.setdefault(key, []).append((d.spec.name, y))
    damping = float(dict(config.params).get("damping", _DEFAULTS["damping"]))  # type: ignore[arg-type]
    out: dict[str, Precomputed] = {}
    for (freq, _, origin, _), members in groups.items():
        t0 = time.perf_counter()
        fit = fit_many(np.vstack([y.to_numpy() for _, y in members]), freq=freq, damping=damping)
        share = (time.perf_counter() - t0) / len(members)
        for row, (name, _) in enumerate(members):
            t1 = time.perf_counter()
            model = level_from_batch(fit, row, origin=origin, freq=freq, damping=damping)
            rng = np.random.default_rng(origin_seed(seed, config.key, origin))
            fc = model.forecast(horizon, n_samples=n_samples, rng=rng)
            fc = CountForecast(
                origin=origin,
                samples=fc.samples,
                index=fc.index,
                model=config.key,
                meta={**fc.meta, "batched": True},
            )
            secs = share + time.perf_counter() - t1
            out.setdefault(name, {})[(config.key, origin)] = (model, fc, secs)
    return out


def refit_as_many(
    data: SeriesData, config: ModelConfig, origin: pd.Timestamp, *, horizon: int, seed: int
) -> CountModel:
    """``config`` fitted at ``origin`` as a many-series retrain fits it: the batched fit
    for a series the batch takes (a batch of one gives the same fit: each series' fit
    reads only its own row), else ``fit_and_forecast``'s."""
    if batchable(config):
        y = _counts_at(data, origin)
        if y is not None:
            damping = float(dict(config.params).get("damping", _DEFAULTS["damping"]))  # type: ignore[arg-type]
            freq = str(y.index.freqstr)
            fit = fit_many(y.to_numpy()[None, :], freq=freq, damping=damping)
            return level_from_batch(fit, 0, origin=origin, freq=freq, damping=damping)
    model, _ = fit_and_forecast(data, config, origin, horizon, n_samples=1, seed=seed)
    return model
