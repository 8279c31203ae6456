"""``cadence forecast --as-of``: replays refit on what was dated on or before the date,
so later rows cannot change them. Synthetic counts drawn by code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cadence.jobs.replay import replay_origin
from cadence.service.cli import main
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.ingest import ingest_counts

SERIES = "synthetic-replay"


def _counts(days: int, seed: int = 2, tail: float = 3.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    mean = np.where(np.arange(days) < 120, 3.0, tail)
    return pd.DataFrame(
        {
            "series": SERIES,
            "date": dates.strftime("%Y-%m-%d"),
            "count": rng.poisson(mean).astype(str),
        }
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    engine = make_engine(f"sqlite:///{tmp_path / 'cadence.db'}")
    migrate.upgrade(engine)
    ingest_counts(engine, [_counts(150)], frequency="D", source="synthetic")
    engine.dispose()
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path))
    for var in ("CADENCE_DATABASE_URL", "CADENCE_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _replay(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["forecast", "--series", SERIES, "--json", *args]) == 0
    body: dict[str, Any] = json.loads(capsys.readouterr().out)
    return body


def test_replay_ignores_rows_dated_after_the_date(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--as-of", "2024-04-20", "--model", "recent_rate", "--horizon", "7")
    before = _replay(capsys, *args)
    assert before["origin"] == "2024-04-20" and before["as_of"] == "2024-04-20"
    assert before["model"] == {"name": "recent_rate", "version": None, "run_id": None}
    assert before["periods"][0]["date"] == "2024-04-21"
    # later days arrive, at a very different rate: the replay must not move
    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    later = _counts(200, tail=40.0).iloc[150:]
    ingest_counts(engine, [later], frequency="D", source="synthetic")
    engine.dispose()
    after = _replay(capsys, *args)
    assert after["periods"] == before["periods"] and after["windows"] == before["windows"]
    # ... while a replay after them sees them
    late = _replay(capsys, "--as-of", "2024-07-15", "--model", "recent_rate", "--horizon", "7")
    assert late["periods"][0]["mean"] > 3 * before["periods"][0]["mean"]


def test_replay_after_the_last_observation_forecasts_after_the_date(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the data end on 2024-05-29; the as-of date is twelve days later
    body = _replay(capsys, "--as-of", "2024-06-10", "--model", "recent_rate", "--horizon", "7")
    assert (body["as_of"], body["origin"], body["data_through"]) == (
        "2024-06-10",
        "2024-06-10",
        "2024-05-29",
    )
    dates = [p["date"] for p in body["periods"]]
    assert dates == [f"2024-06-{d:02d}" for d in range(11, 18)]
    assert all(p["mean"] > 0 for p in body["periods"])
    # within the data the body is as before: no data_through
    inside = _replay(capsys, "--as-of", "2024-05-29", "--model", "recent_rate", "--horizon", "7")
    assert "data_through" not in inside and inside["periods"][0]["date"] == "2024-05-30"


def test_replay_with_hidden_regimes_reports_them(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--as-of", "2024-04-20", "--model", "regime_nb", "--horizon", "7")
    body = _replay(capsys, *args)
    regimes = body["regimes"]
    assert [s["name"] for s in regimes["states"]] == ["quiet", "active"]
    assert set(regimes["p_switch"]) == {"7", "28"}
    assert main(["forecast", "--series", SERIES, *args]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "regimes at the origin: quiet" in text
    assert f"most likely {regimes['most_likely']}" in text
    # other models have no such field
    assert "regimes" not in _replay(capsys, "--as-of", "2024-04-20", "--model", "recent_rate")


def test_replay_errors_are_bad_input(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "--series", SERIES, "--as-of", "2024-04-20"]) == 2
    assert "no champion" in capsys.readouterr().err
    assert (
        main(["forecast", "--series", SERIES, "--as-of", "2019-01-01", "--model", "climatology"])
        == 2
    )
    assert "expected a date on or after 2024-01-01" in capsys.readouterr().err
    assert main(["forecast", "--series", SERIES, "--as-of", "April", "--model", "climatology"]) == 2
    assert main(["forecast", "--series", SERIES, "--model", "climatology"]) == 2


@pytest.mark.parametrize(
    ("as_of", "freq", "origin"),
    [
        ("2024-04-20", "D", "2024-04-20"),
        ("2024-04-21", "W", "2024-04-15"),  # a Sunday completes its week
        ("2024-04-20", "W", "2024-04-08"),  # a Saturday does not
        ("2024-04-30", "M", "2024-04-01"),
        ("2024-04-29", "M", "2024-03-01"),
    ],
)
def test_replay_origin_is_the_last_complete_period(as_of: str, freq: str, origin: str) -> None:
    assert replay_origin(as_of, freq) == pd.Timestamp(origin)
