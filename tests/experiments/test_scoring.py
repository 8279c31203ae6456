"""Scores of sample paths against hand-computed values on tiny examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cadence.experiments.scoring import (
    RPS_THRESHOLDS,
    score_paths,
    smoothed_pmf,
    summarize,
    window_totals,
)


def _one(samples: list[int], y: float, *, daily: bool = False) -> pd.Series:
    s = np.array(samples, dtype=np.int64)[:, None]
    frame = score_paths(s, np.array([y]), rng=np.random.default_rng(0), daily=daily)
    return frame.iloc[0]


def test_crps_of_four_samples() -> None:
    # E|X - 1| = (1 + 0 + 1 + 2) / 4 = 1; E|X - X'| = 20 / 16; CRPS = 1 - 0.625
    assert _one([0, 1, 2, 3], 1)["crps"] == pytest.approx(0.375)
    assert _one([2, 2, 2, 2], 2)["crps"] == pytest.approx(0.0)
    assert _one([2, 2, 2, 2], 5)["crps"] == pytest.approx(3.0)


def test_log_score_uses_the_smoothed_pmf() -> None:
    # 2 of 4 samples hit y = 1; geometric with mean 1.5: q = 0.6, g(1) = 0.4 * 0.6
    p = (2 + 0.24) / (4 + 1)
    assert _one([0, 0, 1, 1], 1)["log_score"] == pytest.approx(-math.log(p))
    # an outcome no sample reached still has a finite score
    far = _one([0, 0, 1, 1], 9)["log_score"]
    assert math.isfinite(far) and far > 5
    pmf_total = smoothed_pmf(np.array([[0], [0], [1], [1]]), np.array([0])).sum()
    assert 0 < pmf_total < 1
    # a burst thousands above every path: q**y underflows, the log score must not
    burst = _one([0, 0, 1, 1], 5000)["log_score"]
    assert math.isfinite(burst) and burst > _one([0, 0, 1, 1], 500)["log_score"] > far


def test_rps_over_count_categories() -> None:
    # F(0) = 0.5, F(t) = 1 for t >= 1; y = 1 is above 0 only: (0.5 - 0)^2, over 15 thresholds
    assert _one([0, 0, 1, 1], 1)["rps"] == pytest.approx(0.25 / RPS_THRESHOLDS.size)
    assert _one([0, 0, 0, 0], 0)["rps"] == pytest.approx(0.0)
    # a sure forecast of 0 when 30 happened misses 6 thresholds (0, 1, 2, 4, 9, 19)
    assert _one([0, 0], 30)["rps"] == pytest.approx(6 / RPS_THRESHOLDS.size)


def test_mae_of_the_median_and_coverage() -> None:
    assert _one([0, 0, 1, 1], 1)["mae"] == 1.0  # inverted_cdf median is 0
    row = _one(list(range(100)), 5)
    # 50%: [24, 74] misses 5; 80%: [9, 89] misses; 95%: [2, 97] covers
    assert (row["coverage_50"], row["coverage_80"], row["coverage_95"]) == (0.0, 0.0, 1.0)
    row = _one(list(range(100)), 50)
    assert (row["coverage_50"], row["coverage_80"], row["coverage_95"]) == (1.0, 1.0, 1.0)


def test_brier_of_at_least_one_event_in_seven_days() -> None:
    quiet = np.zeros((2, 7), dtype=np.int64)
    quiet[1, 3] = 1  # half the paths have one event in the week
    frame = score_paths(quiet, np.zeros(7), rng=np.random.default_rng(0), daily=True)
    assert frame["brier_any_7"].iloc[0] == pytest.approx(0.25)
    assert frame["brier_any_7"].iloc[1:].isna().all()
    weekly = score_paths(quiet, np.zeros(7), rng=np.random.default_rng(0), daily=False)
    assert weekly["brier_any_7"].isna().all()
    one = score_paths(
        quiet, np.array([0, 0, 0, 0, 0, 0, 2.0]), rng=np.random.default_rng(0), daily=True
    )
    assert one["brier_any_7"].iloc[0] == pytest.approx(0.25)


def test_randomized_pit() -> None:
    # all samples equal 2: F(1) = 0, F(2) = 1, so PIT(2) = v ~ U(0, 1) and PIT(3) = 1
    v = np.random.default_rng(0).uniform(size=1)[0]
    assert _one([2, 2, 2], 2)["pit"] == pytest.approx(v)
    assert _one([2, 2, 2], 3)["pit"] == 1.0
    assert _one([2, 2, 2], 1)["pit"] == 0.0
    # a calibrated forecast has uniform PIT values
    rng = np.random.default_rng(1)
    samples = rng.poisson(3.0, size=(2000, 400))
    truth = rng.poisson(3.0, size=400).astype(float)
    pit = score_paths(samples, truth, rng=rng, daily=False)["pit"].to_numpy()
    counts, _ = np.histogram(pit, bins=4, range=(0, 1))
    assert counts.min() > 70 and counts.max() < 130


def test_unknown_truth_is_not_scored() -> None:
    s = np.ones((10, 3), dtype=np.int64)
    frame = score_paths(s, np.array([1.0, np.nan, 2.0]), rng=np.random.default_rng(0), daily=False)
    assert frame["horizon"].tolist() == [1, 2, 3]
    assert frame.loc[1, ["crps", "log_score", "rps", "mae", "coverage_80", "pit"]].isna().all()
    assert frame.loc[[0, 2], "crps"].tolist() == [0.0, 1.0]


def test_window_totals() -> None:
    s = np.arange(2 * 15).reshape(2, 15)
    ws, wt = window_totals(s, np.r_[np.ones(7), np.ones(6), np.nan, 1.0], days=7)
    assert ws.shape == (2, 2)
    assert ws[0].tolist() == [sum(range(7)), sum(range(7, 14))]
    assert wt[0] == 7 and np.isnan(wt[1])


def test_summarize_counts_scored_rows() -> None:
    po = pd.DataFrame(
        {
            "model": ["a"] * 4,
            "origin": pd.to_datetime(["2024-01-01"] * 2 + ["2024-01-08"] * 2),
            "horizon": [1, 2, 1, 2],
            "crps": [1.0, 3.0, 2.0, np.nan],
            "log_score": [1.0, 1.0, 1.0, np.nan],
            "rps": 0.0,
            "mae": 0.0,
            "coverage_50": [1.0, 0.0, 1.0, np.nan],
            "coverage_80": 1.0,
            "coverage_95": 1.0,
            "brier_any_7": [0.5, np.nan, 0.1, np.nan],
            "pit": 0.5,
        }
    )
    s = summarize(po).set_index("horizon")
    assert s.loc["all", "crps"] == pytest.approx(2.0)
    assert s.loc["all", "n"] == 3
    assert s.loc[1, "crps"] == pytest.approx(1.5) and s.loc[2, "n"] == 1
    assert s.loc["all", "coverage_50"] == pytest.approx(2 / 3)
    assert s.loc["all", "brier_any_7"] == pytest.approx(0.3)
    assert math.isnan(s.loc[2, "brier_any_7"])
