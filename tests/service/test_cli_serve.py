"""``cadence serve``: one process, or uvicorn workers that each build the app from the
settings (the topology test runs both for real)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cadence.service.cli import main
from cadence.service.cli import serve as serve_module

_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def uvicorn_calls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[list[tuple[Any, dict]]]:
    """uvicorn.run recorded instead of run; the logging set-up ``serve`` installs is
    undone afterwards (it would send later tests' logs to stderr)."""
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CADENCE_DATABASE_URL", raising=False)
    calls: list[tuple[Any, dict]] = []
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    saved = [
        (lg, lg.handlers[:], lg.level, lg.propagate) for lg in map(logging.getLogger, _LOGGERS)
    ]
    try:
        yield calls
    finally:
        for lg, handlers, level, propagate in saved:
            lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


def test_one_process_serves_the_app_it_built(uvicorn_calls: list[tuple[Any, dict]]) -> None:
    assert main(["serve", "--port", "8123"]) == 0
    ((app, kw),) = uvicorn_calls
    assert app.title == "Cadence"
    assert (kw["port"], kw.get("workers", 1)) == (8123, 1)


def test_workers_run_the_factory_with_a_patient_healthcheck(
    uvicorn_calls: list[tuple[Any, dict]],
) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "8124", "--workers", "3"]) == 0
    ((app, kw),) = uvicorn_calls
    assert app == serve_module.WORKER_APP == "cadence.service.cli.serve:worker_app"
    assert (kw["factory"], kw["workers"], kw["host"], kw["port"]) == (True, 3, "0.0.0.0", 8124)
    assert kw["timeout_worker_healthcheck"] >= 30  # a worker imports the stack first


def test_workers_refuse_a_bad_setting_before_forking(
    uvicorn_calls: list[tuple[Any, dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADENCE_RETRAIN_MODELS", "climatology,nonesuch")
    with pytest.raises(ValueError, match="nonesuch"):
        main(["serve", "--workers", "2"])
    assert uvicorn_calls == []


def test_zero_workers_is_bad_input(uvicorn_calls: list[tuple[Any, dict]]) -> None:
    assert main(["serve", "--workers", "0"]) == 2
    assert uvicorn_calls == []


def test_a_worker_reads_the_settings_and_keeps_access_lines_off(
    uvicorn_calls: list[tuple[Any, dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADENCE_FORECAST_CACHE_SECONDS", "7.5")
    logging.getLogger("uvicorn.access").propagate = True
    app = serve_module.worker_app()
    assert app.state.settings.forecast_cache_seconds == 7.5
    assert app.state.forecast_cache.ttl == 7.5
    assert logging.getLogger("uvicorn.access").propagate is False


def test_run_serve_serves_in_this_process(uvicorn_calls: list[tuple[Any, dict]]) -> None:
    """``cadence run --serve`` calls ``serve`` as a function: its defaults are Typer's
    option objects unless every argument is passed."""
    assert main(["run", "--no-retrain", "--serve", "--port", "8125"]) == 0
    ((app, kw),) = uvicorn_calls
    assert app.title == "Cadence"
    assert kw["port"] == 8125
