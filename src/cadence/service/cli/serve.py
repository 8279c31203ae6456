"""``cadence serve``: the HTTP API on uvicorn."""

from __future__ import annotations

import typer
import uvicorn

from cadence.service.api import create_app
from cadence.service.cli.app import app, settings
from cadence.service.logs import configure


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to bind"),
    port: int = typer.Option(8000, help="TCP port"),
) -> None:
    """Serve the API (reads are served from stored forecasts; nothing is refitted).

    One process; scale out with several replicas on the same database."""
    configure()
    uvicorn.run(create_app(settings()), host=host, port=port, log_config=None, access_log=False)
