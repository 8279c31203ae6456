"""CountForecast summaries and the shared panel/future checks (synthetic)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNT
from cadence.models._design import (
    exogenous_columns,
    future_matrix,
    horizon_index,
    read_series,
    sample_nb,
)
from cadence.models.errors import FutureFrameError, PanelError
from cadence.models.forecast import CountForecast


def _forecast(samples: list[list[int]]) -> CountForecast:
    s = np.asarray(samples)
    index = pd.date_range("2024-02-11", periods=s.shape[1], freq="D")
    return CountForecast(origin=pd.Timestamp("2024-02-10"), samples=s, index=index)


def test_summaries_derive_from_paths() -> None:
    fc = _forecast([[0, 1, 2], [2, 3, 4], [0, 0, 0], [4, 4, 4]])
    np.testing.assert_allclose(fc.mean(), [1.5, 2.0, 2.5])
    np.testing.assert_array_equal(fc.window_total(2), [1, 5, 0, 8])
    np.testing.assert_allclose(fc.prob_at_least(1), [0.5, 0.75, 0.75])
    np.testing.assert_allclose(fc.prob_at_least(5, window=3), [0.5])
    q = fc.quantiles([0.25, 0.5, 1.0])
    np.testing.assert_array_equal(q[:, 0], [0, 0, 4])
    with pytest.raises(ValueError, match="exceeds horizon"):
        fc.window_total(4)


def test_forecast_validates_its_paths() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        _forecast([[0, -1]])
    with pytest.raises(ValueError, match="integers"):
        CountForecast(
            origin=pd.Timestamp("2024-01-01"),
            samples=np.zeros((2, 2)),
            index=pd.date_range("2024-01-02", periods=2),
        )
    with pytest.raises(ValueError, match="at least one path"):
        CountForecast(
            origin=pd.Timestamp("2024-01-01"),
            samples=np.zeros((0, 2), dtype=np.int64),
            index=pd.date_range("2024-01-02", periods=2),
        )


def test_read_series_checks_the_panel() -> None:
    index = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-05"], name="date")
    with pytest.raises(PanelError, match="regular frequency"):
        read_series(pd.DataFrame({COUNT: [1.0, 2.0, 3.0]}, index=index))
    good = pd.DatetimeIndex(["2024-01-01", "2024-01-08", "2024-01-15"], name="date")
    assert read_series(pd.DataFrame({COUNT: [1.0, 2.0, 3.0]}, index=good)).freq == "W-MON"
    with pytest.raises(PanelError, match="negative counts on 2024-01-08: expected counts >= 0"):
        read_series(pd.DataFrame({COUNT: [1.0, -2.0, 3.0]}, index=good))
    for inf in (np.inf, -np.inf):  # not a missing period: refused, with the date
        with pytest.raises(PanelError, match=r"(negative|infinite) counts on 2024-01-15"):
            read_series(pd.DataFrame({COUNT: [1.0, 2.0, inf]}, index=good))
    missing = read_series(pd.DataFrame({COUNT: [1.0, np.nan, 3.0]}, index=good))
    assert np.isnan(missing.y[1]) and missing.y[2] == 3.0
    with pytest.raises(PanelError, match="no target"):
        read_series(pd.DataFrame({"n": [1.0, 2.0, 3.0]}, index=good))


def test_horizon_index_follows_the_frequency() -> None:
    months = horizon_index(pd.Timestamp("2024-01-01"), 3, "MS")
    assert list(months.strftime("%Y-%m-%d")) == ["2024-02-01", "2024-03-01", "2024-04-01"]
    weeks = horizon_index(pd.Timestamp("2024-01-01"), 2, "W-MON")
    assert list(weeks.strftime("%Y-%m-%d")) == ["2024-01-08", "2024-01-15"]


def test_exogenous_columns_and_future_rows() -> None:
    index = pd.date_range("2024-01-01", periods=4, freq="D", name="date")
    panel = pd.DataFrame(
        {
            COUNT: [1.0, 2.0, 3.0, 4.0],
            "ret_a": [0.0, 1.0, 0.5, 0.2],
            "stm_flat": [1.0, 1.0, 1.0, 1.0],
            "cal_x": [np.nan, 1.0, np.nan, 0.0],
            "cnt_lag": [1.0, 2.0, 3.0, 4.0],
        },
        index=index,
    )
    assert exogenous_columns(panel) == ["ret_a", "cal_x"]
    horizon = horizon_index(index[-1], 2, "D")
    future = pd.DataFrame({"ret_a": [0.1, 0.05], "cal_x": [1.0, 0.0]}, index=horizon)
    np.testing.assert_allclose(future_matrix(future, ["ret_a", "cal_x"], horizon), future)
    longer = horizon_index(index[-1], 3, "D")
    with pytest.raises(FutureFrameError, match="2024-01-07"):
        future_matrix(future, ["ret_a"], longer)


def test_nb_sampler_moments() -> None:
    rng = np.random.default_rng(0)
    draws = sample_nb(rng, np.full(200000, 5.0), 0.4)
    assert draws.dtype == np.int64
    assert draws.mean() == pytest.approx(5.0, rel=0.01)
    assert draws.var() == pytest.approx(5.0 + 0.4 * 25.0, rel=0.03)
    assert sample_nb(rng, np.full(10, 3.0), 0.0).dtype == np.int64
