"""Causal kernels against direct (loop) definitions and pandas (synthetic arrays)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.features.kernels import decayed_sum, ewm_rate, lag, periods_since, rolling_sum


def synthetic(t: int, n: int, missing: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.poisson(1.0, (t, n)).astype(float)
    x[rng.random((t, n)) < missing] = np.nan
    x[: t // 10, 0] = np.nan  # a series whose start is unknown
    return x


def test_rolling_sum_matches_pandas() -> None:
    x = synthetic(400, 7)
    for w in (1, 7, 28, 500):
        expected = pd.DataFrame(x).rolling(w, min_periods=1).sum().to_numpy()
        np.testing.assert_array_equal(rolling_sum(x, w), expected)


@pytest.mark.parametrize("half_life", [1, 3, 7, 28])
def test_ewm_rate_matches_pandas_across_blocks(half_life: float) -> None:
    x = synthetic(1600, 5)  # half-life 1 needs several blocks of 500 rows
    expected = pd.DataFrame(x).ewm(halflife=half_life, adjust=True, ignore_na=False).mean()
    np.testing.assert_allclose(ewm_rate(x, half_life), expected.to_numpy(), rtol=1e-12)


def test_decayed_sum_is_the_direct_sum() -> None:
    x = np.nan_to_num(synthetic(60, 3))
    h = 4.0
    t = np.arange(60)
    direct = np.array(
        [[(x[: i + 1, j] * 0.5 ** ((i - t[: i + 1]) / h)).sum() for j in range(3)] for i in t]
    )
    np.testing.assert_allclose(decayed_sum(x, h), direct, rtol=1e-12)


def test_decayed_sum_ignores_leading_zeros_exactly() -> None:
    x = np.nan_to_num(synthetic(80, 2))
    padded = np.vstack([np.zeros((37, 2)), x])
    np.testing.assert_array_equal(decayed_sum(padded, 7)[37:], decayed_sum(x, 7))


def test_periods_since_and_lag() -> None:
    x = np.array([[np.nan], [0.0], [2.0], [0.0], [np.nan], [1.0], [0.0]])
    assert periods_since(x, 3)[:, 0].tolist() == [3.0, 3.0, 0.0, 1.0, 2.0, 0.0, 1.0]
    assert periods_since(x, 1)[:, 0].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    assert np.isnan(lag(x, 2)[:2]).all()
    np.testing.assert_array_equal(lag(x, 2)[2:], x[:-2])
    assert np.isnan(lag(x, 10)).all()
