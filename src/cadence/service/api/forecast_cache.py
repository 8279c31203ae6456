"""Rendered forecast bodies, cached in the process so a dashboard poll touches no database.

An entry is keyed by ``(series, horizon, quantiles)`` and holds the JSON bytes and their
ETag. It is trusted for ``ttl`` seconds; after that one request triggers a refresh in the
background (the current forecast's id is read again, one indexed query without the sample
paths) while every request keeps getting the body it has, so an expiry never stalls the
dashboards or sends a burst of queries. The body is re-rendered only when a retrain wrote
a new forecast, which is therefore served within about ``ttl`` seconds on every replica.
With ``ttl <= 0`` every request reads the database (no caching).
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
from cadence.store.errors import NotFoundError
from cadence.store.forecasts_repo import StoredForecast, current_forecast
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
        if "regimes" in stored.payload:  # model state at the origin, not a path summary
            payload["regimes"] = stored.payload["regimes"]
    return json.dumps(payload, separators=(",", ":")).encode()


class ForecastCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[str, int | None, tuple[float, ...]], Rendered] = {}
        self._lock = threading.Lock()
        self._refreshing: set[tuple[str, int | None, tuple[float, ...]]] = set()

    def get(self, series: str, horizon: int | None, quantiles: Sequence[float]) -> Rendered | None:
        """The cached body, fresh or not (no I/O)."""
        return self._entries.get((series, horizon, tuple(quantiles)))

    def claim_refresh(self, series: str, horizon: int | None, quantiles: Sequence[float]) -> bool:
        """True for exactly one caller per stale entry: that caller refreshes it."""
        key = (series, horizon, tuple(quantiles))
        with self._lock:
            if key in self._refreshing:
                return False
            self._refreshing.add(key)
            return True

    def load(
        self, engine: Engine, series: str, horizon: int | None, quantiles: Sequence[float]
    ) -> Rendered:
        """Read the current forecast and render it (re-using the old body if unchanged)."""
        key = (series, horizon, tuple(quantiles))
        try:
            head = current_forecast(engine, series, with_samples=False)
            if head is None:
                raise NotFoundError(
                    f"series {series!r} has no champion forecast yet; run `cadence retrain "
                    f"--series {series}` first"
                )
            old = self._entries.get(key)
            expires = time.monotonic() + self.ttl
            if old is not None and old.forecast_id == head.id:
                fresh = Rendered(old.body, old.etag, old.forecast_id, expires)
            else:
                if horizon is not None and not 1 <= horizon <= head.horizon:
                    raise ValueError(f"horizon must lie in 1..{head.horizon}, got {horizon}")
                needs_paths = not (horizon in (None, head.horizon) and key[2] == DEFAULT_QUANTILES)
                stored = current_forecast(engine, series) if needs_paths else head
                assert stored is not None
                body = _render(stored, get_series(engine, series).frequency, horizon, key[2])
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                fresh = Rendered(body, etag, stored.id, expires)
            with self._lock:
                self._entries[key] = fresh
            return fresh
        finally:
            with self._lock:
                self._refreshing.discard(key)
