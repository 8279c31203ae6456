"""The dashboard fast path: a cached forecast body answered before FastAPI's routing.

``GET /v1/series/{name}/forecast`` without query parameters, on an open-read server,
whose body is cached and fresh, is answered here from memory (with ``ETag`` and 304),
skipping request parsing, dependency resolution and response models. Every other request
— a query string, a missing or stale entry, closed reads — goes to the FastAPI route,
which is also what the OpenAPI document describes; both give the same bytes.
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

from starlette.types import ASGIApp, Receive, Scope, Send

from cadence.experiments.serving import DEFAULT_QUANTILES
from cadence.service.api.forecast_cache import ForecastCache

PATH = re.compile(r"^/v1/series/(.+)/forecast$")  # names may hold "/"
ROUTE = SimpleNamespace(path="/v1/series/{name}/forecast")  # label for the metrics


class FastForecastMiddleware:
    def __init__(self, app: ASGIApp, cache: ForecastCache, open_reads: bool) -> None:
        self.app = app
        self.cache = cache
        self.open_reads = open_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.open_reads
            and scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope["query_string"]
        ):
            m = PATH.match(scope["path"])
            hit = self.cache.get(m.group(1), None, DEFAULT_QUANTILES) if m else None
            if hit is not None and hit.expires > time.monotonic():
                scope["route"] = ROUTE
                etag = hit.etag.encode()
                headers = [
                    (b"etag", etag),
                    (b"cache-control", f"public, max-age={int(self.cache.ttl)}".encode()),
                ]
                if any(k == b"if-none-match" and v == etag for k, v in scope["headers"]):
                    await send({"type": "http.response.start", "status": 304, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
                headers += [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(hit.body)).encode()),
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": hit.body})
                return
        await self.app(scope, receive, send)
