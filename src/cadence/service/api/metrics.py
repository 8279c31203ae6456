"""Prometheus metrics: request counts and latency per route (one registry per app)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.routing import Match

log = logging.getLogger("cadence.http")
# successful fast reads are counted in metrics, not logged line by line (dashboards poll)
SLOW_REQUEST_S = 0.5


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cadence_http_requests_total",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cadence_http_request_seconds",
            "HTTP request latency by route template",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route_template(request: Request) -> str:
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(route, "path", request.url.path))
    return "unmatched"


def install(app: FastAPI, metrics: Metrics) -> None:
    @app.middleware("http")
    async def record(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = _route_template(request)
        metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        elapsed = time.perf_counter() - start
        metrics.latency.labels(route, request.method).observe(elapsed)
        if response.status_code >= 400 or elapsed > SLOW_REQUEST_S:
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.url.path,
                    "route": route,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 2),
                },
            )
        return response
