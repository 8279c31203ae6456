"""Scoring what was served: a stored forecast is scored once its truth is ingested (from
the command line or the API), and a late correction rescores it and records the change.
The counts are synthetic (Poisson draws by code)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cadence.experiments.accuracy.scores import score_served
from cadence.service.api import create_app
from cadence.service.cli import main
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.apikeys_repo import create_key
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import current_forecast
from cadence.store.ingest import ingest_counts
from cadence.store.scores_repo import scores_frame
from tests.served import serve_replay

SERIES = "synthetic-live"
DAYS = 200


def _counts(seed: int = 4) -> pd.DataFrame:
    """DAYS synthetic days of Poisson(4) counts from 2024-01-01."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=DAYS, freq="D")
    return pd.DataFrame(
        {"series": SERIES, "date": dates.strftime("%Y-%m-%d"), "count": rng.poisson(4.0, DAYS)}
    )


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"count": str})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Engine]]:
    """A store with the first 150 days and one served 28-day forecast from day 150."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cadence.db'}")
    migrate.upgrade(engine)
    ingest_counts(engine, [_as_text(_counts().iloc[:150])], frequency="D", source="synthetic")
    serve_replay(engine, SERIES, "2024-05-29", n_samples=400)
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path))
    for var in ("CADENCE_DATABASE_URL", "CADENCE_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    yield tmp_path, engine
    engine.dispose()


def _write(path: Path, frame: pd.DataFrame) -> Path:
    _as_text(frame).to_csv(path, index=False)
    return path


def test_a_served_forecast_is_scored_when_its_truth_is_ingested(
    home: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, engine = home
    assert score_served(engine, SERIES).scored == 0  # nothing after the origin yet
    truth = _counts().iloc[150:170]  # 20 of the 28 days
    path = _write(tmp / "truth.csv", truth)
    assert main(["ingest", "counts", str(path), "--source", "synthetic"]) == 0
    assert "scored" in capsys.readouterr().err
    scores = scores_frame(engine, SERIES)
    periods = scores[scores["target"] == "period"]
    assert len(periods) == 20
    assert periods["start"].min() == pd.Timestamp("2024-05-30")
    assert periods["truth"].tolist() == truth["count"].astype(float).tolist()
    assert set(periods["model_version"]) == {"1"} and set(periods["kind"]) == {"champion"}
    # the CRPS is that of the stored sample paths on the ingested count
    stored = current_forecast(engine, SERIES)
    assert stored is not None and stored.samples is not None
    expected = sr.crps_ensemble(truth["count"].to_numpy(float), stored.samples[:, :20].T * 1.0)
    assert np.allclose(periods["crps"].to_numpy(float), expected)
    # climatology at the same origin is the reference; both are finite and positive
    assert (periods["baseline_crps"].astype(float) > 0).all()
    # window totals: 7 and 14 days are complete, 28 is not
    windows = scores[scores["target"] == "window"]
    assert sorted(windows["days"]) == [7, 14]
    week = windows[windows["days"] == 7].iloc[0]
    assert week["truth"] == float(truth["count"].iloc[:7].sum())
    assert set(scores["coverage_80"].astype(float)) <= {0.0, 1.0}
    assert ((scores["pit"] >= 0) & (scores["pit"] <= 1)).all()
    # rescoring the same truth changes nothing
    again = score_served(engine, SERIES)
    assert (again.counts.inserted, again.counts.changed) == (0, 0)
    assert again.counts.unchanged == len(scores)
    capsys.readouterr()
    assert main(["accuracy", "--series", SERIES, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["overall"]["n"] == 20
    assert main(["accuracy", "--series", SERIES]) == 0  # the table: per forecast and all
    table = capsys.readouterr().out.splitlines()
    rows = [ln.split() for ln in table if ln.split()[:1] in (["2024-05-29"], ["all"])]
    crps = f"{body['overall']['crps']:.1f}"
    assert [r[0] for r in rows] == ["2024-05-29", "all"]
    assert all("20" in r and crps in r for r in rows)
    assert body["versions"] == [
        {
            "model": "recent_rate",
            "version": "1",
            "forecasts": 1,
            "n": 20,
            "crps": body["overall"]["crps"],
            "baseline_crps": body["overall"]["baseline_crps"],
            "coverage_80": body["overall"]["coverage_80"],
        }
    ]
    assert body["forecasts"][0]["origin"] == "2024-05-29"
    assert set(body["forecasts"][0]["windows"]) == {"7", "14"}
    assert body["rolling"]["n"] == 20 and body["rolling"]["alarm"] is False


def test_a_late_correction_rescores_and_records_the_change(home: tuple[Path, Engine]) -> None:
    _, engine = home
    truth = _counts().iloc[150:178]
    ingest_counts(engine, [_as_text(truth)], source="synthetic")
    first = score_served(engine, SERIES)
    assert first.counts.inserted == 28 + 3  # every day, and the 7/14/28-day windows
    before = scores_frame(engine, SERIES).set_index(["target", "start", "span"])
    # the count of 2024-06-02 (day 4 of the forecast) is corrected upwards
    fixed = truth.iloc[[3]].assign(count=int(truth["count"].iloc[3]) + 30)
    ingest_counts(engine, [_as_text(fixed)], source="synthetic")
    second = score_served(engine, SERIES)
    # that day and every window holding it (7, 14 and 28 days) changed
    assert second.counts.changed == 4 and second.counts.inserted == 0
    after = scores_frame(engine, SERIES).set_index(["target", "start", "span"])
    day = after.loc[("period", pd.Timestamp("2024-06-02"), 1)]
    old = before.loc[("period", pd.Timestamp("2024-06-02"), 1)]
    assert day["truth"] == old["truth"] + 30
    assert day["previous_truth"] == old["truth"] and day["previous_crps"] == old["crps"]
    assert day["crps"] > old["crps"] and day["revisions"] == 1
    assert day["changed_at"] is not None
    untouched = after.loc[("period", pd.Timestamp("2024-06-03"), 1)]
    assert untouched["revisions"] == 0 and pd.isna(untouched["changed_at"])
    assert untouched["crps"] == before.loc[("period", pd.Timestamp("2024-06-03"), 1)]["crps"]
    week = after.loc[("window", pd.Timestamp("2024-05-30"), 7)]
    assert week["revisions"] == 1 and week["truth"] == week["previous_truth"] + 30


def test_counts_posted_to_the_api_get_the_served_forecast_scored(
    home: tuple[Path, Engine],
) -> None:
    tmp, engine = home
    key = create_key(engine, "writer", ("write",))[0]
    rows = [
        {"date": d, "count": int(c)}
        for d, c in zip(
            _counts()["date"].iloc[150:164], _counts()["count"].iloc[150:164], strict=True
        )
    ]
    with TestClient(create_app(Settings(home=tmp, rescore_debounce_seconds=0))) as client:
        empty = client.get(f"/v1/series/{SERIES}/accuracy").json()
        assert empty["overall"]["n"] == 0 and empty["forecasts"] == []
        r = client.post(
            "/v1/counts",
            json={"series": SERIES, "source": "synthetic", "rows": rows},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 200 and r.json()["inserted"] == 14
        assert client.app.state.rescore_queue.wait_idle(60)  # type: ignore[attr-defined]
        body = client.get(f"/v1/series/{SERIES}/accuracy").json()
        later = client.get(f"/v1/series/{SERIES}/accuracy", params={"since": "2024-06-06"}).json()
        assert client.get("/v1/series/nope/accuracy").status_code == 404
        # a kind never stored is a typo, not an empty report
        typo = client.get(f"/v1/series/{SERIES}/accuracy", params={"kind": "champoin"})
        assert typo.status_code == 422
        assert "expected 'champion' or a kind stored" in typo.text and "'champoin'" in typo.text
    assert body["overall"]["n"] == 14
    assert [d["date"] for d in body["days"]][:2] == ["2024-05-30", "2024-05-31"]
    assert body["days"][-1]["rolling_coverage_80"] is not None
    assert later["overall"]["n"] == 7
