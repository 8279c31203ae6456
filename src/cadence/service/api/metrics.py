"""Prometheus metrics: request counts and latency per route (one registry per app)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cadence.experiments.accuracy.rolling import DriftBand, accuracy_status
from cadence.store.errors import DatabaseUnavailableError
from cadence.store.forecasts_repo import current_forecast
from cadence.store.jobs_repo import KIND_RETRAIN, SUCCEEDED, list_jobs
from cadence.store.series_repo import list_series

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

    def watch_store(self, engine: Engine, band: DriftBand | None = None) -> None:
        """Per-series gauges read from the database at scrape time: forecast age, the
        last retrain's status, and the served champion's rolling accuracy and drift
        alarm (``band``: the alarm's settings)."""
        self.registry.register(_StoreCollector(engine, band or DriftBand()))

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _StoreCollector(Collector):
    def __init__(self, engine: Engine, band: DriftBand) -> None:
        self.engine = engine
        self.band = band

    def collect(self) -> Iterator[Metric]:
        age = GaugeMetricFamily(
            "cadence_forecast_age_seconds",
            "seconds since the served forecast was generated",
            labels=["series"],
        )
        status = GaugeMetricFamily(
            "cadence_last_retrain_succeeded",
            "1 when the series' last finished retrain succeeded, else 0",
            labels=["series"],
        )
        crps = GaugeMetricFamily(
            "cadence_accuracy_crps_rolling",
            "mean CRPS of the served champion forecasts over the rolling window (counts)",
            labels=["series"],
        )
        baseline = GaugeMetricFamily(
            "cadence_accuracy_baseline_crps_rolling",
            "Climatology's mean CRPS on the same scored periods (counts)",
            labels=["series"],
        )
        coverage = GaugeMetricFamily(
            "cadence_accuracy_coverage_80_rolling",
            "share of scored periods inside the served 80% interval over the rolling window",
            labels=["series"],
        )
        alarm = GaugeMetricFamily(
            "cadence_accuracy_alarm",
            "1 when the served champion's rolling accuracy raises the drift alarm, else 0",
            labels=["series"],
        )
        now = dt.datetime.now(dt.UTC)
        try:
            for s in list_series(self.engine):
                f = current_forecast(self.engine, s.name, with_samples=False)
                if f is not None:
                    at = f.generated_at
                    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
                    age.add_metric([s.name], (now - at).total_seconds())
                done = [
                    j
                    for j in list_jobs(self.engine, kind=KIND_RETRAIN, series=s.name, limit=5)
                    if j.finished_at is not None
                ]
                if done:
                    status.add_metric([s.name], 1.0 if done[0].status == SUCCEEDED else 0.0)
                live = accuracy_status(self.engine, s.name, self.band)
                if live.n:
                    crps.add_metric([s.name], live.crps)
                    coverage.add_metric([s.name], live.coverage_80)
                    if live.n_baseline:
                        baseline.add_metric([s.name], live.baseline_crps)
                    alarm.add_metric([s.name], 1.0 if live.alarm else 0.0)
        except (OperationalError, DatabaseUnavailableError):
            return  # the database is down: /readyz says so; metrics stay scrapeable
        yield age
        yield status
        yield crps
        yield baseline
        yield coverage
        yield alarm


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task or body copy, unlike ``@app.middleware``):
    counts and times every request by the matched route's path template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            matched = scope.get("route")
            # the template without convertors: {name}, not {name:series}
            route = getattr(matched, "path_format", None) or getattr(matched, "path", "unmatched")
            method = scope["method"]
            elapsed = time.perf_counter() - start
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(elapsed)
            if status >= 400 or elapsed > SLOW_REQUEST_S:
                log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )


def install(app: FastAPI, metrics: Metrics) -> None:
    app.add_middleware(MetricsMiddleware, metrics=metrics)
