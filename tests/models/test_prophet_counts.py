"""ProphetCounts: the Gaussian-to-count rule, leak-free regressors, quiet runs."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from cadence.models.errors import (
    FutureFrameError,
    IntervalsUnsupportedError,
    ShortHistoryWarning,
)
from cadence.models.prophet_counts import ProphetCounts, gaussian_to_counts
from tests.models.synthetic import RET_STRIKE, SyntheticCase, intervals_from


def test_exact_counts_map_to_themselves() -> None:
    z = np.log1p(np.array([[0.0, 1.0, 3.0, 250.0, 4000.0]]))
    for rounding in ("stochastic",):
        out = gaussian_to_counts(np.repeat(z, 50, axis=0), np.random.default_rng(0), rounding)
        assert (out == [0, 1, 3, 250, 4000]).all()


def test_stochastic_rounding_keeps_the_mean_and_stays_adjacent() -> None:
    z = np.full((20000, 1), np.log1p(2.3))
    out = gaussian_to_counts(z, np.random.default_rng(1), "stochastic")
    assert set(np.unique(out)) == {2, 3}
    assert out.mean() == pytest.approx(2.3, abs=0.02)


def test_negative_values_clip_to_zero_and_huge_ones_stay_finite() -> None:
    z = np.array([[-5.0, -0.1, 1e6]])
    out = gaussian_to_counts(z, np.random.default_rng(2))
    assert out[0, 0] == 0 and out[0, 1] == 0
    assert out.dtype == np.int64 and out[0, 2] > 0


def test_cap_bounds_the_log_scale_tail() -> None:
    z = np.array([[np.log1p(5.0), 20.0]])
    out = gaussian_to_counts(z, np.random.default_rng(5), cap=100.0)
    assert out[0, 0] == 5 and out[0, 1] == 100


def test_poisson_rule_adds_count_noise() -> None:
    z = np.full((20000, 1), np.log1p(6.0))
    out = gaussian_to_counts(z, np.random.default_rng(3), "poisson")
    assert out.mean() == pytest.approx(6.0, rel=0.03)
    assert out.var() == pytest.approx(6.0, rel=0.08)
    with pytest.raises(ValueError, match="rounding"):
        gaussian_to_counts(z, np.random.default_rng(3), "nearest")  # type: ignore[arg-type]


def test_mean_of_mapped_gaussian_is_the_lognormal_mean() -> None:
    """The rule is unbiased for E[max(expm1(z), 0)]: with z ~ N(m, s) on the log1p scale,
    the count mean is exp(m + s^2 / 2) - 1 (m large enough that clipping is negligible)."""
    rng = np.random.default_rng(4)
    m, s = np.log1p(8.0), 0.3
    z = rng.normal(m, s, size=(50000, 1))
    out = gaussian_to_counts(z, rng)
    assert out.mean() == pytest.approx(np.exp(m + s**2 / 2) - 1, rel=0.02)


@pytest.fixture(scope="module")
def fitted(daily_case: SyntheticCase) -> ProphetCounts:
    return ProphetCounts().fit(daily_case.panel)


def test_regressors_come_from_the_panel_and_future(
    fitted: ProphetCounts, daily_case: SyntheticCase
) -> None:
    assert RET_STRIKE in fitted.exog_columns_
    assert set(fitted.model_.extra_regressors) == set(fitted.exog_columns_)
    # Only data up to the origin was seen.
    assert fitted.model_.history["ds"].max() == daily_case.panel.index[-1]
    with pytest.raises(FutureFrameError):
        fitted.forecast(7, rng=np.random.default_rng(0))
    strike = daily_case.future.copy()
    strike[RET_STRIKE] = 3.0
    base = fitted.forecast(14, future=daily_case.future, rng=np.random.default_rng(0))
    hit = fitted.forecast(14, future=strike, rng=np.random.default_rng(0))
    assert hit.mean().mean() > base.mean().mean()  # the fitted strike effect is positive


def test_global_numpy_state_is_left_alone(fitted: ProphetCounts, daily_case: SyntheticCase) -> None:
    np.random.seed(123)  # noqa: NPY002
    expected = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    fitted.forecast(7, future=daily_case.future, n_samples=50, rng=np.random.default_rng(0))
    assert np.random.random() == expected  # noqa: NPY002


def test_fit_is_silent(daily_case: SyntheticCase, capfd: pytest.CaptureFixture[str]) -> None:
    ProphetCounts().fit(daily_case.panel.iloc[-200:])
    captured = capfd.readouterr()
    assert "cmdstanpy" not in captured.err + captured.out
    assert "plotly" not in captured.err + captured.out


def test_intervals_are_refused(daily_case: SyntheticCase) -> None:
    panel, intervals = intervals_from(daily_case.panel, 7, first=0, last=70)
    with pytest.raises(IntervalsUnsupportedError, match="prophet"):
        ProphetCounts().fit(panel, intervals=intervals)


def test_short_history_falls_back(daily_case: SyntheticCase) -> None:
    with pytest.warns(ShortHistoryWarning, match="prophet"):
        model = ProphetCounts().fit(daily_case.panel.iloc[:20])
    fc = model.forecast(7, future=daily_case.future, rng=np.random.default_rng(0))
    assert fc.meta["fallback"] == "climatology"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=-20, max_value=12, allow_nan=False), min_size=1, max_size=30),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_stochastic_rounding_is_one_of_the_two_neighbours(z: list[float], seed: int) -> None:
    arr = np.asarray(z)[None, :]
    out = gaussian_to_counts(arr, np.random.default_rng(seed))
    lam = np.maximum(np.expm1(arr), 0.0)
    assert out.dtype == np.int64 and (out >= 0).all()
    assert ((out == np.floor(lam)) | (out == np.floor(lam) + 1)).all()
