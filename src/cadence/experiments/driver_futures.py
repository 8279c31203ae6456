"""Forecasts over simulated driver futures (``cadence.features.driver_process``).

``DriverFuturesConfig(mode="simulated", paths=k)`` replaces the deterministic exogenous
future ("no strike, no statement after the origin") by ``k`` simulated futures: the
driver process is fitted on what was known at the origin, ``k`` future frames are built,
and the model forecasts once per frame with ``n_samples / k`` paths each; the paths are
concatenated, frame by frame. Models are untouched: each sees an ordinary future frame.

Seeds: from one integer ``seed`` the driver futures draw with
``SeedSequence([seed, 0])`` and frame ``i`` forecasts with ``SeedSequence([seed, 1,
i])``, so the same seed gives the same paths, and a scenario (the same futures plus its
events, the same seeds) shares every random number with its baseline: the difference
is the scenario's effect, not sampling noise.

A model that uses no driver column (``uses_drivers``) forecasts once with the
deterministic future and ``default_rng(seed)``, exactly as with ``mode="none"``: its
paths do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from cadence.columns import COUNT, PREFIX_RETALIATION, PREFIX_STATEMENT
from cadence.experiments.data import SeriesData, period_end
from cadence.experiments.errors import ExperimentError
from cadence.features.driver_process import PROCESSES, ProcessName, driver_futures
from cadence.features.future import Scenario
from cadence.models.base import CountModel
from cadence.models.forecast import CountForecast

__all__ = [
    "DEFAULT_PATHS",
    "DETERMINISTIC",
    "MODES",
    "DriverFuturesConfig",
    "forecast_over_drivers",
    "uses_drivers",
]

Mode = Literal["none", "simulated"]
MODES: tuple[Mode, ...] = ("none", "simulated")
DEFAULT_PATHS = 20


@dataclass(frozen=True)
class DriverFuturesConfig:
    """How the forecast period's drivers are filled: ``none`` (the deterministic
    continuation) or ``simulated`` (``paths`` futures of the ``process``)."""

    mode: Mode = "none"
    paths: int = DEFAULT_PATHS
    process: ProcessName = "rate"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ExperimentError(
                f"driver futures: expected one of {', '.join(MODES)}, got {self.mode!r}"
            )
        if self.process not in PROCESSES:
            raise ExperimentError(
                f"driver process: expected one of {', '.join(PROCESSES)}, got {self.process!r}"
            )
        if not 1 <= int(self.paths) <= 500:
            raise ExperimentError(f"driver futures: expected 1..500 paths, got {self.paths}")

    @property
    def simulated(self) -> bool:
        return self.mode == "simulated"


DETERMINISTIC = DriverFuturesConfig()


def uses_drivers(model: object) -> bool:
    """True when the fitted ``model`` reads a retaliation or statement column: one of
    its ``covariates_`` or ``drivers_`` (Hawkes), or an ensemble member that does; False
    when it forecast with its fallback."""
    if getattr(model, "fallback_", None) is not None:
        return False
    names = [
        *(getattr(model, "covariates_", None) or []),
        *(getattr(model, "drivers_", None) or []),
    ]
    if any(str(c).startswith((PREFIX_RETALIATION, PREFIX_STATEMENT)) for c in names):
        return True
    members = getattr(model, "members_", None) or getattr(model, "members", None) or []
    return any(uses_drivers(m) for m in members if m is not model)


def _sizes(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _target(data: SeriesData, origin: pd.Timestamp) -> np.ndarray | None:
    """Daily target counts known at the end of ``origin`` (daily series only)."""
    if data.frequency != "D":
        return None
    frame = data.panel(period_end(origin, data.frequency)).frame
    return frame.loc[:origin, COUNT].to_numpy(dtype=float)


def forecast_over_drivers(
    model: CountModel,
    data: SeriesData,
    origin: pd.Timestamp,
    horizon: int,
    *,
    n_samples: int,
    seed: int,
    config: DriverFuturesConfig = DETERMINISTIC,
    scenario: Scenario | None = None,
) -> CountForecast:
    """``model``'s forecast of the ``horizon`` periods after ``origin`` (the period its
    fit ended on) with the drivers of ``config`` (see the module docstring). With
    ``mode="none"`` this is ``model.forecast(future=data.future(origin, horizon,
    scenario), rng=default_rng(seed))``. ``meta["driver_futures"]`` records the
    simulated process (paths and per-stream fit summary)."""
    origin = pd.Timestamp(origin)
    if not config.simulated or not uses_drivers(model):
        future = data.future(origin, horizon, scenario)
        return model.forecast(
            horizon, future=future, n_samples=n_samples, rng=np.random.default_rng(seed)
        )
    k = min(int(config.paths), n_samples)
    ev, st, _ = data.known_on(period_end(origin, data.frequency))
    futures = driver_futures(
        data.spec,
        ev,
        st,
        origin=origin,
        horizon=horizon,
        k=k,
        rng=np.random.default_rng(np.random.SeedSequence([seed, 0])),
        process=config.process,
        target=_target(data, origin),
        scenario=scenario,
    )
    parts = [
        model.forecast(
            horizon,
            future=frame,
            n_samples=size,
            rng=np.random.default_rng(np.random.SeedSequence([seed, 1, i])),
        )
        for i, (frame, size) in enumerate(zip(futures.frames, _sizes(n_samples, k), strict=True))
    ]
    meta = dict(parts[0].meta)
    meta["driver_futures"] = {
        "mode": "simulated",
        "paths": k,
        "fit": futures.process.summary(),
    }
    return CountForecast(
        origin=parts[0].origin,
        samples=np.concatenate([p.samples for p in parts], axis=0),
        index=parts[0].index,
        model=parts[0].model,
        meta=meta,
    )
