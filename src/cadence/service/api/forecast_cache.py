"""Rendered forecast bodies, cached in the process so a dashboard poll touches no database.

An entry is keyed by ``(series, horizon, quantiles)`` and holds the JSON bytes and their
ETag. It is trusted for ``ttl`` seconds; after that the current forecast's id is read
again (one indexed query) and the body is re-rendered only when a retrain wrote a new
forecast. A new forecast is therefore visible within ``ttl`` seconds on every replica.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from cadence.columns import PANDAS_FREQ
from cadence.experiments.serving import DEFAULT_QUANTILES, forecast_payload
from cadence.models.forecast import CountForecast
from cadence.store.forecasts_repo import StoredForecast, require_current_forecast
from cadence.store.series_repo import get_series


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str
    forecast_id: int
    expires: float


def _render(
    stored: StoredForecast, frequency: str, horizon: int | None, quantiles: tuple[float, ...]
) -> bytes:
    if (horizon in (None, stored.horizon)) and quantiles == DEFAULT_QUANTILES:
        payload = stored.payload  # exactly what the retrain job wrote
    else:
        if stored.samples is None:
            raise ValueError("the stored forecast has no sample paths to re-summarise")
        origin = pd.Timestamp(stored.origin)
        freq = PANDAS_FREQ[frequency]
        index = pd.date_range(origin, periods=stored.horizon + 1, freq=freq)[1:]
        fc = CountForecast(
            origin=origin, samples=stored.samples, index=index, model=stored.model_name
        )
        payload = forecast_payload(
            stored.series,
            frequency,
            fc,
            model_name=stored.model_name,
            version=stored.model_version,
            run_id=stored.run_id,
            generated_at=stored.generated_at,
            quantiles=quantiles,
            horizon=horizon,
        )
    return json.dumps(payload, separators=(",", ":")).encode()


class ForecastCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[str, int | None, tuple[float, ...]], Rendered] = {}
        self._lock = threading.Lock()

    def peek(self, series: str, horizon: int | None, quantiles: Sequence[float]) -> Rendered | None:
        """The cached body while it is fresh, else None (no I/O)."""
        hit = self._entries.get((series, horizon, tuple(quantiles)))
        return hit if hit is not None and hit.expires > time.monotonic() else None

    def load(
        self, engine: Engine, series: str, horizon: int | None, quantiles: Sequence[float]
    ) -> Rendered:
        """Read the current forecast and render it (re-using the old body if unchanged)."""
        key = (series, horizon, tuple(quantiles))
        stored = require_current_forecast(engine, series)
        old = self._entries.get(key)
        expires = time.monotonic() + self.ttl
        if old is not None and old.forecast_id == stored.id:
            fresh = Rendered(old.body, old.etag, old.forecast_id, expires)
        else:
            if horizon is not None and not 1 <= horizon <= stored.horizon:
                raise ValueError(f"horizon must lie in 1..{stored.horizon}, got {horizon}")
            body = _render(stored, get_series(engine, series).frequency, horizon, key[2])
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            fresh = Rendered(body, etag, stored.id, expires)
        with self._lock:
            self._entries[key] = fresh
        return fresh
