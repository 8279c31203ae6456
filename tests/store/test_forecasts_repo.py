"""Served forecasts: written in one transaction, read back bit for bit, on each backend.
Sample paths here are synthetic (drawn by code)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from cadence.store import forecasts_repo as F
from cadence.store import jobs_repo as J
from cadence.store.errors import NotFoundError
from cadence.store.series_repo import apply_series
from cadence.store.tables import forecasts_table


def _declare(engine: Engine, name: str = "s1") -> None:
    with engine.begin() as conn:
        apply_series(conn, name, "D", observed=False, definition={"name": name})


def _forecast(seed: int, generated: dt.datetime, **kw: object) -> F.NewForecast:
    samples = np.random.default_rng(seed).poisson(3.0, size=(50, 7))
    return F.NewForecast(
        origin=dt.date(2024, 3, 1),
        horizon=7,
        generated_at=generated,
        model_name="climatology",
        payload={"series": "s1", "seed": seed},
        samples=samples,
        **kw,  # type: ignore[arg-type]
    )


T0 = dt.datetime(2024, 3, 2, 6, 0, tzinfo=dt.UTC)


def test_samples_round_trip_exactly() -> None:
    samples = np.random.default_rng(1).negative_binomial(2, 0.1, size=(1000, 28))
    blob = F.encode_samples(samples)
    back = F.decode_samples(blob)
    assert back.dtype == np.int64 and np.array_equal(back, samples)
    assert len(blob) < samples.size * 8 / 2  # compressed well below the raw int64 size
    with pytest.raises(ValueError, match="integer"):
        F.encode_samples(samples.astype(float))


def test_current_forecast_is_the_newest_with_its_samples(engine: Engine) -> None:
    _declare(engine)
    assert F.current_forecast(engine, "s1") is None
    F.write_forecasts(engine, "s1", [_forecast(1, T0)])
    F.write_forecasts(
        engine,
        "s1",
        [_forecast(2, T0 + dt.timedelta(days=7), model_version="3", run_id="abc")],
    )
    cur = F.current_forecast(engine, "s1")
    assert cur is not None
    assert cur.payload == {"series": "s1", "seed": 2}
    assert (cur.model_version, cur.run_id, cur.generated_at) == (
        "3",
        "abc",
        T0 + dt.timedelta(days=7),
    )
    expected = np.random.default_rng(2).poisson(3.0, size=(50, 7))
    assert cur.samples is not None and np.array_equal(cur.samples, expected)
    light = F.current_forecast(engine, "s1", with_samples=False)
    assert light is not None and light.samples is None


def test_undeclared_series_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        F.current_forecast(engine, "nope")
    _declare(engine)
    with pytest.raises(NotFoundError, match="no champion forecast"):
        F.require_current_forecast(engine, "s1")


def test_a_failing_transaction_writes_nothing(engine: Engine) -> None:
    _declare(engine)
    F.write_forecasts(engine, "s1", [_forecast(1, T0)])
    # the second forecast names a series that does not exist: the first is rolled back
    with pytest.raises(NotFoundError), engine.begin() as conn:
        F.write_forecast(conn, "s1", _forecast(5, T0 + dt.timedelta(days=1)))
        F.write_forecast(conn, "missing", _forecast(6, T0 + dt.timedelta(days=1)))
    cur = F.current_forecast(engine, "s1")
    assert cur is not None and cur.payload["seed"] == 1


def test_forecast_and_job_commit_together(engine: Engine) -> None:
    _declare(engine)
    job = J.start_job(engine, J.KIND_RETRAIN, "s1")
    with engine.begin() as conn:
        F.write_forecast(conn, "s1", _forecast(1, T0, job_id=job.id))
        J.finish_job(conn, job.id, J.SUCCEEDED)
    cur = F.current_forecast(engine, "s1")
    assert cur is not None and cur.job_id == job.id
    assert J.get_job(engine, job.id).status == J.SUCCEEDED


def test_history_is_pruned_to_keep(engine: Engine) -> None:
    _declare(engine)
    for i in range(5):
        with engine.begin() as conn:
            F.write_forecast(conn, "s1", _forecast(i, T0 + dt.timedelta(days=i)), keep=3)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(forecasts_table)).scalar()
    assert n == 3
    cur = F.current_forecast(engine, "s1")
    assert cur is not None and cur.payload["seed"] == 4
