"""`cadence run` on embedded defaults: loads the bundled data and summarises every series."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cadence.service.cli import main


def test_run_without_retrain_summarises_the_bundled_series(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path))
    monkeypatch.delenv("CADENCE_DATABASE_URL", raising=False)
    assert main(["run", "--no-retrain", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    series = {s["series"]: s for s in body["series"]}
    assert series["us-forces-iraq-syria"]["total"] == 168
    # 15 DoD tallies: 13 multi-day intervals and 2 single days (the 2024-01-31 figure with
    # no DoD attribution is not one of them)
    assert series["us-forces-iraq-syria"]["intervals"] == 13
    assert series["israel-alerts"]["first"] == "2023-10-24"
    assert series["israel-alerts"]["last"] == "2024-06-30"
    assert body["retrain"] == []
    assert body["tables"]["series"] == 3
    # a second run finds everything in place
    assert main(["run", "--no-retrain", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert all(i["inserted"] == 0 for i in again["load"]["ingests"])
