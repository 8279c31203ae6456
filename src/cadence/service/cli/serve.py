"""``cadence serve``: the HTTP API on uvicorn, in one process or several workers."""

from __future__ import annotations

import logging

import typer
import uvicorn
from fastapi import FastAPI

from cadence.service.api import create_app
from cadence.service.candidates import parse_candidates
from cadence.service.cli.app import app, settings
from cadence.service.logs import configure

WORKER_APP = "cadence.service.cli.serve:worker_app"
# a spawned worker imports the whole stack (pandas, MLflow, ...) before it can answer the
# supervisor's first ping: uvicorn's 5 s default kills it in a loop on a loaded host
WORKER_HEALTHCHECK_S = 60


def worker_app() -> FastAPI:
    """The app of one worker process of ``cadence serve --workers N``: each worker
    configures its logs and reads the settings itself."""
    configure()
    # uvicorn configured its loggers before this factory ran: keep its access lines off,
    # as in one process (the request log is ``cadence.http``)
    logging.getLogger("uvicorn.access").propagate = False
    return create_app(settings())


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to bind"),
    port: int = typer.Option(8000, help="TCP port"),
    workers: int = typer.Option(
        1, min=1, help="worker processes on the port (uvicorn workers; 1: this process)"
    ),
) -> None:
    """Serve the API (reads are served from stored forecasts; nothing is refitted).

    Workers and replicas share nothing but the database and the tracking server: each
    caches forecast bodies for CADENCE_FORECAST_CACHE_SECONDS and runs its own retrain
    thread (the jobs table lets one retrain per series through at a time)."""
    configure()
    s = settings()
    if workers == 1:
        uvicorn.run(create_app(s), host=host, port=port, log_config=None, access_log=False)
        return
    parse_candidates(s.retrain_models)  # a bad setting fails here, not in every worker
    uvicorn.run(
        WORKER_APP,
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
    )
