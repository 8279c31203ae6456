"""LocalLevel with a sampled view: tallies and a thinned stream of dated reports of the
same events. Every series here is synthetic, drawn by the code below."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNT, END, SAMPLED_COUNT, START
from cadence.models._design import interval_coverage, read_series
from cadence.models._level_sampled import reporting_share
from cadence.models.local_level import LocalLevel

DROP = 150  # the day attacks stop
THETA = 0.7


def tallied_series(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complete daily counts at about 4 a day that drop to near zero on day ``DROP``;
    7-day tallies of them up to day ``DROP - 5``; a binomial thinning (share ``THETA``)
    reported daily to day ``DROP + 20``, the panel's origin."""
    rng = np.random.default_rng(seed)
    n = DROP + 21
    rate = np.where(np.arange(n) < DROP, 4.0, 0.01)
    complete = rng.poisson(rng.gamma(10.0, rate / 10.0))
    idx = pd.date_range("2023-01-01", periods=n, freq="D")
    edges = np.arange(0, DROP - 5 + 1, 7)
    intervals = pd.DataFrame(
        {
            START: idx[edges[:-1]],
            END: idx[edges[1:]],
            COUNT: [float(complete[a:b].sum()) for a, b in itertools.pairwise(edges)],
        }
    )
    panel = pd.DataFrame(
        {COUNT: np.full(n, np.nan), SAMPLED_COUNT: rng.binomial(complete, THETA).astype(float)},
        index=idx,
    )
    return panel, intervals


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampled_reports_carry_the_level_past_the_last_tally(seed: int) -> None:
    panel, intervals = tallied_series(seed)
    fused = LocalLevel().fit(panel, intervals=intervals)
    alone = LocalLevel(sampled=False).fit(panel, intervals=intervals)
    assert fused.theta_ is not None and abs(fused.theta_ - THETA) < 0.1
    assert alone.theta_ is None
    rng = np.random.default_rng(seed)
    f_fused = fused.forecast(28, rng=rng)
    f_alone = alone.forecast(28, rng=rng)
    fused_total = f_fused.samples.sum(axis=1)
    alone_total = f_alone.samples.sum(axis=1)
    # the truth: about 0.3 attacks in 28 days; the tallies alone still say about 112.
    # Twenty quiet days take the fused level from 4 to about 0.4 a day (a random-walk
    # level with the fitted q ~ 0.035 cannot fall faster), so "near zero" means a fifth
    # of the tally-only forecast here, not zero.
    assert alone_total.mean() > 80.0
    assert fused_total.mean() < 30.0 and fused_total.mean() < 0.3 * alone_total.mean()
    assert np.quantile(fused_total, 0.9) < np.quantile(alone_total, 0.1)
    assert f_fused.meta["sampled"] is True and f_fused.meta["theta"] == fused.theta_
    assert f_alone.meta["sampled"] is False and f_alone.meta["theta"] is None


def test_reporting_share_uses_whole_overlaps_only() -> None:
    """Two tallies (10 and 20 events); the second has an unreported day, so only the
    first (6 reported of 10) and a single counted day (3 of 5) enter the ratio."""
    idx = pd.date_range("2024-01-01", periods=7, freq="D")
    panel = pd.DataFrame({COUNT: [np.nan] * 6 + [5.0]}, index=idx)
    intervals = pd.DataFrame({START: [idx[0], idx[3]], END: [idx[3], idx[6]], COUNT: [10.0, 20.0]})
    series = read_series(panel)
    cov = interval_coverage(intervals, series)
    sampled = np.array([2.0, 1.0, 3.0, 4.0, np.nan, 9.0, 3.0])
    assert reporting_share(series, cov, sampled) == pytest.approx(9.0 / 15.0)
    # too little overlap: no share
    assert reporting_share(series, None, sampled) is None


def test_without_a_sampled_column_the_fit_is_unchanged() -> None:
    panel, intervals = tallied_series(3)
    plain = panel.drop(columns=[SAMPLED_COUNT]).iloc[: DROP - 5]
    a = LocalLevel().fit(plain, intervals=intervals)
    b = LocalLevel(sampled=False).fit(panel.iloc[: DROP - 5], intervals=intervals)
    assert a.theta_ is None
    assert (a.level_, a.level_var_, a.alpha_) == (b.level_, b.level_var_, b.alpha_)
