"""Backtest figures draw what they claim to."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection

from cadence.experiments.plots import fan_chart, pit_histogram, reliability_plot
from cadence.models.forecast import CountForecast


def test_fan_chart_has_three_bands_and_what_happened() -> None:
    rng = np.random.default_rng(0)
    index = pd.date_range("2024-03-02", periods=10, freq="D")
    fc = CountForecast(pd.Timestamp("2024-03-01"), rng.poisson(4, size=(500, 10)), index)
    truth = np.r_[np.arange(9, dtype=float), np.nan]
    fig = fan_chart(fc, truth, history=[1.0, 2.0], history_index=index[:2] - pd.Timedelta(days=2))
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 3
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["95%", "80%", "50%"] and "what happened" in labels
    points = next(line for line in ax.lines if line.get_label() == "what happened")
    np.testing.assert_array_equal(np.asarray(points.get_ydata(), dtype=float), truth)


def test_pit_histogram_is_a_density() -> None:
    pit = np.r_[(np.arange(200) + 0.5) / 200, np.nan]
    fig = pit_histogram(pit, bins=5)
    bars = fig.axes[0].patches
    assert len(bars) == 5
    heights = np.array([b.get_height() for b in bars])
    np.testing.assert_allclose(heights, 1.0)
    assert "n=200" in fig.axes[0].get_title()


def test_reliability_plot_draws_one_line_per_model() -> None:
    fig = reliability_plot([0.5, 0.8, 0.95], [[0.4, 0.7, 0.9], [0.5, 0.8, 0.97]], labels=["a", "b"])
    ax = fig.axes[0]
    lines = [line for line in ax.lines if line.get_label() in ("a", "b")]
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), [0.4, 0.7, 0.9])
