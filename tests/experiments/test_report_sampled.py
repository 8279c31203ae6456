"""Reports of a series with a sampled view: the reports after the as-of date bound the
truth from below where no later total pins it down (synthetic numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.experiments.report.build import WindowForecast, _sampled_bounds
from cadence.experiments.report.truth import LaterTruth


def _window(label: str, n: int, idx: pd.DatetimeIndex) -> WindowForecast:
    return WindowForecast(label, n, idx[0], idx[n - 1], 1.0, {0.5: 1}, {1: 0.5}, 0)


def test_sampled_bound_only_where_no_total_is_known() -> None:
    idx = pd.date_range("2024-02-11", periods=14, freq="D")
    counts = np.full(14, np.nan)
    counts[:7] = 1.0  # the first week is known exactly
    sampled = np.array([0, 1, 0, 0, 2, 0, 0, 1, 0, 0, 0, 0, 3, np.nan], dtype=float)
    truth = LaterTruth(index=idx, counts=counts, sampled=sampled)
    windows = [_window("7 days", 7, idx), _window("13 days", 13, idx), _window("14 days", 14, idx)]
    bounds = _sampled_bounds(windows, truth)
    # 7 days: pinned down by counts; 14 days: the last day has no sampled count
    assert [(b.label, b.reported) for b in bounds] == [("13 days", 7.0)]
    assert truth.sampled_total(0, 13) is None
    assert LaterTruth(index=idx, counts=counts).sampled_total(0, 3) is None
