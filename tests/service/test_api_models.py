"""Effects, backtest, scenarios, retrain and jobs endpoints, on a synthetic events series
(attacks drawn by code, more frequent in the days after a synthetic strike) retrained
once for real (local SQLite and MLflow stores)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cadence.experiments.backtest import ModelConfig
from cadence.jobs.retrain import job as RT
from cadence.service.api import create_app
from cadence.service.catalog import apply_catalog_file
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.apikeys_repo import create_key
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import current_forecast
from cadence.store.ingest import ingest_events, ingest_statements
from cadence.store.jobs_repo import get_job
from tests.conftest import SYNTHETIC_CATALOG

SERIES = "synthetic-attacks"
FAST: dict[str, Any] = dict(recent_origins=8, every=7, horizon=14, n_samples=300, n_boot=200)


def _events(seed: int = 11, days: int = 320) -> pd.DataFrame:
    """Synthetic: strikes about every 30 days; attacks at 0.2/day plus 10/day after each
    strike, decaying with a three-week time constant."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=days, freq="D")
    strike = rng.random(days) < 1 / 30
    kernel = 10.0 * np.exp(-np.arange(90) / 21.0)
    kernel[0] = 0.0
    rate = 0.2 + np.convolve(strike.astype(float), kernel, mode="full")[:days]
    attacks = rng.poisson(rate)
    rows = []
    for i, d in enumerate(dates):
        for j in range(int(attacks[i])):
            rows.append((d, "attack", f"a-{i}-{j}"))
        if strike[i]:
            rows.append((d, "retaliation", f"r-{i}"))
    return pd.DataFrame(
        {
            "date": [r[0].strftime("%Y-%m-%d") for r in rows],
            "kind": [r[1] for r in rows],
            "target": "US forces",
            "country": "Iraq",
            "source": "synthetic",
            "source_id": [r[2] for r in rows],
        }
    )


def _statements(days: int = 320) -> pd.DataFrame:
    dates = pd.date_range("2023-01-05", periods=days // 20, freq="20D")
    stances = ["escalation", "de-escalation"] * len(dates)
    return pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "text": "synthetic statement",
            "stance": stances[: len(dates)],
            "source": "synthetic",
            "source_id": [f"s-{i}" for i in range(len(dates))],
        }
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose synthetic series was retrained once (negbin_glm champion)."""
    return retrained_home(tmp_path_factory.mktemp("models-api"))


def synthetic_store(root: Path) -> Engine:
    """A SQLite database in ``root`` holding the synthetic series' catalog, events and
    statements (an engine on it; the caller disposes of it)."""
    (root / "catalog.yaml").write_text(SYNTHETIC_CATALOG)
    engine = make_engine(f"sqlite:///{root / 'cadence.db'}")
    migrate.upgrade(engine)
    apply_catalog_file(engine, root / "catalog.yaml")
    ingest_events(engine, [_events()])
    ingest_statements(engine, [_statements()])
    return engine


def retrained_home(root: Path, **retrain: Any) -> Path:
    """``root`` made a home whose synthetic series was retrained once with ``retrain``'s
    extra arguments, the NB GLM (it reads the strike columns) serving."""
    engine = synthetic_store(root)
    # the promotion rule is tested elsewhere; here the regression must serve, whatever
    # its skill on this short series, so the endpoints have effects to show
    serve_negbin = RT.Decision("negbin_glm", True, "chosen by the test", eligible=("negbin_glm",))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(RT, "decide", lambda *a, **k: serve_negbin)
        out = RT.retrain(
            engine,
            SERIES,
            tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
            candidates=[ModelConfig("negbin_glm")],
            plots=False,
            **FAST,
            **retrain,
        )
    assert out.status == RT.PROMOTED and out.champion == "negbin_glm", out.reason
    engine.dispose()
    return root


def _settings(home: Path, **kw: Any) -> Settings:
    return Settings(home=home, retrain_models="climatology,recent_rate", **kw)


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(home))) as c:
        yield c


def _served(home: Path) -> Any:
    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    try:
        return current_forecast(engine, SERIES, with_samples=True)
    finally:
        engine.dispose()


# --- effects and backtest ---------------------------------------------------------------------


def test_effects_are_the_champions_and_show_the_strike_effect(
    client: TestClient, home: Path
) -> None:
    r = client.get(f"/v1/series/{SERIES}/effects")
    assert r.status_code == 200, r.text
    body = r.json()
    served = _served(home)
    assert body["model"] == {
        "name": "negbin_glm",
        "version": served.model_version,
        "run_id": served.run_id,
    }
    by = {e["feature"]: e for e in body["effects"]}
    strike = [v for k, v in by.items() if k.startswith("ret_")]
    assert strike, f"no retaliation effect in {sorted(by)}"
    # attacks quadruple after a synthetic strike: some retaliation IRR is clearly above 1
    assert max(e["lower"] for e in strike) > 1.0
    for e in body["effects"]:
        assert e["lower"] <= e["irr"] <= e["upper"]
    again = client.get(f"/v1/series/{SERIES}/effects", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_backtest_has_the_cli_shape_and_the_champion(client: TestClient) -> None:
    r = client.get(f"/v1/series/{SERIES}/backtest")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["champion"] == "negbin_glm" and body["horizon"] == 14
    assert len(body["origins"]) == 8 and body["frequency"] == "D"
    overall = {s["model"]: s for s in body["scores"] if s["horizon"] == "all"}
    assert {"negbin_glm", "climatology"} <= set(overall)
    assert body["skill_vs_climatology"]["climatology"] == pytest.approx(0.0)
    assert set(body["mlflow_run_ids"]) >= {"negbin_glm"}
    assert get_job_id_matches(body)


def get_job_id_matches(body: dict[str, Any]) -> bool:
    return isinstance(body["job_id"], str) and len(body["job_id"]) == 36


def test_unknown_series_and_series_without_forecast_are_404(client: TestClient) -> None:
    for path in ("effects", "backtest"):
        r = client.get(f"/v1/series/nope/{path}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


# --- scenarios --------------------------------------------------------------------------------


def _first_day(home: Path) -> dt.date:
    return dt.date.fromisoformat(_served(home).payload["periods"][0]["date"])


def test_scenario_baseline_is_the_served_forecast(client: TestClient, home: Path) -> None:
    day = _first_day(home)
    served = _served(home)
    body = {"events": [{"type": "statement", "date": str(day), "stance": "neutral"}]}
    r = client.post(f"/v1/series/{SERIES}/scenarios", json={**body, "n_samples": 300})
    assert r.status_code == 200, r.text
    out = r.json()
    # the flag and the note tell whether the events moved the forecast, not pretend
    moved = out["scenario"]["periods"] != out["baseline"]["periods"]
    assert out["uses_drivers"] is moved and (out["note"] is None) is moved
    assert out["origin"] == served.payload["origin"]
    # same model, origin, future and seed as the served forecast: the same means
    base_means = [p["mean"] for p in out["baseline"]["periods"]]
    assert base_means == pytest.approx([p["mean"] for p in served.payload["periods"]], abs=1e-6)


def test_a_strike_raises_the_forecast_and_the_difference_is_consistent(
    client: TestClient, home: Path
) -> None:
    day = _first_day(home)
    r = client.post(
        f"/v1/series/{SERIES}/scenarios",
        json={"events": [{"type": "retaliation", "date": str(day)}], "n_samples": 500},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["uses_drivers"] is True and out["note"] is None
    week = {w["days"]: w for w in out["difference"]["windows"]}[7]
    base7 = {w["days"]: w for w in out["baseline"]["windows"]}[7]["mean"]
    scen7 = {w["days"]: w for w in out["scenario"]["windows"]}[7]["mean"]
    assert week["mean"] == pytest.approx(scen7 - base7, abs=1e-5)
    assert week["mean"] > 0, "a synthetic strike raises the next week's attacks"
    first = out["difference"]["periods"][0]
    assert first["date"] == str(day)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"n_samples": 5000}, "n_samples"),
        ({"horizon": 40}, "horizon"),
        ({"events": [{"type": "retaliation", "date": "2020-01-01"}]}, "forecast horizon"),
        ({"events": [{"type": "retaliation", "date": "DAY"}] * 3}, "at most 2"),
    ],
)
def test_scenarios_beyond_the_limits_are_422(
    home: Path, change: dict[str, Any], needle: str
) -> None:
    day = str(_first_day(home))
    body: dict[str, Any] = {"events": [{"type": "retaliation", "date": day}], **change}
    body["events"] = [
        {**e, "date": day if e["date"] == "DAY" else e["date"]} for e in body["events"]
    ]
    app = create_app(_settings(home, scenario_max_samples=1000, scenario_max_events=2))
    with TestClient(app) as c:
        r = c.post(f"/v1/series/{SERIES}/scenarios", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "limit_exceeded" and needle in r.json()["error"]["message"]


def test_a_scenario_over_the_time_limit_is_422(home: Path) -> None:
    day = str(_first_day(home))
    app = create_app(_settings(home, scenario_timeout_seconds=0.001))
    with TestClient(app) as c:
        r = c.post(
            f"/v1/series/{SERIES}/scenarios",
            json={"events": [{"type": "retaliation", "date": day}], "n_samples": 2000},
        )
    assert r.status_code == 422 and "longer than" in r.json()["error"]["message"]


def test_malformed_scenario_events_are_422_naming_the_field(client: TestClient) -> None:
    r = client.post(
        f"/v1/series/{SERIES}/scenarios",
        json={"events": [{"type": "statement", "date": "2024-01-01", "stance": "angry"}]},
    )
    assert r.status_code == 422
    assert any("stance" in d["loc"] for d in r.json()["error"]["details"])


# --- retrain and jobs -------------------------------------------------------------------------


def _admin_and_reader(home: Path) -> tuple[str, str]:
    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    try:
        admin, _ = create_key(engine, "ops", ("admin",))
        reader, _ = create_key(engine, "dash", ("read",))
    finally:
        engine.dispose()
    return admin, reader


def test_retrain_needs_the_admin_scope(client: TestClient, home: Path) -> None:
    _, reader = _admin_and_reader(home)
    assert client.post("/v1/retrain", json={}).status_code == 401
    r = client.post("/v1/retrain", json={}, headers={"Authorization": f"Bearer {reader}"})
    assert r.status_code == 403


def test_retrain_of_an_unknown_series_starts_nothing(client: TestClient, home: Path) -> None:
    admin, _ = _admin_and_reader(home)
    r = client.post(
        "/v1/retrain",
        json={"series": [SERIES, "nope"]},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 404
    assert client.get("/v1/jobs", params={"series": SERIES}).json()[0]["status"] == "succeeded"


def test_retrain_runs_in_the_background_and_its_job_is_visible(home: Path, tmp_path: Path) -> None:
    # a copy of the home, so the shared champion stays as the other tests expect
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    admin, _ = _admin_and_reader(copy)
    auth = {"Authorization": f"Bearer {admin}"}
    with TestClient(create_app(_settings(copy))) as c:
        engine = c.app.state.engine  # type: ignore[attr-defined]
        r = c.post("/v1/retrain", json={"series": [SERIES]}, headers=auth)
        assert r.status_code == 202, r.text
        (job,) = r.json()["jobs"]
        again = c.post("/v1/retrain", json={"series": [SERIES]}, headers=auth)
        assert again.status_code == 202 and again.json()["jobs"] == []
        assert again.json()["refused"][0]["series"] == SERIES
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = c.get(f"/v1/jobs/{job['id']}").json()
            if status["status"] != "running":
                break
            time.sleep(0.5)
        assert status["status"] == "succeeded", status
        assert "backtest" not in (status["details"] or {})
        assert get_job(engine, job["id"]).details["decision"]
        assert c.get("/v1/jobs/not-a-job").status_code == 404


def test_a_champion_that_ignores_drivers_says_the_scenario_changes_nothing(home: Path) -> None:
    from cadence.experiments.data import load_series_data
    from cadence.experiments.model_registry import CadenceForecaster
    from cadence.features.future import Scenario
    from cadence.jobs.scenarios import ForecasterCache, scenario_forecast
    from cadence.models.baselines import Climatology

    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    try:
        data = load_series_data(engine, SERIES)
        origin = pd.Timestamp(_served(home).payload["origin"])
        wrapper = CadenceForecaster(
            Climatology().fit(data.panel(origin).frame),
            series=SERIES,
            frequency="D",
            origin=origin,
            max_horizon=14,
            future=None,
        )

        class Loaded:
            def unwrap_python_model(self) -> CadenceForecaster:
                return wrapper

        cache = ForecasterCache(loader=lambda *a, **k: Loaded())
        day = origin + pd.Timedelta(days=1)
        out = scenario_forecast(
            engine,
            SERIES,
            Scenario().with_retaliation(day, severity=3),
            tracking_uri="unused",
            cache=cache,
            n_samples=200,
        )
    finally:
        engine.dispose()
    assert out["uses_drivers"] is False and "does not respond" in out["note"]
    assert out["scenario"]["periods"] == out["baseline"]["periods"]
    assert all(p["mean"] == 0 for p in out["difference"]["periods"])


def test_simulated_driver_futures_keep_the_baseline_reproducible_and_the_difference_the_scenarios(
    client: TestClient, home: Path
) -> None:
    from cadence.experiments.data import load_series_data
    from cadence.experiments.driver_futures import DriverFuturesConfig, forecast_over_drivers
    from cadence.features.future import Scenario
    from cadence.jobs.scenarios import ForecasterCache, scenario_forecast

    day = _first_day(home)
    body = {
        "events": [{"type": "retaliation", "date": str(day)}],
        "n_samples": 400,
        "driver_futures": "simulated",
        "driver_paths": 8,
    }
    a = client.post(f"/v1/series/{SERIES}/scenarios", json=body)
    b = client.post(f"/v1/series/{SERIES}/scenarios", json=body)
    assert a.status_code == 200 and b.status_code == 200, a.text
    first, again = a.json(), b.json()
    # same seed, same simulated futures: the same paths, to the last digit
    for part in ("baseline", "scenario"):
        assert first[part]["periods"] == again[part]["periods"]
    assert first["difference"] == again["difference"]
    futures = first["driver_futures"]
    assert futures["mode"] == "simulated" and futures["paths"] == 8
    assert futures["fit"]["retaliation"]["rate_per_day"] > 0
    week = {w["days"]: w for w in first["difference"]["windows"]}[7]
    assert week["mean"] > 0, "a strike on top of the simulated ones still raises the week"

    served = _served(home)
    tracking_uri = _settings(home).resolved_tracking_uri
    wrapper = ForecasterCache().get(tracking_uri, SERIES, str(served.model_version))
    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    try:
        data = load_series_data(engine, SERIES)
        simulated = DriverFuturesConfig("simulated", paths=8)
        # the baseline is the champion's forecast over the simulated futures, same seed
        expected = forecast_over_drivers(
            wrapper.model, data, wrapper.origin, 14, n_samples=400, seed=0, config=simulated
        )
        nothing = scenario_forecast(
            engine,
            SERIES,
            Scenario(),
            tracking_uri=tracking_uri,
            cache=ForecasterCache(),
            n_samples=400,
            drivers=simulated,
        )
    finally:
        engine.dispose()
    base_means = [p["mean"] for p in first["baseline"]["periods"]]
    assert base_means == pytest.approx(expected.mean().tolist(), abs=1e-6)
    # the deterministic served forecast expects no strike: a different baseline
    assert base_means != pytest.approx([p["mean"] for p in served.payload["periods"]], abs=1e-6)
    # a scenario without events differs from its baseline by exactly nothing
    assert nothing["baseline"]["periods"] == nothing["scenario"]["periods"]
    assert all(p["mean"] == 0 and p["p_any"] == 0 for p in nothing["difference"]["periods"])
    assert nothing["uses_drivers"] is False


# --- replays -------------------------------------------------------------------------------


def test_a_forecast_as_of_a_day_is_the_champion_replayed_on_what_was_known(
    client: TestClient, home: Path
) -> None:
    """``GET .../forecast?as_of=DAY`` refits the champion's configuration on the rows
    dated up to DAY and forecasts the periods after it, as ``cadence forecast --as-of``;
    it is never taken from the stored forecast's cache."""
    from cadence.jobs.replay import replay_forecast

    served = _served(home)
    day = (pd.Timestamp(served.origin) - pd.Timedelta(days=40)).date()
    r = client.get(f"/v1/series/{SERIES}/forecast", params={"as_of": str(day), "horizon": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == str(day) and body["origin"] == str(day)
    assert body["model"]["name"] == "negbin_glm" and len(body["periods"]) == 7
    assert r.headers["cache-control"] == "no-store" and "etag" not in r.headers
    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    try:
        expected = replay_forecast(
            engine, SERIES, day, tracking_uri=_settings(home).resolved_tracking_uri, horizon=7
        )
    finally:
        engine.dispose()
    assert [p["mean"] for p in body["periods"]] == [p["mean"] for p in expected["periods"]]
    # the stored forecast is still what a plain read serves
    plain = client.get(f"/v1/series/{SERIES}/forecast").json()
    assert plain["origin"] == served.payload["origin"] != body["origin"]
    named = client.get(
        f"/v1/series/{SERIES}/forecast",
        params={"as_of": str(day), "model": "climatology", "quantiles": "0.5"},
    )
    assert named.status_code == 200 and named.json()["model"]["name"] == "climatology"
    assert set(named.json()["periods"][0]["quantiles"]) == {"0.5"}


def test_bad_replays_are_refused_with_a_reason(client: TestClient) -> None:
    path = f"/v1/series/{SERIES}/forecast"
    alone = client.get(path, params={"model": "climatology"})
    assert alone.status_code == 422 and "as_of" in alone.text
    assert client.get(path, params={"as_of": "10/02/2024"}).status_code == 422
    early = client.get(path, params={"as_of": "2000-01-01"})
    assert early.status_code == 422 and "on or after" in early.text
    # decades past the data: refused before any path is drawn (the model would simulate
    # every day of the gap, about a gigabyte for 2060, more than the machine for 9999)
    for far in ("9999-12-31", "2060-01-01"):
        late = client.get(path, params={"as_of": far})
        assert late.status_code == 422, late.text
        assert f"as-of {far}" in late.text and "expected at most 1,830 days" in late.text
    unknown = client.get(path, params={"as_of": "2023-06-01", "model": "nope"})
    assert unknown.status_code == 422 and "nope" in unknown.text
    assert client.get("/v1/series/none/forecast", params={"as_of": "2023-06-01"}).status_code == 404
