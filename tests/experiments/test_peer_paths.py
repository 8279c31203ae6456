"""The peer benchmark's path helpers (``benchmarks/peer_paths.py``) on generated data:
every count here is drawn by the test, none is real, and statsforecast is not needed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benchmarks.peer_paths import (
    DAILY,
    count_paths,
    nb2_dispersion,
    nb_paths,
    origin_crps,
    ratio_interval,
    score_forecast,
    summarize_views,
    views,
)

from cadence.experiments.backtest import ModelConfig, default_origins, run_backtest
from cadence.experiments.scoring import score_paths, window_totals
from tests.experiments.test_backtest import synthetic_data


def _nb_draws(mu: np.ndarray, alpha: float, rng: np.random.Generator) -> np.ndarray:
    size = 1.0 / alpha
    return rng.negative_binomial(size, size / (size + mu)).astype(float)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 2.0])
def test_dispersion_recovers_a_known_alpha_from_one_step_residuals(alpha: float) -> None:
    rng = np.random.default_rng(7)
    mu = rng.uniform(2.0, 60.0, size=40_000)  # the one-step means a peer would have fitted
    y = _nb_draws(mu, alpha, rng)
    assert nb2_dispersion(y, mu) == pytest.approx(alpha, rel=0.1)


def test_dispersion_is_zero_without_overdispersion_and_skips_missing_fits() -> None:
    rng = np.random.default_rng(8)
    mu = rng.uniform(1.0, 30.0, size=20_000)
    poisson = rng.poisson(mu).astype(float)
    assert nb2_dispersion(poisson, mu) < 0.01
    assert nb2_dispersion(mu.copy(), mu) == 0.0  # underdispersed: floored at Poisson
    y = _nb_draws(mu, 0.5, rng)
    fitted = mu.copy()
    fitted[:100] = np.nan  # statsforecast's first fitted value is NaN
    fitted[100:200] = 0.0
    assert nb2_dispersion(y, fitted) == pytest.approx(0.5, rel=0.1)
    assert nb2_dispersion(y[:3], np.full(3, np.nan)) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        nb2_dispersion(y[:3], mu[:4])


def test_nb_paths_are_non_negative_integers_with_the_nb2_mean_and_variance() -> None:
    rng = np.random.default_rng(9)
    mean = np.array([0.0, 3.0, 40.0, -2.0])
    paths = nb_paths(mean, 0.5, 50_000, rng)
    assert paths.shape == (50_000, 4)
    assert paths.dtype == np.int64
    assert (paths >= 0).all()
    assert (paths[:, [0, 3]] == 0).all()  # a zero (or negative) mean draws only zeros
    mu = np.array([3.0, 40.0])
    np.testing.assert_allclose(paths[:, 1:3].mean(axis=0), mu, rtol=0.03)
    np.testing.assert_allclose(paths[:, 1:3].var(axis=0), mu + 0.5 * mu**2, rtol=0.08)
    # independent across days: the correlation of neighbouring days is about 0
    assert abs(np.corrcoef(paths[:, 1], paths[:, 2])[0, 1]) < 0.03


def test_nb_paths_are_poisson_at_zero_dispersion_and_reject_bad_input() -> None:
    rng = np.random.default_rng(10)
    paths = nb_paths(np.array([12.0]), 0.0, 50_000, rng)
    assert paths[:, 0].var() == pytest.approx(12.0, rel=0.05)
    with pytest.raises(ValueError, match="mean"):
        nb_paths(np.array([1.0, np.nan]), 0.2, 10, rng)
    with pytest.raises(ValueError, match="alpha"):
        nb_paths(np.array([1.0]), -0.1, 10, rng)


def test_simulated_paths_are_rounded_and_clipped_at_zero() -> None:
    sims = np.array([[-3.2, -0.4, 0.4, 1.6], [2.49, 7.51, 0.0, 100.2]])
    out = count_paths(sims)
    assert out.dtype == np.int64
    assert out.tolist() == [[0, 0, 0, 2], [2, 8, 0, 100]]
    with pytest.raises(ValueError, match="1 of 2 simulated paths"):
        count_paths(np.array([[1.0, np.nan], [1.0, 2.0]]))


def test_views_follow_the_horizon() -> None:
    assert views(7, daily=True) == [DAILY, "total_7"]
    assert views(28, daily=True) == [DAILY, "total_7", "total_14", "total_28"]
    assert views(6, daily=True) == [DAILY]
    assert views(28, daily=False) == [DAILY]


def test_totals_are_scored_on_summed_windows() -> None:
    rng = np.random.default_rng(11)
    samples = nb_paths(np.full(28, 4.0), 0.3, 500, rng)
    truth = rng.poisson(4.0, size=28).astype(float)
    truth[20] = np.nan  # a day without a count leaves its windows unscored
    out = score_forecast("peer", pd.Timestamp("2024-03-03"), samples, truth, seed=0, daily=True)
    assert [len(out[v]) for v in views(28, True)] == [28, 4, 2, 1]
    for days, view in [(7, "total_7"), (14, "total_14"), (28, "total_28")]:
        s, t = window_totals(samples, truth, days=days)
        ref = score_paths(s, t, rng=np.random.default_rng(0), daily=False)
        np.testing.assert_allclose(out[view]["crps"], ref["crps"])
        np.testing.assert_allclose(out[view]["coverage_80"], ref["coverage_80"])
    assert np.isnan(out["total_7"]["crps"].iloc[2])
    assert np.isnan(out["total_28"]["crps"].iloc[0])
    assert out["total_7"]["model"].eq("peer").all()


def test_rescored_backtest_forecasts_equal_the_backtests_own_scores() -> None:
    data = synthetic_data(days=120)
    origins = default_origins(data, every="14D", horizon=14)
    configs = [ModelConfig("climatology"), ModelConfig("recent_rate")]
    result = run_backtest(data, configs, origins=origins, horizon=14, n_samples=200, seed=5)
    frames: dict[str, list[pd.DataFrame]] = {}
    for f in result.forecasts:
        assert f.forecast is not None
        scores = score_forecast(f.model, f.origin, f.forecast.samples, f.truth, seed=5, daily=True)
        for view, frame in scores.items():
            frames.setdefault(view, []).append(frame)
    tables = summarize_views(frames)
    own = result.scores[result.scores["horizon"] == "all"].set_index("model")
    own_7 = result.window_scores[result.window_scores["horizon"] == "all"].set_index("model")
    for m in ("climatology", "recent_rate"):
        assert tables[DAILY].loc[m, "crps"] == pytest.approx(own.loc[m, "crps"])
        assert tables[DAILY].loc[m, "coverage_80"] == pytest.approx(own.loc[m, "coverage_80"])
        assert tables["total_7"].loc[m, "crps"] == pytest.approx(own_7.loc[m, "crps"])
    assert set(tables) == {DAILY, "total_7", "total_14"}


def test_ratio_of_mean_crps_with_a_bootstrap_interval_over_shared_origins() -> None:
    rng = np.random.default_rng(12)
    origins = pd.date_range("2024-01-07", periods=30, freq="7D")
    b = pd.Series(rng.uniform(10.0, 40.0, size=30), index=origins)
    assert ratio_interval(0.8 * b, b, block=4) == pytest.approx((0.8, 0.8, 0.8))
    noisy = b * rng.uniform(0.5, 1.1, size=30)
    ratio, lo, hi = ratio_interval(noisy, b, block=4, seed=1)
    assert ratio == pytest.approx(noisy.sum() / b.sum())
    assert lo < ratio < hi
    # origins only one side scored are left out; nothing shared gives NaNs
    assert ratio_interval(noisy.iloc[:10], b, block=1)[0] == pytest.approx(
        noisy.iloc[:10].sum() / b.iloc[:10].sum()
    )
    assert np.isnan(ratio_interval(noisy.iloc[:5], b.iloc[5:], block=1)).all()


def test_origin_crps_averages_each_models_rows_per_origin() -> None:
    o1, o2 = pd.Timestamp("2024-01-07"), pd.Timestamp("2024-01-14")
    frame = pd.DataFrame(
        {
            "model": ["a", "a", "a", "b", "a"],
            "origin": [o1, o1, o2, o1, o2],
            "crps": [1.0, 3.0, np.nan, 10.0, 5.0],
        }
    )
    out = origin_crps([frame.iloc[:3], frame.iloc[3:]], "a")
    assert out.to_dict() == {o1: 2.0, o2: 5.0}
