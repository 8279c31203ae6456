"""Rendered forecast bodies, cached in the process so a dashboard poll touches no database.

An entry is keyed by the normalised query ``(series, horizon, quantiles)``
(``forecast_query``) and holds the JSON bytes and their ETag. It is served only while its
last check of the current forecast (one indexed query for the forecast's id, without the
sample paths) is at most ``ttl`` seconds old, so a forecast stored by a retrain is served
within ``ttl`` seconds, even to the first read after an idle period. Within the last
quarter of that time one read starts a check in the background (refresh ahead), so a
steadily polled entry never expires; an expired entry is checked by one request while the
concurrent ones for it wait for that check instead of querying too. The body is
re-rendered only when a new forecast was stored. At most ``max_entries`` bodies are kept
(the least recently checked go first). With ``ttl <= 0`` every request reads the database.
When the check itself fails for an operational reason (the database is down or refuses),
the body already held is served for another ``ttl`` (stale if error) rather than a 503.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from cadence.jobs.served_body import DEFAULT_QUANTILES, re_summary
from cadence.store.errors import NotFoundError
from cadence.store.forecasts_repo import StoredForecast, current_forecast
from cadence.store.operational import operational
from cadence.store.series_repo import get_series

log = logging.getLogger("cadence.forecast_cache")

MAX_ENTRIES = 1024
WAIT_SECONDS = 30.0
Key = tuple[str, int | None, tuple[float, ...]]


@dataclass(frozen=True)
class Rendered:
    """A body and its ETag; ``expires``: its last check of the current forecast, plus the
    cache's ttl (``time.monotonic`` seconds); ``renew``: when a refresh ahead is due."""

    body: bytes
    etag: str
    forecast_id: int
    expires: float
    renew: float


def _render(
    stored: StoredForecast, frequency: str, horizon: int | None, quantiles: tuple[float, ...]
) -> bytes:
    if (horizon in (None, stored.horizon)) and quantiles == DEFAULT_QUANTILES:
        payload = stored.payload  # exactly what the retrain job wrote
    else:
        payload = re_summary(stored, frequency, horizon=horizon, quantiles=quantiles)
    return json.dumps(payload, separators=(",", ":")).encode()


class ForecastCache:
    def __init__(self, ttl: float, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, Rendered] = OrderedDict()
        self._lock = threading.Lock()
        self._refreshing: set[Key] = set()
        self._checks: dict[Key, threading.Event] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, series: str, horizon: int | None, quantiles: Sequence[float]) -> Rendered | None:
        """The cached body, fresh or not (no I/O)."""
        return self._entries.get((series, horizon, tuple(quantiles)))

    def claim_refresh(self, series: str, horizon: int | None, quantiles: Sequence[float]) -> bool:
        """True for exactly one caller per entry due for a refresh: that caller refreshes it."""
        key = (series, horizon, tuple(quantiles))
        with self._lock:
            if key in self._refreshing:
                return False
            self._refreshing.add(key)
            return True

    def fresh(
        self, engine: Engine, series: str, horizon: int | None, quantiles: Sequence[float]
    ) -> Rendered:
        """A body checked against the database at most ``ttl`` seconds ago: the cached one,
        else checked now, by one caller per entry (the others wait for its check)."""
        key = (series, horizon, tuple(quantiles))
        hit = self._entries.get(key)
        if hit is not None and self.ttl > 0 and hit.expires > time.monotonic():
            return hit
        with self._lock:
            check = self._checks.get(key)
            leader = check is None
            if check is None:
                check = self._checks[key] = threading.Event()
        if not leader:
            check.wait(WAIT_SECONDS)
            hit = self._entries.get(key)
            if hit is not None and hit.expires > time.monotonic():
                return hit
            return self._load_or_keep(engine, series, horizon, quantiles)  # its check failed
        try:
            return self._load_or_keep(engine, series, horizon, quantiles)
        finally:
            with self._lock:
                del self._checks[key]
            check.set()

    def _load_or_keep(
        self, engine: Engine, series: str, horizon: int | None, quantiles: Sequence[float]
    ) -> Rendered:
        """``load``, or the body held when the database cannot be asked (kept one more
        ``ttl``, so an outage does not take the dashboards down with it)."""
        key = (series, horizon, tuple(quantiles))
        try:
            return self.load(engine, series, horizon, quantiles)
        except Exception as exc:
            old, failure = self._entries.get(key), operational(exc)
            if old is None or failure is None:
                raise
            log.warning("forecast of %s served from memory: %s", series, failure.message)
            now = time.monotonic()
            kept = Rendered(old.body, old.etag, old.forecast_id, now + self.ttl, now + self.ttl)
            self._put(key, kept)
            return kept

    def load(
        self, engine: Engine, series: str, horizon: int | None, quantiles: Sequence[float]
    ) -> Rendered:
        """Read the current forecast and render it (re-using the old body if unchanged)."""
        key = (series, horizon, tuple(quantiles))
        checked = time.monotonic()  # the entry is as new as the start of this check
        try:
            head = current_forecast(engine, series, with_samples=False)
            if head is None:
                raise NotFoundError(
                    f"series {series!r} has no champion forecast yet; run `cadence retrain "
                    f"--series {series}` first"
                )
            old = self._entries.get(key)
            expires, renew = checked + self.ttl, checked + 0.75 * self.ttl
            if old is not None and old.forecast_id == head.id:
                fresh = Rendered(old.body, old.etag, old.forecast_id, expires, renew)
            else:
                if horizon is not None and not 1 <= horizon <= head.horizon:
                    raise ValueError(f"horizon must lie in 1..{head.horizon}, got {horizon}")
                needs_paths = not (horizon in (None, head.horizon) and key[2] == DEFAULT_QUANTILES)
                stored = current_forecast(engine, series) if needs_paths else head
                assert stored is not None
                body = _render(stored, get_series(engine, series).frequency, horizon, key[2])
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                fresh = Rendered(body, etag, stored.id, expires, renew)
            self._put(key, fresh)
            return fresh
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _put(self, key: Key, entry: Rendered) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
