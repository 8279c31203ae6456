"""Panels from the shipped real data: DoD cumulative tallies and US strikes.

The tallies are cumulative totals since 2023-10-17 as of briefing dates; successive
differences are interval observations (as the store ingests tallies). Only rows counted
from 2023-10-17 whose totals rise are used: the file also holds totals on other bases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNT, DATE, END, KIND, SERIES, START
from cadence.features import SeriesSpec, build_panel, future_frame

DATA = Path(__file__).resolve().parents[2] / "data"
TALLIES = DATA / "pentagon_attack_tallies" / "tallies.csv"
STRIKES = DATA / "us_forces_attacks_news_transcribed" / "us_strikes.csv"

pytestmark = pytest.mark.skipif(
    not (TALLIES.is_file() and STRIKES.is_file()), reason="shipped data not present"
)


def tally_observations() -> pd.DataFrame:
    raw = pd.read_csv(TALLIES, dtype=str)
    raw = raw[raw["period_start"] == "2023-10-17"]
    raw = raw.assign(
        as_of=pd.to_datetime(raw["as_of_date"], format="%Y-%m-%d", errors="coerce"),
        total=pd.to_numeric(raw["total"], errors="coerce"),
    ).dropna(subset=["as_of", "total"])
    raw = raw.sort_values("as_of")
    raw = raw[raw["total"] >= raw["total"].cummax()].drop_duplicates("as_of", keep="last")
    ends = raw["as_of"] + pd.Timedelta(days=1)
    starts = pd.concat([pd.Series([pd.Timestamp("2023-10-17")]), ends.iloc[:-1]])
    counts = raw["total"].diff().fillna(raw["total"].iloc[0])
    return pd.DataFrame(
        {
            SERIES: "us-forces-tally",
            START: starts.to_numpy(),
            END: ends.to_numpy(),
            COUNT: counts.to_numpy(),
        }
    )


def strike_events() -> pd.DataFrame:
    raw = pd.read_csv(STRIKES, dtype=str)
    dates = pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce")
    return pd.DataFrame({DATE: dates, KIND: "retaliation", "country": raw["country"]}).dropna(
        subset=[DATE]
    )


def spec(frequency: str) -> SeriesSpec:
    return SeriesSpec.from_dict(
        {
            "name": "us-forces-tally",
            "frequency": frequency,
            "target": {"observations": True},
            "drivers": {"retaliation": {"kind": "retaliation"}},
        }
    )


def test_daily_tallies_keep_their_total() -> None:
    obs = tally_observations()
    last_end = obs[END].max()
    panel = build_panel(spec("D"), strike_events(), None, obs, as_of=last_end)
    shown = panel.frame[COUNT]
    covered_end = panel.frame.index[-1] + panel.frame.index.freq
    inside = obs[obs[END] <= covered_end][COUNT].sum()
    assert np.nansum(shown.to_numpy()) + panel.intervals[COUNT].sum() == pytest.approx(inside)
    # interval periods carry NaN counts, never a spread share of the total
    for _, row in panel.intervals.iterrows():
        assert shown.loc[row[START] : row[END] - pd.Timedelta(days=1)].isna().all()


def test_monthly_tallies_sum_within_months_and_chain_across_them() -> None:
    """October's tallies all end inside October: its count is their sum. Later tallies
    straddle month ends (11-24..12-07, 12-22..01-04) and chain November to January,
    which is not complete on the last briefing: those months stay unknown."""
    obs = tally_observations()
    panel = build_panel(spec("M"), strike_events(), None, obs, as_of=obs[END].max())
    october = obs[obs[END] <= pd.Timestamp("2023-11-01")][COUNT].sum()
    assert panel.frame[COUNT].iloc[0] == october
    assert panel.frame[COUNT].iloc[1:].isna().all()
    assert panel.intervals.empty


def test_weekly_tallies_off_week_boundaries_stay_unknown() -> None:
    """Briefing dates fall mid-week, so successive tallies share weeks and chain into
    one run that the last (partial) week keeps open: no weekly count is known."""
    obs = tally_observations()
    panel = build_panel(spec("W"), strike_events(), None, obs, as_of=obs[END].max())
    assert panel.frame[COUNT].isna().all()
    assert panel.intervals.empty
    assert panel.frame["ret_count_4w"].sum() > 0  # drivers are still there


def test_tally_panel_as_of_a_briefing_knows_only_earlier_tallies() -> None:
    obs = tally_observations()
    panel = build_panel(spec("D"), strike_events(), None, obs, as_of="2023-12-01")
    assert panel.intervals[END].max() <= pd.Timestamp("2023-12-02")
    assert panel.frame.index[-1] == pd.Timestamp("2023-11-23")  # last tally on or before
    # the DoD total as of 2023-11-23: one-day differences became day counts
    assert panel.intervals[COUNT].sum() + np.nansum(panel.frame[COUNT]) == 73.0


def test_strikes_drive_retaliation_features_and_continue_after_origin() -> None:
    panel = build_panel(spec("D"), strike_events(), None, tally_observations(), as_of="2024-01-18")
    f = panel.frame
    first_strike = pd.Timestamp("2023-10-26")
    assert f.loc[first_strike, "ret_since_last"] == 0.0
    assert f.loc[first_strike - pd.Timedelta(days=1), "ret_decay_28d"] == 0.0
    future = future_frame(spec("D"), strike_events(), None, origin=panel.origin, horizon=14)
    assert future["ret_since_last"].iloc[0] == f["ret_since_last"].iloc[-1] + 1
    assert (np.diff(future["ret_decay_7d"]) <= 0).all()
