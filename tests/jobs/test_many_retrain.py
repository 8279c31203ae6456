"""``cadence retrain`` over a family: globs, per-series isolation, registry names.

Counts are drawn by code (weekly Poisson counts of three synthetic members); nothing is
real.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cadence.experiments.model_registry import registered_name
from cadence.experiments.tracking import escape_name, experiment_name, mlflow_client, quiet_mlflow
from cadence.jobs.retrain import batch as retrain_batch
from cadence.service.cli import main
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.ingest import ingest_counts

MEMBERS = ["synthetic-family/Iraq", "synthetic-family/Syria", "synthetic-family/Al Anbar"]
FAST = ["--horizon", "4", "--origins", "2", "--every", "4", "--samples", "100"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    engine = make_engine(f"sqlite:///{tmp_path / 'cadence.db'}")
    migrate.upgrade(engine)
    rng = np.random.default_rng(5)
    weeks = pd.date_range("2022-01-03", periods=80, freq="W-MON").strftime("%Y-%m-%d")
    counts = pd.DataFrame(
        {
            "series": [m for m in MEMBERS for _ in weeks],
            "date": list(weeks) * len(MEMBERS),
            "count": rng.poisson(4.0, len(weeks) * len(MEMBERS)).astype(str),
        }
    )
    ingest_counts(engine, [counts], frequency="W", source="synthetic")  # one call, 3 series
    engine.dispose()
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path))
    for var in ("CADENCE_DATABASE_URL", "CADENCE_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_escaped_names_are_one_to_one_and_accepted() -> None:
    assert escape_name("us-forces-iraq-syria") == "us-forces-iraq-syria"
    assert registered_name("a/b") == "cadence-a~2Fb"
    names = ["a/b", "a~2Fb", "a b", "a:b", "a_b", "Ä/ü"]
    assert len({escape_name(n) for n in names}) == len(names)
    assert all("/" not in escape_name(n) and ":" not in escape_name(n) for n in names)
    assert experiment_name("fam/x") == experiment_name("fam/y") == "cadence-fam"


def test_retrain_a_family_by_glob(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["retrain", "--series", "synthetic-family/*", "--json", *FAST]
    assert main([*args, "--models", "climatology,recent_rate"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(o["series"] for o in doc["series"]) == sorted(MEMBERS)
    assert doc["summary"]["statuses"] == {"promoted": 3}
    assert doc["summary"]["n_series"] == 3 and doc["summary"]["n_failed"] == 0
    skills = [o["skill_vs_climatology"]["recent_rate"] for o in doc["series"]]
    rr = doc["summary"]["models"]["recent_rate"]
    assert rr["mean_skill"] == pytest.approx(float(np.mean(skills)))
    with quiet_mlflow():
        client = mlflow_client(f"sqlite:///{home / 'mlflow.db'}")
        for m in MEMBERS:
            mv = client.get_model_version_by_alias(registered_name(m), "champion")
            assert mv.tags["cadence.series"] == m
            assert mv.tags["cadence.family"] == "synthetic-family"
        assert client.get_experiment_by_name(experiment_name(MEMBERS[0])) is not None
    # the stored forecast of a member with "/" and " " in its name is served back
    assert main(["forecast", "--series", "synthetic-family/Al Anbar", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["series"] == "synthetic-family/Al Anbar"


def test_one_series_raising_does_not_stop_the_rest(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = retrain_batch.run_backtest

    def flaky(data: Any, *args: Any, **kw: Any) -> Any:
        if data.spec.name == "synthetic-family/Syria":
            raise RuntimeError("synthetic failure")
        return real(data, *args, **kw)

    monkeypatch.setattr(retrain_batch, "run_backtest", flaky)
    args = ["retrain", "--all", "--json", "--models", "climatology", *FAST]
    assert main(args) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert "synthetic-family/Syria: failed" in captured.err
    by_name = {o["series"]: o for o in doc["series"]}
    assert set(by_name) == set(MEMBERS)
    reason = "fit: RuntimeError: synthetic failure"
    assert by_name["synthetic-family/Syria"]["reason"] == reason
    assert doc["summary"]["statuses"] == {"promoted": 2, "failed": 1}
    assert doc["summary"]["failed"] == [{"series": "synthetic-family/Syria", "error": reason}]
