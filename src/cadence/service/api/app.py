"""The FastAPI application: settings validated at start-up, one engine, thin routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cadence import __version__
from cadence.jobs.scenarios import ForecasterCache
from cadence.service.accuracy import rescoring
from cadence.service.accuracy.rescoring import band_from
from cadence.service.api import docs, errors, headers, limits, metrics
from cadence.service.api.fast_forecast import FastForecastMiddleware
from cadence.service.api.forecast_cache import ForecastCache
from cadence.service.api.routes_accuracy import router as accuracy_router
from cadence.service.api.routes_dashboard import router as dashboard_router
from cadence.service.api.routes_events import router as events_router
from cadence.service.api.routes_forecast import router as forecast_router
from cadence.service.api.routes_ingest import router as ingest_router
from cadence.service.api.routes_jobs import router as jobs_router
from cadence.service.api.routes_jobs import stop_retrains
from cadence.service.api.routes_models import router as models_router
from cadence.service.api.routes_ops import router as ops_router
from cadence.service.api.routes_scenarios import router as scenarios_router
from cadence.service.api.routes_series import router as series_router
from cadence.service.candidates import parse_candidates
from cadence.service.rescore_queue import RescoreQueue
from cadence.service.scheduler import start_retrain_scheduler
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.job_lease import LeaseKeeper


def create_app(settings: Settings | None = None, *, migrate_on_start: bool = True) -> FastAPI:
    """Build the app around one engine (disposed at shutdown); at start-up the schema is
    migrated unless ``migrate_on_start`` is off."""
    s = settings or Settings()
    s.home.mkdir(parents=True, exist_ok=True)
    candidates = parse_candidates(s.retrain_models)  # a bad setting fails at start-up
    engine = make_engine(s.resolved_database_url)  # connects lazily

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if migrate_on_start:
            migrate.upgrade(engine)
        scheduler = (
            start_retrain_scheduler(
                engine,
                s.resolved_tracking_uri,
                s.retrain_cron,
                candidates=candidates,
                lease=s.job_lease,
                drivers=s.drivers,
            )
            if s.retrain_cron
            else None
        )
        app.state.job_leases.start()  # keeps the leases of the queued retrain jobs
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            stop_retrains(engine, app.state.retrain_pool, app.state.retrain_queue)
            app.state.job_leases.stop()
            app.state.rescore_queue.stop()
            engine.dispose()

    app = FastAPI(
        title="Cadence",
        version=__version__,
        summary="Forecasts of near-term conflict-event counts as full predictive distributions.",
        lifespan=lifespan,
        docs_url=None,  # served by ``docs`` from local assets
        redoc_url=None,  # ReDoc would load from a public CDN
    )
    app.state.settings = s
    app.state.engine = engine
    app.state.forecast_cache = ForecastCache(s.forecast_cache_seconds)
    app.state.metrics = metrics.Metrics()
    app.state.forecasters = ForecasterCache()
    app.state.retrain_candidates = tuple(candidates)
    app.state.retrain_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retrain")
    app.state.retrain_queue = {}
    app.state.job_leases = LeaseKeeper(engine, every=s.job_lease["heartbeat_every"])
    app.state.rescore_queue = RescoreQueue(
        lambda names: rescoring.rescore(engine, names, s),
        debounce=s.rescore_debounce_seconds,
        max_pending=s.rescore_max_pending,
    )
    # middleware added first sits innermost:
    # headers -> limits -> metrics -> forecast fast path -> routes
    app.add_middleware(
        FastForecastMiddleware,
        cache=app.state.forecast_cache,
        engine=engine,
        open_reads=s.open_reads,
    )
    metrics.install(app, app.state.metrics)
    app.state.metrics.watch_store(engine, band_from(s))
    errors.install(app)
    app.include_router(ops_router)
    app.include_router(series_router)
    app.include_router(events_router)
    app.include_router(forecast_router)
    app.include_router(accuracy_router)
    app.include_router(ingest_router)
    app.include_router(models_router)
    app.include_router(scenarios_router)
    app.include_router(jobs_router)
    app.include_router(dashboard_router)
    docs.install(app)
    limits.install(app, s.max_body_bytes)
    headers.install(app)
    return app
