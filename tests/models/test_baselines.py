"""Climatology and RecentRate: rates, dispersion and interval likelihood (synthetic)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNT, END, START
from cadence.models._design import interval_coverage, read_series
from cadence.models.baselines import Climatology, RecentRate, fit_constant_rate
from cadence.models.errors import InsufficientDataError, IntervalsError
from tests.models.synthetic import constant_rate_panel, intervals_from


def test_climatology_recovers_rate_and_dispersion() -> None:
    panel = constant_rate_panel(3000, mu=4.0, alpha=0.5, seed=1)
    model = Climatology(window=None).fit(panel)
    assert model.mu_ == pytest.approx(4.0, rel=0.06)
    assert model.alpha_ == pytest.approx(0.5, rel=0.15)


def test_poisson_when_not_overdispersed() -> None:
    panel = constant_rate_panel(2000, mu=3.0, alpha=0.0, seed=2)
    model = Climatology(window=None).fit(panel)
    assert model.alpha_ == 0.0
    assert model.mu_ == pytest.approx(panel[COUNT].mean())


@pytest.mark.parametrize("alpha", [0.0, 0.4])
def test_interval_totals_recover_the_daily_rate(alpha: float) -> None:
    """Interval totals of 3-21 days generated from a known daily NB rate: the interval
    likelihood recovers that rate (and the dispersion) without any daily count."""
    mu = 2.5
    panel = constant_rate_panel(2400, mu=mu, alpha=alpha, seed=3)
    hidden, intervals = intervals_from(panel, [3, 7, 21, 10, 14])
    assert hidden[COUNT].isna().all()
    model = Climatology(window=None).fit(hidden, intervals=intervals)
    assert model.n_obs_ == 0
    assert model.n_intervals_ == len(intervals)
    # 2400 days at 2.5/day: standard error of the rate about 0.04 (Poisson) to 0.05 (NB).
    assert model.mu_ == pytest.approx(mu, abs=0.15)
    if alpha == 0:
        assert model.alpha_ < 0.05
    else:
        assert model.alpha_ == pytest.approx(alpha, rel=0.35)


def test_intervals_and_daily_counts_combine() -> None:
    panel = constant_rate_panel(1000, mu=6.0, alpha=0.2, seed=4)
    hidden, intervals = intervals_from(panel, 10, first=0, last=600)
    both = Climatology(window=None).fit(hidden, intervals=intervals)
    daily_only = Climatology(window=None).fit(panel)
    assert both.n_obs_ == 400
    assert both.mu_ == pytest.approx(daily_only.mu_, rel=0.03)


def test_interval_likelihood_is_the_exact_sum_of_nb_days() -> None:
    """Under a constant rate, a 7-day total is NB(7 mu, size 7 / alpha); a fit from one
    interval per week equals the fit on the weekly sums of daily NB counts."""
    counts = np.zeros(0)
    totals = np.array([10.0, 25.0, 3.0, 18.0, 40.0, 7.0])
    mu_i, alpha_i = fit_constant_rate(counts, totals, np.full(6, 7.0), "nb")
    assert mu_i == pytest.approx(totals.mean() / 7, rel=1e-4)
    # The weekly totals have variance 7 mu + 7 alpha mu^2 under the daily model.
    var = totals.var()
    assert alpha_i == pytest.approx((var - 7 * mu_i) / (7 * mu_i**2), rel=0.3)


def test_climatology_window_uses_recent_periods_only() -> None:
    panel = constant_rate_panel(400, mu=1.0, alpha=0.0, seed=5)
    panel.iloc[-60:, 0] = constant_rate_panel(60, mu=12.0, alpha=0.0, seed=6)[COUNT].to_numpy()
    assert Climatology(window=60).fit(panel).mu_ == pytest.approx(12.0, rel=0.1)
    assert Climatology(window=None).fit(panel).mu_ < 3.0


def test_recent_rate_windows_by_frequency() -> None:
    daily = constant_rate_panel(200, mu=2.0, alpha=0.0, seed=7)
    daily.iloc[-28:, 0] = 9.0
    assert RecentRate().fit(daily).mu_ == pytest.approx(9.0)
    weekly = constant_rate_panel(50, mu=2.0, alpha=0.0, seed=7, freq="W-MON")
    weekly.iloc[-8:, 0] = 30.0
    assert RecentRate().fit(weekly).mu_ == pytest.approx(30.0)
    monthly = constant_rate_panel(30, mu=2.0, alpha=0.0, seed=7, freq="MS")
    monthly.iloc[-3:, 0] = 50.0
    model = RecentRate().fit(monthly)
    assert model.mu_ == pytest.approx(50.0)
    assert model.alpha_ == 0.0  # Poisson by default
    assert RecentRate(family="nb").fit(constant_rate_panel(200, 5.0, 1.0, seed=8)).alpha_ > 0


def test_all_zero_history_forecasts_rare_events_not_impossible_ones() -> None:
    panel = constant_rate_panel(365, mu=0.0, alpha=0.0, seed=9)
    model = Climatology().fit(panel)
    assert 0 < model.mu_ < 0.01
    fc = model.forecast(28, n_samples=2000, rng=np.random.default_rng(0))
    assert fc.prob_at_least(1).max() < 0.01


def test_forecast_draws_the_fitted_distribution() -> None:
    panel = constant_rate_panel(3000, mu=8.0, alpha=0.3, seed=10)
    model = Climatology(window=None).fit(panel)
    fc = model.forecast(10, n_samples=20000, rng=np.random.default_rng(1))
    s = fc.samples.ravel()
    assert s.mean() == pytest.approx(model.mu_, rel=0.02)
    assert s.var() == pytest.approx(model.mu_ + model.alpha_ * model.mu_**2, rel=0.05)


def test_thousands_per_day() -> None:
    panel = constant_rate_panel(500, mu=2500.0, alpha=0.05, seed=11)
    model = Climatology().fit(panel)
    assert model.mu_ == pytest.approx(2500.0, rel=0.03)
    fc = model.forecast(28, n_samples=500, rng=np.random.default_rng(2))
    assert fc.mean().mean() == pytest.approx(2500.0, rel=0.05)


def test_no_observation_in_window_is_an_error() -> None:
    panel = constant_rate_panel(100, mu=1.0, alpha=0.0)
    panel[COUNT] = np.nan
    with pytest.raises(InsufficientDataError, match="no observed count"):
        Climatology().fit(panel)


def _intervals(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{START: pd.Timestamp(a), END: pd.Timestamp(b), COUNT: c} for a, b, c in rows]
    )


def test_interval_validation() -> None:
    panel = constant_rate_panel(60, mu=1.0, alpha=0.0)  # 2021-01-04 .. 2021-03-04
    panel.iloc[:30, 0] = np.nan
    series = read_series(panel)
    with pytest.raises(IntervalsError, match="overlap"):
        interval_coverage(
            _intervals(("2021-01-04", "2021-01-20", 5), ("2021-01-15", "2021-01-25", 3)),
            series,
        )
    with pytest.raises(IntervalsError, match="outside the panel"):
        interval_coverage(_intervals(("2020-12-20", "2021-01-10", 5)), series)
    with pytest.raises(IntervalsError, match="has a count"):
        interval_coverage(_intervals(("2021-01-20", "2021-02-10", 5)), series)
    with pytest.raises(IntervalsError, match="not after start"):
        interval_coverage(_intervals(("2021-01-10", "2021-01-10", 5)), series)


def test_partial_period_coverage_on_a_weekly_panel() -> None:
    panel = constant_rate_panel(10, mu=7.0, alpha=0.0, freq="W-MON")
    panel[COUNT] = np.nan
    cov = interval_coverage(_intervals(("2021-01-04", "2021-01-14", 10)), read_series(panel))
    np.testing.assert_allclose(cov.weights[0, :3], [1.0, 3 / 7, 0.0])
    assert cov.exposure[0] == pytest.approx(10 / 7)


def test_intervals_not_aligned_with_weekly_periods() -> None:
    """Ten-day tallies on a weekly panel: each covers fractions of two or three weeks,
    and the weekly rate (seven times the daily one) is still recovered."""
    daily = constant_rate_panel(700, mu=2.0, alpha=0.0, seed=12)
    starts = daily.index[::10]
    totals = [daily[COUNT].iloc[i : i + 10].sum() for i in range(0, 700, 10)]
    intervals = pd.DataFrame({START: starts, END: starts + pd.Timedelta(days=10), COUNT: totals})
    weeks = pd.date_range(daily.index[0], periods=100, freq="W-MON", name="date")
    weekly = pd.DataFrame({COUNT: np.nan}, index=weeks)
    model = Climatology(window=None).fit(weekly, intervals=intervals)
    assert model.n_intervals_ == 70
    assert model.mu_ == pytest.approx(14.0, rel=0.05)
