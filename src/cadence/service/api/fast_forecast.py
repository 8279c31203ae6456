"""The dashboard fast path: a cached forecast body answered before FastAPI's routing.

``GET /v1/series/{name}/forecast``, with or without ``horizon``/``quantiles``, on an
open-read server, whose body is cached and fresh (``forecast_cache``), is answered here
from memory (with ``ETag`` and 304), skipping request parsing, dependency resolution and
response models. Every other request — a missing or expired entry, a bad query, closed
reads — goes to the FastAPI route, which is also what the OpenAPI document describes;
both give the same bytes for the same normalised query (``forecast_query``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from types import SimpleNamespace

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from cadence.service.api.conditional import etag_matches
from cadence.service.api.forecast_cache import ForecastCache
from cadence.service.api.forecast_query import parse_forecast_query

PATH = re.compile(r"^/v1/series/(.+)/forecast$")  # names may hold "/"
ROUTE = SimpleNamespace(path="/v1/series/{name}/forecast")  # label for the metrics

log = logging.getLogger("cadence.forecast_cache")

# references to running refresh tasks, so they are not garbage-collected mid-flight
_background: set[asyncio.Task[object]] = set()


def _refreshed(task: asyncio.Task[object]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        # the entry expires on time; the next read checks the database itself
        log.warning("forecast cache refresh failed: %s", task.exception())


def start_refresh(
    cache: ForecastCache,
    engine: Engine,
    series: str,
    horizon: int | None,
    levels: tuple[float, ...],
) -> None:
    """Check an entry due for renewal in the background (one check per entry at a time)."""
    if cache.claim_refresh(series, horizon, levels):
        task = asyncio.create_task(run_in_threadpool(cache.load, engine, series, horizon, levels))
        _background.add(task)
        task.add_done_callback(_refreshed)


class FastForecastMiddleware:
    def __init__(self, app: ASGIApp, cache: ForecastCache, engine: Engine, open_reads: bool):
        self.app = app
        self.cache = cache
        self.engine = engine
        self.open_reads = open_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.open_reads and scope["type"] == "http" and scope["method"] == "GET":
            m = PATH.match(scope["path"])
            query = parse_forecast_query(scope["query_string"]) if m else None
            if m is not None and query is not None:
                name, (horizon, levels) = m.group(1), query
                hit = self.cache.get(name, horizon, levels)
                now = time.monotonic()
                if hit is not None and hit.expires > now:
                    if hit.renew <= now:
                        start_refresh(self.cache, self.engine, name, horizon, levels)
                    scope["route"] = ROUTE
                    await self._answer(scope, send, hit.etag.encode(), hit.body)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send, etag: bytes, body: bytes) -> None:
        headers = [
            (b"etag", etag),
            (b"cache-control", f"public, max-age={int(self.cache.ttl)}".encode()),
        ]
        if any(
            k == b"if-none-match" and etag_matches(v, etag.decode()) for k, v in scope["headers"]
        ):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
