"""Counts per period from events and from observations (intervals kept whole)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNT, END, START
from cadence.features import (
    InputError,
    IntervalConflictError,
    event_counts,
    observation_counts,
)
from tests.features.synthetic_frames import events_frame, observations_frame

TARGET = {"kind": "attack", "country": ["Iraq", "Syria"]}


def test_daily_event_counts_are_zero_filled(events: pd.DataFrame) -> None:
    counts = event_counts(events, TARGET, "D", as_of="2024-01-12")
    assert counts.index.freqstr == "D"
    assert counts.index[0] == pd.Timestamp("2024-01-01")
    assert counts.index[-1] == pd.Timestamp("2024-01-12")
    expected = np.zeros(12)
    expected[[0, 3, 9]] = [2, 1, 1]
    np.testing.assert_array_equal(counts.to_numpy(), expected)


def test_weekly_and_monthly_labels_are_period_starts() -> None:
    frame = events_frame(
        [
            (0, "attack", "Iraq", None, None),  # Mon 2024-01-01
            (6, "attack", "Iraq", None, None),  # Sun 2024-01-07, same week
            (7, "attack", "Iraq", None, None),  # Mon 2024-01-08
            (31, "attack", "Iraq", None, None),  # 2024-02-01
            (59, "attack", "Iraq", None, None),  # 2024-02-29
        ]
    )
    weekly = event_counts(frame, TARGET, "W")
    assert weekly.index.freqstr == "W-MON"
    assert (weekly.index.day_of_week == 0).all()
    assert weekly.iloc[:2].tolist() == [2.0, 1.0]
    assert weekly.sum() == 5
    monthly = event_counts(frame, TARGET, "M")
    assert monthly.index.freqstr == "MS"
    assert monthly.index.tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")]
    assert monthly.tolist() == [3.0, 2.0]


def test_event_counts_ignore_events_after_as_of(events: pd.DataFrame) -> None:
    counts = event_counts(events, TARGET, "D", as_of="2024-01-05")
    assert counts.sum() == 3
    assert counts.index[-1] == pd.Timestamp("2024-01-05")


def test_event_counts_without_match_need_a_start(events: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="no event matches"):
        event_counts(events, {"kind": "ceasefire"}, "D")
    zeros = event_counts(events, {"kind": "ceasefire"}, "D", start="2024-01-01", as_of="2024-01-03")
    assert zeros.tolist() == [0.0, 0.0, 0.0]


def test_single_period_observations_become_counts_and_longer_ones_intervals() -> None:
    obs = observations_frame(
        [
            ("2024-01-01", "2024-01-02", 1),
            ("2024-01-02", "2024-01-05", 5),
            ("2024-01-05", "2024-01-06", 2),
            ("2024-01-07", "2024-01-08", 0),
        ]
    )
    oc = observation_counts(obs, "D")
    np.testing.assert_array_equal(
        oc.counts.to_numpy(), [1, np.nan, np.nan, np.nan, 2, 0, 0]
    )  # 01-06 uncovered inside the range: zero
    assert oc.intervals.to_dict("list") == {
        START: [pd.Timestamp("2024-01-02")],
        END: [pd.Timestamp("2024-01-05")],
        COUNT: [5.0],
    }


def test_observation_rows_of_other_series_are_ignored() -> None:
    obs = pd.concat(
        [
            observations_frame([("2024-01-01", "2024-01-02", 4)], series="a"),
            observations_frame([("2024-01-01", "2024-01-02", 9)], series="b"),
        ]
    )
    assert observation_counts(obs, "D", series="a").counts.tolist() == [4.0]


def test_observations_are_known_on_their_last_day() -> None:
    obs = observations_frame([("2024-01-01", "2024-01-02", 1), ("2024-01-02", "2024-01-09", 7)])
    early = observation_counts(obs, "D", as_of="2024-01-07")
    assert early.counts.tolist() == [1.0] and early.intervals.empty
    late = observation_counts(obs, "D", as_of="2024-01-08")
    assert late.intervals[COUNT].tolist() == [7.0]


def test_daily_observations_sum_into_weeks_and_spans_widen_to_whole_weeks() -> None:
    obs = observations_frame(
        [
            ("2024-01-01", "2024-01-02", 1),
            ("2024-01-03", "2024-01-04", 2),  # same week: summed
            ("2024-01-10", "2024-01-24", 9),  # Wed..Tue: touches 3 weeks
        ]
    )
    oc = observation_counts(obs, "W")
    assert oc.counts.index.freqstr == "W-MON"
    np.testing.assert_array_equal(oc.counts.to_numpy(), [3, np.nan, np.nan, np.nan])
    row = oc.intervals.iloc[0]
    assert (row[START], row[END], row[COUNT]) == (
        pd.Timestamp("2024-01-08"),
        pd.Timestamp("2024-01-29"),
        9.0,
    )


def test_monthly_interval_spans_whole_months() -> None:
    obs = observations_frame([("2024-01-15", "2024-03-10", 40)])
    oc = observation_counts(obs, "M")
    assert oc.counts.index.tolist() == list(pd.date_range("2024-01-01", periods=3, freq="MS"))
    assert oc.counts.isna().all()
    assert oc.intervals[END].iloc[0] == pd.Timestamp("2024-04-01")


def test_duplicate_observations_are_kept_once_or_conflict() -> None:
    same = observations_frame([("2024-01-01", "2024-01-02", 3), ("2024-01-01", "2024-01-02", 3)])
    assert observation_counts(same, "D").counts.tolist() == [3.0]
    differ = observations_frame([("2024-01-01", "2024-01-02", 3), ("2024-01-01", "2024-01-02", 4)])
    with pytest.raises(IntervalConflictError, match="expected one count, got 3 and 4"):
        observation_counts(differ, "D")


def test_coarser_interval_keeps_the_remainder_over_uncovered_periods() -> None:
    obs = observations_frame(
        [
            ("2024-01-01", "2024-01-11", 20),  # coarse: 10 days
            ("2024-01-01", "2024-01-03", 4),  # finer interval at its start
            ("2024-01-10", "2024-01-11", 1),  # a day at its end
        ]
    )
    oc = observation_counts(obs, "D")
    assert oc.intervals.to_dict("list") == {
        START: [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-03")],
        END: [pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-10")],
        COUNT: [4.0, 15.0],
    }
    assert oc.counts.iloc[-1] == 1.0
    assert oc.counts.iloc[:-1].isna().all()


def test_remainder_on_one_period_becomes_its_count() -> None:
    obs = observations_frame([("2024-01-01", "2024-01-03", 5), ("2024-01-01", "2024-01-02", 2)])
    oc = observation_counts(obs, "D")
    assert oc.counts.tolist() == [2.0, 3.0]
    assert oc.intervals.empty


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([("2024-01-01", "2024-01-05", 2), ("2024-01-02", "2024-01-03", 3)], "expected a total"),
        ([("2024-01-01", "2024-01-03", 2), ("2024-01-02", "2024-01-05", 3)], "partial overlap"),
        ([("2024-01-01", "2024-01-06", 9), ("2024-01-03", "2024-01-04", 1)], "split"),
        (
            [
                ("2024-01-01", "2024-01-03", 5),
                ("2024-01-01", "2024-01-02", 2),
                ("2024-01-02", "2024-01-03", 2),
            ],
            "and equal",
        ),
    ],
)
def test_irreconcilable_overlaps_raise(rows: list[tuple[str, str, float]], match: str) -> None:
    with pytest.raises(IntervalConflictError, match=match):
        observation_counts(observations_frame(rows), "D")


def test_overlapping_sub_period_observations_raise() -> None:
    obs = observations_frame([("2024-01-01", "2024-01-03", 2), ("2024-01-02", "2024-01-04", 3)])
    with pytest.raises(IntervalConflictError, match="partial overlap"):
        observation_counts(obs, "W")


def test_sub_period_interval_becomes_the_period_count() -> None:
    obs = observations_frame(
        [
            ("2024-01-01", "2024-01-02", 2),
            ("2024-01-02", "2024-01-05", 3),
            ("2024-01-08", "2024-01-15", 4),
        ]
    )
    oc = observation_counts(obs, "W")
    assert oc.counts.tolist() == [5.0, 4.0]
    assert oc.intervals.empty


def test_adjacent_tallies_off_period_boundaries_merge_into_one_interval() -> None:
    """Two tallies sharing a week cannot be told apart per week: one total remains."""
    obs = observations_frame(
        [
            ("2024-01-01", "2024-01-02", 1),  # Monday: its week also holds the next tally
            ("2024-01-02", "2024-01-11", 6),  # Tue 01-02 .. Wed 01-10
            ("2024-01-11", "2024-01-20", 7),  # Thu 01-11 .. Fri 01-19
            ("2024-01-22", "2024-01-29", 2),  # a whole week: its own count
        ]
    )
    oc = observation_counts(obs, "W")
    np.testing.assert_array_equal(oc.counts.to_numpy(), [np.nan, np.nan, np.nan, 2])
    assert oc.intervals.to_dict("list") == {
        START: [pd.Timestamp("2024-01-01")],
        END: [pd.Timestamp("2024-01-22")],
        COUNT: [14.0],
    }
    daily = observation_counts(obs, "D")
    assert daily.intervals[COUNT].tolist() == [6.0, 7.0, 2.0]


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([("2024-01-02", "2024-01-02", 1)], "expected a date after start"),
        ([("2024-01-01", "2024-01-02", -1)], "expected a count >= 0"),
    ],
)
def test_bad_observations_raise_input_error(rows: list[tuple[str, str, float]], match: str) -> None:
    with pytest.raises(InputError, match=match):
        observation_counts(observations_frame(rows), "D")


def test_missing_columns_are_named() -> None:
    with pytest.raises(InputError, match=r"missing \['end'\]"):
        observation_counts(pd.DataFrame({START: [], COUNT: []}), "D")
