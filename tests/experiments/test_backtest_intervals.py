"""Backtests of a series known only through interval totals (tallies): the forecasts are
scored on the totals of the intervals inside each horizon. Synthetic data by code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from cadence.columns import COUNT, DATE, END, SERIES, START
from cadence.experiments.backtest import ModelConfig, run_backtest
from cadence.experiments.data import SeriesData
from cadence.features.spec import SeriesSpec

RATE = 2.0


def tally_data(seed: int = 3) -> SeriesData:
    """Totals over consecutive 4- to 9-day spans of Poisson(2/day) days (synthetic)."""
    spec = SeriesSpec.from_dict(
        {"name": "synthetic-tallies-only", "frequency": "D", "target": {"observations": True}}
    )
    rng = np.random.default_rng(seed)
    start, rows = pd.Timestamp("2024-01-01"), []
    while start < pd.Timestamp("2024-07-01"):
        n = int(rng.integers(4, 10))
        rows.append((start, start + pd.Timedelta(days=n), int(rng.poisson(RATE * n))))
        start += pd.Timedelta(days=n)
    obs = pd.DataFrame(rows, columns=[START, END, COUNT])
    obs.insert(0, SERIES, spec.name)
    obs[START] = obs[START].astype("datetime64[s]")
    obs[END] = obs[END].astype("datetime64[s]")
    empty = pd.DataFrame({DATE: pd.Series([], dtype="datetime64[s]")})
    return SeriesData(spec, empty, empty, obs)


@pytest.fixture(scope="module")
def result() -> tuple[SeriesData, object]:
    d = tally_data()
    origins = pd.date_range("2024-04-01", periods=6, freq="7D")
    r = run_backtest(
        d,
        [ModelConfig("climatology"), ModelConfig("negbin_glm")],
        origins=list(origins),
        horizon=21,
        n_samples=400,
    )
    return d, r


def test_each_interval_inside_a_horizon_is_scored_on_its_total(result: tuple) -> None:
    d, r = result
    po = r.per_origin
    assert {"start", "end"} <= set(po.columns) and len(po) > 0
    intervals = d.full_panel.intervals
    for row in po[po["model"] == "climatology"].itertuples(index=False):
        first = row.origin + pd.Timedelta(days=1)
        assert row.start >= first and row.end <= first + pd.Timedelta(days=21)
        # the horizon column is the days from the origin to the interval's last day
        assert row.horizon == (row.end - row.origin).days - 1
        total = intervals.loc[intervals["start"] == row.start, COUNT].item()
        fc = next(
            f.forecast for f in r.forecasts if f.model == "climatology" and f.origin == row.origin
        )
        mask = (fc.index >= row.start) & (fc.index < row.end)
        summed = fc.samples[:, mask].sum(axis=1).astype(float)
        assert row.crps == pytest.approx(float(sr.crps_ensemble(total, summed)), rel=1e-9)


def test_interval_scores_feed_the_summary_and_the_skill(result: tuple) -> None:
    _, r = result
    overall = r.scores.set_index(["model", "horizon"])
    n = int(overall.loc[("climatology", "all"), "n"])
    assert n == int((r.per_origin["model"] == "climatology").sum()) > 6
    # a constant-rate truth: the climatology's 80% intervals of the totals cover about 80%
    assert 0.55 <= overall.loc[("climatology", "all"), "coverage_80"] <= 1.0
    skill = r.skill_vs_climatology()
    assert skill["climatology"] == 0.0 and np.isfinite(skill["negbin_glm"])
    diff, lo, hi = r.crps_difference("negbin_glm", "climatology", n_boot=200)
    assert lo <= diff <= hi
