"""LocalLevel: parameter recovery on generated series with known truth, intervals, the
batch fit, and what the moving level does to multi-week totals. Every series here is
synthetic, drawn by the code below."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNT, END, START
from cadence.models import make_model
from cadence.models.local_level import LocalLevel, forecast_many


def level_series(
    n: int, *, q: float, k: float, seed: int, start_level: float = 20.0, beta: float = 0.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Daily counts from the model itself: a log random walk with variance ``q`` (drift
    ``-q/2``), NB2 counts of size ``k``, and an optional driver ``stm_signal`` (a
    decaying pulse after random events) with effect ``beta`` on the log mean."""
    rng = np.random.default_rng(seed)
    x = np.log(start_level) + np.cumsum(rng.normal(-q / 2, np.sqrt(q), n))
    pulses = rng.random(n) < 0.03
    z = np.zeros(n)
    for t in range(n):
        z[t] = (0.8 * z[t - 1] if t else 0.0) + pulses[t]
    mu = np.exp(x + beta * z)
    y = rng.poisson(rng.gamma(k, mu / k)).astype(float)
    idx = pd.date_range("2020-01-01", periods=n, freq="D")
    return pd.DataFrame({COUNT: y, "stm_signal": z}, index=idx), x


@pytest.mark.parametrize(("q", "k"), [(0.01, 3.0), (0.002, 1.0)])
def test_recovers_level_variance_and_dispersion(q: float, k: float) -> None:
    panel, _ = level_series(3000, q=q, k=k, seed=1)
    model = LocalLevel(damping=1.0).fit(panel)
    assert q / 2.5 < model.level_var_ < q * 2.5
    assert abs(1.0 / model.alpha_ - k) / k < 0.25


def test_recovers_a_driver_effect_and_names_its_covariate() -> None:
    panel, _ = level_series(3000, q=0.004, k=4.0, seed=2, beta=0.6)
    model = LocalLevel(damping=1.0, drivers=True, covariates=["stm_signal"], ridge=1.0)
    model.fit(panel)
    assert model.covariates_ == ["stm_signal"]
    assert 0.45 < model.coef_[0] < 0.75
    without = LocalLevel(damping=1.0).fit(panel)
    assert without.covariates_ == []
    assert without.coef_.size == 0


def test_filtered_level_tracks_the_true_level() -> None:
    panel, x = level_series(1500, q=0.01, k=5.0, seed=3)
    model = LocalLevel(damping=1.0)
    errors = []
    for end in range(400, 1500, 100):
        model.fit(panel.iloc[: end + 1])
        errors.append(model.level_ - x[end])
    assert np.sqrt(np.mean(np.square(errors))) < 0.25


def test_totals_widen_with_the_level_not_like_independent_days() -> None:
    """The 28-day total of a moving level is far wider than 28 independent NB days with
    the same daily spread; a constant-rate model's total is not."""
    panel, _ = level_series(1000, q=0.01, k=5.0, seed=4)
    rng = np.random.default_rng(0)
    ll = LocalLevel(damping=1.0).fit(panel).forecast(28, n_samples=4000, rng=rng)
    clim = make_model("climatology", window=28).fit(panel).forecast(28, n_samples=4000, rng=rng)
    ratio_ll = ll.window_total(28).std() / np.sqrt(ll.samples.var(axis=0).sum())
    ratio_clim = clim.window_total(28).std() / np.sqrt(clim.samples.var(axis=0).sum())
    assert ratio_clim == pytest.approx(1.0, abs=0.1)
    assert ratio_ll > 1.25


def test_interval_totals_inform_the_level() -> None:
    """A series seen only as totals over 10-day intervals: the fitted level follows the
    totals (a doubled rate in the last intervals doubles the forecast)."""
    idx = pd.date_range("2023-01-01", periods=200, freq="D")
    rng = np.random.default_rng(5)
    rate = np.where(np.arange(200) < 150, 3.0, 6.0)
    y = rng.poisson(rate)
    starts = idx[::10]
    totals = [int(y[i : i + 10].sum()) for i in range(0, 200, 10)]
    intervals = pd.DataFrame(
        {START: starts, END: [s + pd.Timedelta(days=10) for s in starts], COUNT: totals}
    )
    panel = pd.DataFrame({COUNT: np.full(200, np.nan)}, index=idx)
    model = LocalLevel().fit(panel, intervals=intervals)
    fc = model.forecast(7, n_samples=2000, rng=np.random.default_rng(1))
    assert 4.0 < fc.mean().mean() < 8.0
    early = LocalLevel().fit(panel.iloc[:140], intervals=intervals.iloc[:14])
    fc_early = early.forecast(7, n_samples=2000, rng=np.random.default_rng(1))
    assert 2.0 < fc_early.mean().mean() < 4.0


def test_batch_fit_matches_the_single_series_model_in_distribution() -> None:
    rng = np.random.default_rng(6)
    panels = [level_series(400, q=0.01, k=3.0, seed=10 + i)[0] for i in range(20)]
    counts = np.vstack([p[COUNT].to_numpy() for p in panels])
    counts[3, 100:110] = np.nan  # missing days are skipped, not zeros
    samples, fit = forecast_many(counts, 28, n_samples=500, rng=rng)
    assert samples.shape == (20, 500, 28)
    assert samples.dtype == np.int64 and samples.min() >= 0
    for i in (0, 7, 19):
        single = LocalLevel().fit(panels[i])
        assert abs(fit.m[i] - single.level_) < 0.35
        one = single.forecast(28, n_samples=4000, rng=np.random.default_rng(i))
        assert samples[i].mean() == pytest.approx(one.samples.mean(), rel=0.35)


def test_a_series_of_a_batch_fit_is_a_fitted_model() -> None:
    """``level_from_batch`` gives a model that passes ``check_fitted`` and forecasts."""
    from cadence.models.base import check_fitted
    from cadence.models.local_level import fit_many, level_from_batch

    panels = [level_series(300, q=0.01, k=3.0, seed=30 + i)[0] for i in range(3)]
    counts = np.vstack([p[COUNT].to_numpy() for p in panels])
    fit = fit_many(counts)
    model = level_from_batch(fit, 1, origin=panels[1].index[-1], freq="D")
    check_fitted(model)
    fc = model.forecast(7, n_samples=200, rng=np.random.default_rng(0))
    assert fc.samples.shape == (200, 7) and fc.origin == panels[1].index[-1]
    assert model.fallback_ is None and model.covariates_ == []


def test_the_batch_fit_recovers_level_variance_and_dispersion() -> None:
    """Across 200 series generated with q = 0.01 and NB size 3, the batched fit's median
    estimates land near the truth."""
    rng = np.random.default_rng(7)
    x = np.log(20.0) + np.cumsum(rng.normal(-0.005, 0.1, (200, 1000)), axis=1)
    counts = rng.poisson(rng.gamma(3.0, np.exp(x) / 3.0)).astype(float)
    _, fit = forecast_many(counts, 7, n_samples=10, rng=rng, damping=1.0)
    assert 0.006 < float(np.median(fit.q)) < 0.017
    assert 2.4 < float(np.median(fit.k)) < 3.6
