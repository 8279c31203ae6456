"""Forecasts over simulated driver futures: reproducible, unchanged for models without
drivers, and scenarios still measure only their own events (synthetic data: every row is
generated here and labelled ``synthetic``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.columns import DATE, KIND, SOURCE, STANCE, TARGET
from cadence.experiments.backtest import ModelConfig, fit_and_forecast, run_backtest
from cadence.experiments.data import SeriesData, period_end
from cadence.experiments.driver_futures import (
    DriverFuturesConfig,
    forecast_over_drivers,
    uses_drivers,
)
from cadence.experiments.errors import ExperimentError
from cadence.features import Scenario, SeriesSpec
from cadence.models.baselines import Climatology
from cadence.models.negbin_glm import NegBinGLM

SPEC = {
    "name": "synthetic-attacks",
    "frequency": "D",
    "target": {"events": {"kind": "attack"}},
    "drivers": {"retaliation": {"kind": "retaliation"}, "statements": {"source": "synthetic"}},
}
SIMULATED = DriverFuturesConfig("simulated", paths=10)
ORIGIN = pd.Timestamp("2024-08-17")
H = 14


def _data(days: int = 240, seed: int = 4) -> SeriesData:
    """Strikes on about one day in eight; attacks at 1/day plus 6/day after a strike,
    decaying over a week."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    strike = rng.random(days) < 1 / 8
    kernel = 6.0 * np.exp(-np.arange(60) / 7.0)
    kernel[0] = 0.0
    n = rng.poisson(1.0 + np.convolve(strike.astype(float), kernel)[:days])
    attacks = pd.DataFrame({DATE: np.repeat(dates.to_numpy(), n), KIND: "attack"})
    ret = pd.DataFrame({DATE: dates[strike], KIND: "retaliation"})
    events = pd.concat([attacks, ret], ignore_index=True).sort_values(DATE, kind="stable")
    events[TARGET] = "US forces"
    events[SOURCE] = "synthetic"
    events[DATE] = events[DATE].astype("datetime64[s]")
    sdates = dates[3::15]
    statements = pd.DataFrame(
        {DATE: sdates.astype("datetime64[s]"), STANCE: "escalation", SOURCE: "synthetic"}
    )
    return SeriesData(SeriesSpec.from_dict(SPEC), events.reset_index(drop=True), statements, None)


@pytest.fixture(scope="module")
def data() -> SeriesData:
    return _data()


@pytest.fixture(scope="module")
def model(data: SeriesData) -> NegBinGLM:
    panel = data.panel(period_end(ORIGIN, "D"))
    fitted = NegBinGLM(covariates=["ret_decay_7d"]).fit(panel.frame.copy())
    assert uses_drivers(fitted) and fitted.fallback_ is None
    return fitted


def _forecast(model: NegBinGLM, data: SeriesData, seed: int = 7, **kw: object) -> np.ndarray:
    return forecast_over_drivers(
        model,
        data,
        ORIGIN,
        H,
        n_samples=400,
        seed=seed,
        **kw,  # type: ignore[arg-type]
    ).samples


def test_deterministic_mode_is_the_plain_forecast(model: NegBinGLM, data: SeriesData) -> None:
    plain = model.forecast(
        H, future=data.future(ORIGIN, H), n_samples=400, rng=np.random.default_rng(7)
    )
    np.testing.assert_array_equal(_forecast(model, data), plain.samples)


def test_simulated_paths_are_reproducible_and_include_the_strikes_to_be_expected(
    model: NegBinGLM, data: SeriesData
) -> None:
    a = forecast_over_drivers(model, data, ORIGIN, H, n_samples=400, seed=7, config=SIMULATED)
    b = _forecast(model, data, config=SIMULATED)
    np.testing.assert_array_equal(a.samples, b)
    assert a.samples.shape == (400, H)
    assert not np.array_equal(b, _forecast(model, data, seed=8, config=SIMULATED))
    fit = a.meta["driver_futures"]["fit"]["retaliation"]  # type: ignore[index]
    assert a.meta["driver_futures"]["paths"] == 10  # type: ignore[index]
    assert 0.05 < fit["rate_per_day"] < 0.3  # one strike in eight days
    # strikes raise attacks here, so expecting some lifts the second week's forecast
    none = _forecast(model, data)
    assert b[:, 7:].mean() > none[:, 7:].mean() + 0.3


def test_a_model_without_drivers_forecasts_as_before(data: SeriesData) -> None:
    clim = Climatology().fit(data.panel(period_end(ORIGIN, "D")).frame.copy())
    assert not uses_drivers(clim)
    np.testing.assert_array_equal(
        _forecast(clim, data, config=SIMULATED),  # type: ignore[arg-type]
        _forecast(clim, data),  # type: ignore[arg-type]
    )


def test_a_scenario_changes_only_what_its_events_touch(model: NegBinGLM, data: SeriesData) -> None:
    base = _forecast(model, data, config=SIMULATED)
    empty = _forecast(model, data, config=SIMULATED, scenario=Scenario())
    np.testing.assert_array_equal(base, empty)  # no events: zero difference, exactly
    day = ORIGIN + pd.Timedelta(days=5)
    strike = _forecast(
        model, data, config=SIMULATED, scenario=Scenario().with_retaliation(day, severity=2)
    )
    # days before the strike draw the same numbers from the same futures
    np.testing.assert_array_equal(strike[:, :4], base[:, :4])
    assert strike[:, 4:].mean() > base[:, 4:].mean()


def test_common_random_numbers_make_the_difference_low_variance(
    model: NegBinGLM, data: SeriesData
) -> None:
    day = ORIGIN + pd.Timedelta(days=1)
    scen = Scenario().with_retaliation(day)
    base = _forecast(model, data, config=SIMULATED).sum(axis=1)
    shared = _forecast(model, data, config=SIMULATED, scenario=scen).sum(axis=1)
    apart = _forecast(model, data, seed=99, config=SIMULATED, scenario=scen).sum(axis=1)
    assert (shared - base).var() < 0.5 * (apart - base).var()


def test_simulated_backtests_change_driver_models_only(data: SeriesData) -> None:
    configs = [ModelConfig("negbin_glm", {"covariates": ["ret_decay_7d"]}, alias="nb")]
    origins = [ORIGIN - pd.Timedelta(days=14), ORIGIN]
    kw = dict(origins=origins, horizon=H, n_samples=200, seed=3)
    plain = run_backtest(data, configs, **kw)  # type: ignore[arg-type]
    none = run_backtest(data, configs, drivers=DriverFuturesConfig(), **kw)  # type: ignore[arg-type]
    sim = run_backtest(data, configs, drivers=SIMULATED, **kw)  # type: ignore[arg-type]
    po = {name: r.per_origin.set_index(["model", "origin", "horizon"])["crps"] for name, r in
          (("plain", plain), ("none", none), ("sim", sim))}  # fmt: skip
    pd.testing.assert_series_equal(po["plain"], po["none"])
    pd.testing.assert_series_equal(po["none"].loc["climatology"], po["sim"].loc["climatology"])
    assert not np.allclose(po["none"].loc["nb"], po["sim"].loc["nb"])
    # a refit at the same origin draws the backtest's paths
    _, fc = fit_and_forecast(data, configs[0], ORIGIN, H, n_samples=200, seed=3, drivers=SIMULATED)
    stored = next(f for f in sim.forecasts if f.model == "nb" and f.origin == ORIGIN)
    np.testing.assert_array_equal(fc.samples, stored.forecast.samples)  # type: ignore[union-attr]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ExperimentError, match="none, simulated"):
        DriverFuturesConfig("sometimes")  # type: ignore[arg-type]
    with pytest.raises(ExperimentError, match="paths"):
        DriverFuturesConfig("simulated", paths=0)
