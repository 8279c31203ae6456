"""Many-series retrains: Dask equals serial, failures isolated, registry written on change.

Counts are drawn by code (weekly Poisson counts of synthetic members); nothing is real.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from cadence.experiments.backtest import ModelConfig
from cadence.experiments.executors import DaskExecutor
from cadence.experiments.model_registry import registered_name
from cadence.experiments.tracking import mlflow_client, quiet_mlflow
from cadence.features.future import Scenario
from cadence.jobs.retrain.many import ManyRetrain, retrain_many
from cadence.jobs.scenarios import ForecasterCache, scenario_forecast
from cadence.service.cli import main
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.forecasts_repo import current_forecast
from cadence.store.ingest import ingest_counts
from cadence.store.jobs_repo import get_job

FAMILY = "synthetic-fam"
GOOD = [f"{FAMILY}/{x}" for x in ("a", "b", "c", "d")]
SHORT = f"{FAMILY}/short"  # three weeks: no origin with a horizon after it
MODELS = (ModelConfig("climatology"), ModelConfig("recent_rate"), ModelConfig("local_level"))
FAST: dict[str, Any] = {"horizon": 4, "recent_origins": 2, "every": 4, "n_samples": 100}
CLI_FAST = ["--horizon", "4", "--origins", "2", "--every", "4", "--samples", "100"]


def _counts(weeks: int, first: int = 0, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2022-01-03", periods=first + weeks, freq="W-MON")[first:]
    rows = [
        (name, day.strftime("%Y-%m-%d"), str(rng.poisson(2.0 + 2 * i)))
        for i, name in enumerate(GOOD)
        for day in days
    ]
    rows += [(SHORT, day.strftime("%Y-%m-%d"), "1") for day in days[:3]] if not first else []
    return pd.DataFrame(rows, columns=["series", "date", "count"])


def _home(path: Path) -> tuple[Engine, str]:
    path.mkdir()
    engine = make_engine(f"sqlite:///{path / 'cadence.db'}")
    migrate.upgrade(engine)
    ingest_counts(engine, [_counts(70)], frequency="W", source="synthetic")
    return engine, f"sqlite:///{path / 'mlflow.db'}"


def _summary(run: ManyRetrain) -> list[dict[str, Any]]:
    keep = ("series", "status", "reason", "champion", "crps", "skill_vs_climatology")
    return [{k: o.as_dict()[k] for k in keep} for o in run.outcomes]


def test_dask_equals_serial_and_a_failing_series_is_isolated(tmp_path: Path) -> None:
    names = [*GOOD, SHORT]
    serial_engine, serial_uri = _home(tmp_path / "serial")
    dask_engine, dask_uri = _home(tmp_path / "dask")
    try:
        serial = retrain_many(
            serial_engine, names, tracking_uri=serial_uri, candidates=MODELS, **FAST
        )
        with DaskExecutor(workers=2, processes=False, local_directory=tmp_path / "w") as ex:
            parallel = retrain_many(
                dask_engine, names, tracking_uri=dask_uri, candidates=MODELS, executor=ex, **FAST
            )
        assert _summary(parallel) == _summary(serial)
        by_name = {o.series: o for o in parallel.outcomes}
        assert by_name[SHORT].status == "failed"
        assert by_name[SHORT].reason.startswith("fit: ExperimentError")
        assert get_job(dask_engine, str(by_name[SHORT].job_id)).status == "failed"
        assert all(by_name[n].status == "promoted" for n in GOOD)
        assert "local_level" in by_name[GOOD[0]].crps
        for name in GOOD:
            a = current_forecast(serial_engine, name)
            b = current_forecast(dask_engine, name)
            assert a is not None and b is not None and a.samples is not None
            assert np.array_equal(a.samples, b.samples)
            assert a.payload["periods"] == b.payload["periods"]
        assert current_forecast(dask_engine, SHORT) is None
        # the with/without-drivers record of every served series, as single retrains keep
        for name in GOOD:
            details = get_job(dask_engine, str(by_name[name].job_id)).details
            assert details["drivers"]["used"] == [] and details["drivers"]["ablated"] is False
            assert "uses no retaliation or statement driver" in details["drivers"]["note"]
            assert details["backtest"]["drivers"] == details["drivers"]
    finally:
        serial_engine.dispose()
        dask_engine.dispose()


def _versions(uri: str, name: str) -> list[str]:
    with quiet_mlflow():
        found = mlflow_client(uri).search_model_versions(f"name = '{registered_name(name)}'")
    return sorted(str(v.version) for v in found)


def test_a_champion_that_stays_is_served_without_a_new_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, uri = _home(tmp_path / "home")
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    for var in ("CADENCE_DATABASE_URL", "CADENCE_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    args = ["retrain", "--series", f"{FAMILY}/[abcd]", "--json", *CLI_FAST]
    args += ["--models", "climatology,recent_rate"]
    try:
        assert main(args) == 0
        first = {o["series"]: o for o in json.loads(capsys.readouterr().out)["series"]}
        before = {n: _versions(uri, n) for n in GOOD}
        ingest_counts(engine, [_counts(1, first=70, seed=4)], frequency="W", source="synthetic")
        assert main(args) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["summary"]["statuses"] == {"kept": 4}
        # 4 series x 2 models x 2 origins; a series whose grid point came up fits the
        # pairs of its new origin, the rest come from the store
        pairs = doc["summary"]["timing"]["scores"]
        assert pairs["reused"] + pairs["fitted"] == 16 and pairs["reused"] >= 8
        assert main([*args, "--refit-all"]) == 0
        refit = json.loads(capsys.readouterr().out)
        assert refit["summary"]["timing"]["scores"] == {"reused": 0, "fitted": 16}
        assert [o["crps"] for o in refit["series"]] == [o["crps"] for o in doc["series"]]
        doc = refit  # the served forecasts are now the refit's
        for o in doc["series"]:
            name = o["series"]
            assert _versions(uri, name) == before[name]  # nothing registered
            assert o["champion_version"] == first[name]["champion_version"]
            served = current_forecast(engine, name)
            assert served is not None and served.model_version == o["champion_version"]
            assert served.id == o["forecast_id"] != first[name]["forecast_id"]
            assert (
                served.origin == (pd.Timestamp(first[name]["origin"]) + pd.Timedelta("7D")).date()
            )
            assert get_job(engine, o["job_id"]).details["registered"] is False
        # what-if forecasts refit the kept version's configuration at the served origin
        name = GOOD[1]
        served = current_forecast(engine, name)
        assert served is not None
        body = scenario_forecast(
            engine,
            name,
            Scenario(),
            tracking_uri=uri,
            cache=ForecasterCache(),
            n_samples=100,
            seed=0,
        )
        assert body["origin"] == served.origin.isoformat()
        assert body["baseline"]["periods"] == served.payload["periods"]
    finally:
        engine.dispose()


def test_a_driver_using_champion_gets_its_ablation_in_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker side of a many-series retrain: the served NB GLM (it reads the strike
    columns of the synthetic events series) is backtested again without them on the same
    origins, and both scores come back with the fit."""
    from cadence.experiments.data import load_series_data
    from cadence.jobs.retrain import batch
    from cadence.service.catalog import apply_catalog_file
    from cadence.store.ingest import ingest_events, ingest_statements
    from tests.conftest import SYNTHETIC_CATALOG
    from tests.service.test_api_models import SERIES, _events, _statements

    engine = make_engine(f"sqlite:///{tmp_path / 'cadence.db'}")
    migrate.upgrade(engine)
    (tmp_path / "catalog.yaml").write_text(SYNTHETIC_CATALOG)
    apply_catalog_file(engine, tmp_path / "catalog.yaml")
    ingest_events(engine, [_events()])
    ingest_statements(engine, [_statements()])
    data = load_series_data(engine, SERIES)
    engine.dispose()
    chosen = batch.Decision("negbin_glm", True, "chosen by the test", eligible=("negbin_glm",))
    monkeypatch.setattr(batch, "_decide", lambda *a, **k: chosen)
    settings = batch.RetrainSettings(
        candidates=(ModelConfig("negbin_glm"),),
        recent_origins=4,
        every=7,
        horizon=14,
        n_samples=200,
        n_boot=100,
    )
    (fit,) = batch.fit_batch(settings, [(data, batch.SeriesTask(SERIES))])
    assert fit.error is None and fit.config is not None and fit.config.key == "negbin_glm"
    record = fit.drivers
    assert record is not None and record["ablated"] is True
    assert any(c.startswith("ret_") for c in record["used"])
    assert record["with"]["crps"] > 0 and record["without"]["crps"] > 0
    assert record["with"]["crps"] != record["without"]["crps"]
