"""Served forecasts over simulated driver futures (``CADENCE_DRIVER_FUTURES=simulated``):
the retrain serves the champion's forecast over the simulated strikes and statements, and
a scenario whose body does not say otherwise reproduces it exactly as its baseline, with
the scenario's effect as the difference. Synthetic events (the generator of
``test_api_models``), retrained for real on local SQLite and MLflow stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from cadence.experiments.backtest import ModelConfig
from cadence.experiments.data import load_series_data
from cadence.experiments.driver_futures import DriverFuturesConfig, forecast_over_drivers
from cadence.jobs.replay import replay
from cadence.jobs.retrain import batch
from cadence.jobs.retrain import job as RT
from cadence.jobs.retrain.many import retrain_many
from cadence.jobs.scenarios import ForecasterCache
from cadence.service.api import create_app
from cadence.service.settings import Settings
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import current_forecast
from cadence.store.jobs_repo import get_job
from tests.service.test_api_models import FAST, SERIES, retrained_home, synthetic_store

SIMULATED = DriverFuturesConfig("simulated", paths=6)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose synthetic series was retrained once with simulated driver futures
    (negbin_glm, which reads the strike columns, serves)."""
    return retrained_home(tmp_path_factory.mktemp("served-drivers"), drivers=SIMULATED)


def _settings(home: Path) -> Settings:
    return Settings(home=home, driver_futures="simulated", driver_paths=SIMULATED.paths)


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(home))) as c:
        yield c


def _served_over_simulated_futures(db: Path, tracking_uri: str) -> None:
    """The current forecast of ``SERIES`` in the home database ``db`` is its registered
    champion's forecast over ``SIMULATED`` futures, recorded so in its job, and differs
    from the forecast over the deterministic future (no strike after the origin)."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        served = current_forecast(engine, SERIES, with_samples=True)
        assert served is not None and served.samples is not None
        job = get_job(engine, str(served.job_id))
        data = load_series_data(engine, SERIES)
    finally:
        engine.dispose()
    assert job is not None and job.details["driver_futures"]["mode"] == "simulated"
    assert job.details["driver_futures"]["paths"] == SIMULATED.paths
    wrapper = ForecasterCache().get(tracking_uri, SERIES, str(served.model_version))
    expected = forecast_over_drivers(
        wrapper.model,
        data,
        wrapper.origin,
        FAST["horizon"],
        n_samples=FAST["n_samples"],
        seed=0,
        config=SIMULATED,
    )
    np.testing.assert_array_equal(served.samples, expected.samples)
    plain = wrapper.forecast(FAST["horizon"], n_samples=FAST["n_samples"], seed=0)
    assert not np.array_equal(served.samples, plain.samples)


def test_the_served_forecast_is_the_champion_over_simulated_futures(home: Path) -> None:
    _served_over_simulated_futures(home / "cadence.db", _settings(home).resolved_tracking_uri)


def test_a_scenario_reproduces_the_served_forecast_and_adds_its_effect(
    client: TestClient, home: Path
) -> None:
    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    try:
        served = current_forecast(engine, SERIES, with_samples=False)
    finally:
        engine.dispose()
    assert served is not None
    day = served.payload["periods"][0]["date"]
    n = FAST["n_samples"]
    nothing = client.post(
        f"/v1/series/{SERIES}/scenarios",
        json={"events": [{"type": "statement", "date": day, "stance": "neutral"}], "n_samples": n},
    )
    strike = client.post(
        f"/v1/series/{SERIES}/scenarios",
        json={"events": [{"type": "retaliation", "date": day}], "n_samples": n},
    )
    assert nothing.status_code == 200 and strike.status_code == 200, nothing.text
    base = strike.json()["baseline"]["periods"]
    # the body named no driver futures: the service's setting, as the served forecast
    assert base == served.payload["periods"]
    assert strike.json()["driver_futures"]["mode"] == "simulated"
    week = {w["days"]: w for w in strike.json()["difference"]["windows"]}[7]
    assert week["mean"] > 0, "a strike on top of the simulated ones raises the week"
    # a deterministic request still gets the deterministic baseline
    plain = client.post(
        f"/v1/series/{SERIES}/scenarios",
        json={
            "events": [{"type": "retaliation", "date": day}],
            "n_samples": n,
            "driver_futures": "none",
        },
    )
    assert plain.status_code == 200 and plain.json()["baseline"]["periods"] != base


def test_a_many_series_retrain_serves_over_simulated_futures_too(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The family retrain (``retrain_many``) honours the same setting."""
    root = tmp_path_factory.mktemp("many-drivers")
    engine = synthetic_store(root)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    serve_negbin = RT.Decision("negbin_glm", True, "chosen by the test", eligible=("negbin_glm",))
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(batch, "decide_unproven", lambda *a, **k: serve_negbin)
            run = retrain_many(
                engine,
                [SERIES],
                tracking_uri=uri,
                candidates=[ModelConfig("negbin_glm")],
                drivers=SIMULATED,
                **FAST,
            )
    finally:
        engine.dispose()
    assert run.outcomes[0].champion == "negbin_glm", run.outcomes[0].reason
    _served_over_simulated_futures(root / "cadence.db", uri)


def test_a_known_at_replay_reproduces_the_served_forecast_over_simulated_futures(
    home: Path,
) -> None:
    """``replay`` with the service's driver futures, at the served forecast's origin and
    generation instant, draws exactly the served paths; without them it does not."""
    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    try:
        served = current_forecast(engine, SERIES, with_samples=True)
        assert served is not None and served.samples is not None
        common = dict(
            tracking_uri=_settings(home).resolved_tracking_uri,
            horizon=FAST["horizon"],
            n_samples=FAST["n_samples"],
            seed=0,
            known_at=served.generated_at,
        )
        body, fc = replay(engine, SERIES, served.origin, drivers=SIMULATED, **common)
        _, plain = replay(engine, SERIES, served.origin, **common)
    finally:
        engine.dispose()
    np.testing.assert_array_equal(fc.samples, served.samples)
    assert body["driver_futures"]["mode"] == "simulated"
    assert body["periods"] == served.payload["periods"]
    assert not np.array_equal(plain.samples, served.samples)
