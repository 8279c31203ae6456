"""``--known-at`` on ``backtest`` and ``report``: the database as it was at an instant.
Late reports (events dated inside the backtest, stored afterwards) change a backtest by
event date but not one known at the earlier instant; the mode is said. The events are
synthetic (generated rows)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cadence.service.cli import main
from tests.store.synthetic import native_event_rows, write_csv


def _store_events(home: Path) -> str:
    """Synthetic events stored; returns the instant just after."""
    rows = write_csv(home / "events.csv", native_event_rows(900, seed=2))
    assert main(["ingest", "events", str(rows)]) == 0
    return dt.datetime.now(dt.UTC).isoformat()


def _store_late_reports(home: Path) -> None:
    """300 more synthetic attacks dated over the same months, stored now."""
    late = native_event_rows(300, seed=5)
    for i, r in enumerate(late):
        r["source_id"] = f"late-{i:05d}"
        r["kind"] = "attack"
    assert main(["ingest", "events", str(write_csv(home / "late.csv", late))]) == 0


@pytest.fixture
def stored_at(catalog_home: Path) -> tuple[Path, str]:
    """Synthetic events stored, then the instant, then late reports of the same months."""
    instant = _store_events(catalog_home)
    _store_late_reports(catalog_home)
    return catalog_home, instant


def _backtest(home: Path, *extra: str) -> dict[str, Any]:
    out = home / "bt.json"
    args = ["backtest", "--series", "synthetic-attacks", "--models", "recent_rate"]
    args += ["--start", "2024-06-01", "--every", "28D", "--horizon", "14", "--samples", "200"]
    assert main([*args, "--no-tracking", "--json", str(out), *extra]) == 0
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def _crps(doc: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {(r["model"], str(r["horizon"])): r["crps"] for r in doc["scores"]}


def test_backtest_known_at_ignores_late_reports_and_says_its_mode(
    catalog_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    instant = _store_events(catalog_home)
    before = _backtest(catalog_home)
    _store_late_reports(catalog_home)
    capsys.readouterr()
    by_date = _backtest(catalog_home)
    assert by_date["data_mode"] == "event date"
    assert "data by event date" in capsys.readouterr().err
    then = _backtest(catalog_home, "--known-at", instant)
    assert then["data_mode"] == f"known at {dt.datetime.fromisoformat(instant).isoformat()}"
    assert "data by known at" in capsys.readouterr().err
    # as stored at the instant: the backtest run then, exactly; by event date: different
    assert then["origins"] == before["origins"] == by_date["origins"]
    assert _crps(then) == _crps(before)
    assert _crps(by_date) != _crps(before)
    assert main(["backtest", "--series", "synthetic-attacks", "--known-at", "soon"]) == 2


def test_report_known_at_reads_what_was_stored_then(
    stored_at: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, instant = stored_at
    args = ["report", "--series", "synthetic-attacks", "--as-of", "2024-07-31", "--model"]
    args += ["recent_rate", "--horizon", "14", "--samples", "200", "--json"]

    def report(*extra: str) -> dict[str, Any]:
        capsys.readouterr()
        assert main([*args, *extra]) == 0
        body: dict[str, Any] = json.loads(capsys.readouterr().out)
        return body

    now, then = report(), report("--known-at", instant)
    assert json.dumps(now["windows"]) != json.dumps(then["windows"])
    assert main([*args, "--known-at", "yesterday"]) == 2
