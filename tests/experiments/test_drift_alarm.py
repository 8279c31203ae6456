"""The drift alarm: it fires on a series whose level shifts after its champion's forecast
was served, and not on a stable one; it shows in the metrics and in ``/readyz`` (which
stays ready). The counts are synthetic (Poisson draws by code)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cadence.experiments.accuracy.rolling import DriftBand, accuracy_status
from cadence.experiments.accuracy.scores import score_served
from cadence.experiments.backtest import ModelConfig
from cadence.jobs.replay import replay
from cadence.service.api import create_app
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import NewForecast, write_forecasts
from cadence.store.ingest import ingest_counts
from cadence.store.tables import utcnow

STABLE, SHIFTED = "synthetic-stable", "synthetic-shifted"
TRAIN, HORIZON = 150, 56


def _counts(name: str, after: float, seed: int) -> pd.DataFrame:
    """TRAIN + HORIZON synthetic days: Poisson(4), then Poisson(``after``) once the
    forecast is served."""
    rng = np.random.default_rng(seed)
    n = TRAIN + HORIZON
    mean = np.where(np.arange(n) < TRAIN, 4.0, after)
    dates = pd.date_range("2024-01-01", periods=n, freq="D")
    return pd.DataFrame(
        {"series": name, "date": dates.strftime("%Y-%m-%d"), "count": rng.poisson(mean).astype(str)}
    )


RECENT = ModelConfig("recent_rate")


def _serve(engine: Engine, name: str, config: ModelConfig = RECENT) -> None:
    """Store the champion's 56-day forecast made on day TRAIN (2024-05-29)."""
    body, fc = replay(
        engine,
        name,
        "2024-05-29",
        tracking_uri="sqlite://",
        horizon=HORIZON,
        n_samples=500,
        config=config,
    )
    forecast = NewForecast(
        origin=fc.origin.date(),
        horizon=HORIZON,
        generated_at=utcnow(),
        model_name=config.key,
        payload=body,
        samples=fc.samples,
    )
    write_forecasts(engine, name, [forecast])


def test_the_alarm_fires_on_a_shifted_series_and_not_on_a_stable_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cadence.db'}")
    migrate.upgrade(engine)
    frames = {STABLE: _counts(STABLE, 4.0, seed=1), SHIFTED: _counts(SHIFTED, 12.0, seed=2)}
    for name, frame in frames.items():
        ingest_counts(engine, [frame.iloc[:TRAIN]], frequency="D", source="synthetic")
        _serve(engine, name)
    band = DriftBand()
    for name in frames:  # nothing scored yet: no alarm either way
        assert not accuracy_status(engine, name, band).alarm
    for frame in frames.values():
        ingest_counts(engine, [frame.iloc[TRAIN:]], source="synthetic")
    stable = score_served(engine, STABLE).rolling
    shifted = score_served(engine, SHIFTED).rolling
    assert stable is not None and shifted is not None
    assert stable.n == shifted.n == HORIZON
    assert not stable.alarm, stable.reasons
    assert band.low <= stable.coverage_80 <= band.high
    assert shifted.alarm
    assert shifted.coverage_80 < band.low
    assert any("coverage" in r for r in shifted.reasons)
    # climatology was fitted before the shift too: against it the champion is not worse
    wide = DriftBand(low=0.0, high=1.0)
    assert not accuracy_status(engine, SHIFTED, wide).alarm
    engine.dispose()
    with TestClient(create_app(Settings(home=tmp_path))) as client:
        text = client.get("/metrics").text
        ready = client.get("/readyz")
    assert f'cadence_accuracy_alarm{{series="{SHIFTED}"}} 1.0' in text
    assert f'cadence_accuracy_alarm{{series="{STABLE}"}} 0.0' in text
    assert f'cadence_accuracy_coverage_80_rolling{{series="{STABLE}"}}' in text
    assert ready.status_code == 200
    assert set(ready.json()["checks"]["accuracy_alarms"]) == {SHIFTED}


def test_the_alarm_fires_when_the_champion_scores_worse_than_climatology(tmp_path: Path) -> None:
    """A champion that chased a one-week burst just before its origin forecasts far too
    many once the series is back at its usual level; climatology does not."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cadence.db'}")
    migrate.upgrade(engine)
    name = "synthetic-burst"
    frame = _counts(name, 4.0, seed=3)
    burst = np.random.default_rng(4).poisson(12.0, 7).astype(str)
    frame.loc[TRAIN - 7 : TRAIN - 1, "count"] = burst
    ingest_counts(engine, [frame.iloc[:TRAIN]], frequency="D", source="synthetic")
    _serve(engine, name, ModelConfig("recent_rate", {"window": 7}))
    ingest_counts(engine, [frame.iloc[TRAIN:]], source="synthetic")
    rolling = score_served(engine, name, band=DriftBand(low=0.0, high=1.0)).rolling
    assert rolling is not None and rolling.alarm
    assert rolling.crps_matched > rolling.baseline_crps
    assert [r for r in rolling.reasons if "climatology" in r] == rolling.reasons
    engine.dispose()
