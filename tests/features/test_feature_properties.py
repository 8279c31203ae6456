"""Property tests: no leakage, order independence, non-negativity (synthetic data)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cadence.columns import COUNT, KIND, PREFIX_CALENDAR, PREFIX_COUNT_FEATURE, SAMPLED_COUNT
from cadence.features import InputError, build_panel
from tests.features.synthetic_frames import (
    PROPERTY,
    day,
    event_rows,
    events_frame,
    frequencies,
    observations_frame,
    observed_spec,
    spec,
    statement_rows,
    statements_frame,
)

START = "2023-12-01"  # explicit, before every synthetic row: the grid never moves


@PROPERTY
@given(
    frequency=frequencies,
    past_events=event_rows(0, 120),
    past_statements=statement_rows(0, 120),
    cut=st.integers(35, 120),
    new_events=event_rows(0, 200, max_size=15),
    new_statements=statement_rows(0, 200, max_size=8),
)
def test_rows_dated_after_t_change_nothing_at_t(
    frequency: str,
    past_events: list[Any],
    past_statements: list[Any],
    cut: int,
    new_events: list[Any],
    new_statements: list[Any],
) -> None:
    """Adding events/statements dated after t leaves every feature at t unchanged."""
    s = spec(frequency)
    as_of = day(cut)
    before = [r for r in past_events if r[0] <= cut]
    after = [(cut + 1 + r[0], *r[1:]) for r in new_events]
    s_before = [r for r in past_statements if r[0] <= cut]
    s_after = [(cut + 1 + r[0], *r[1:]) for r in new_statements]
    panel = build_panel(
        s, events_frame(before), statements_frame(s_before), None, as_of=as_of, start=START
    )
    grown = build_panel(
        s,
        events_frame(before + after),
        statements_frame(s_before + s_after),
        None,
        as_of=day(cut + 250),
        start=START,
    )
    t = panel.frame.index[-1]
    pd.testing.assert_frame_equal(grown.frame.loc[:t], panel.frame, check_freq=False)
    # and the later panel as of the same day rebuilds exactly what was knowable
    again = build_panel(
        s,
        events_frame(before + after),
        statements_frame(s_before + s_after),
        None,
        as_of=as_of,
        start=START,
    )
    pd.testing.assert_frame_equal(again.frame, panel.frame)


@PROPERTY
@given(
    frequency=frequencies,
    events=event_rows(0, 120),
    statements=statement_rows(0, 120),
    seed=st.integers(0, 2**32 - 1),
    default_start=st.booleans(),
)
def test_shuffling_input_rows_changes_nothing(
    frequency: str, events: list[Any], statements: list[Any], seed: int, default_start: bool
) -> None:
    s = spec(frequency)
    rng = np.random.default_rng(seed)
    ev, stm = events_frame(events), statements_frame(statements)
    shuffled_ev = ev.iloc[rng.permutation(len(ev))].reset_index(drop=True)
    shuffled_stm = stm.iloc[rng.permutation(len(stm))]
    has_target = any(r[1] == "attack" and r[2] in ("Iraq", "Syria") for r in events)
    start = None if default_start and has_target else START
    a = build_panel(s, ev, stm, None, as_of=day(150), start=start)
    b = build_panel(s, shuffled_ev, shuffled_stm, None, as_of=day(150), start=start)
    pd.testing.assert_frame_equal(a.frame, b.frame)


@PROPERTY
@given(frequency=frequencies, events=event_rows(0, 120), statements=statement_rows(0, 120))
def test_counts_and_intensities_are_non_negative(
    frequency: str, events: list[Any], statements: list[Any]
) -> None:
    f = build_panel(
        spec(frequency),
        events_frame(events),
        statements_frame(statements),
        None,
        as_of=day(150),
        start=START,
    ).frame
    signed = [c for c in f.columns if c.startswith(PREFIX_CALENDAR + "year_")]
    values = f.drop(columns=signed).to_numpy()
    assert np.all(values[~np.isnan(values)] >= 0)
    exogenous = f.filter(regex="^(ret|stm|cal)_")
    assert not exogenous.isna().any().any()
    assert (f[COUNT] == np.round(f[COUNT])).all()


@st.composite
def tallies(draw: st.DrawFn) -> list[tuple[str, str, float]]:
    """Non-overlapping observations: single days and multi-day tallies (synthetic)."""
    rows: list[tuple[str, str, float]] = []
    at = 0
    for _ in range(draw(st.integers(1, 12))):
        at += draw(st.integers(0, 4))
        length = draw(st.sampled_from([1, 1, 2, 5, 9]))
        rows.append(
            (str(day(at).date()), str(day(at + length).date()), float(draw(st.integers(0, 30))))
        )
        at += length
    return rows


@PROPERTY
@given(frequency=frequencies, rows=tallies(), cut=st.integers(0, 80), seed=st.integers(0, 99))
def test_observed_series_is_leak_free_and_order_free(
    frequency: str, rows: list[tuple[str, str, float]], cut: int, seed: int
) -> None:
    s = observed_spec(frequency)
    obs = observations_frame(rows)
    as_of = day(cut)
    known = obs[obs["end"] - pd.Timedelta(days=1) <= as_of]
    first_end = obs["end"].min() - pd.Timedelta(days=1)
    full = build_panel(s, None, None, obs, as_of=day(200), start=START)
    shuffled = obs.sample(frac=1.0, random_state=seed)
    pd.testing.assert_frame_equal(
        build_panel(s, None, None, shuffled, as_of=day(200), start=START).frame, full.frame
    )
    pd.testing.assert_frame_equal(
        build_panel(s, None, None, shuffled, as_of=day(200), start=START).intervals,
        full.intervals,
    )
    if known.empty:
        return
    try:
        past = build_panel(s, None, None, obs, as_of=as_of, start=START)
    except InputError:
        # nothing complete yet: the first observation ends after as_of or mid-period
        assert first_end > as_of or frequency != "D"
        return
    t = past.frame.index[-1]
    pd.testing.assert_frame_equal(full.frame.loc[:t], past.frame, check_freq=False)
    assert (past.frame[COUNT].dropna() >= 0).all()
    # intervals lie wholly inside the panel's rows and were known on as_of
    end_of_panel = t + past.frame.index.freq
    assert (past.intervals["end"] <= end_of_panel).all()
    assert (past.intervals["start"] >= past.frame.index[0]).all()
    assert past.intervals["count"].sum() <= known["count"].sum()


@PROPERTY
@given(
    frequency=frequencies,
    rows=tallies(),
    past_events=event_rows(0, 120),
    cut=st.integers(10, 120),
    new_events=event_rows(0, 80, max_size=15),
)
def test_sampled_view_is_leak_free(
    frequency: str,
    rows: list[tuple[str, str, float]],
    past_events: list[Any],
    cut: int,
    new_events: list[Any],
) -> None:
    """A tally series with a sampled view: rows dated after t (events, tallies) change
    nothing at t, except counts of periods no tally had reported by t."""
    s = observed_spec(frequency, sampled={KIND: "attack"})
    obs = observations_frame(rows)
    as_of = day(cut)
    known = obs[obs["end"] - pd.Timedelta(days=1) <= as_of]
    before = [r for r in past_events if r[0] <= cut]
    after = [(cut + 1 + r[0], *r[1:]) for r in new_events]
    try:
        past = build_panel(s, events_frame(before), None, known, as_of=as_of, start=START)
    except InputError:
        return
    grown = build_panel(s, events_frame(before + after), None, obs, as_of=day(200), start=START)
    assert SAMPLED_COUNT in past.frame.columns
    t = past.frame.index[-1]
    rest = [c for c in past.frame.columns if c != COUNT and not c.startswith(PREFIX_COUNT_FEATURE)]
    pd.testing.assert_frame_equal(grown.frame.loc[:t, rest], past.frame[rest], check_freq=False)
    reported = past.frame.index <= _last_reported(past)
    pd.testing.assert_frame_equal(
        grown.frame.loc[:t].loc[reported], past.frame.loc[reported], check_freq=False
    )
    matched = [r for r in before if r[1] == "attack"]
    assert past.frame[SAMPLED_COUNT].sum() <= len(matched)


def _last_reported(panel: Any) -> pd.Timestamp:
    """The last period whose count or interval was known to the panel."""
    f, iv = panel.frame, panel.intervals
    last = f[COUNT].last_valid_index()
    candidates = [pd.Timestamp(x) for x in (last,) if x is not None]
    if not iv.empty:
        candidates.append(pd.Timestamp(iv["end"].max()) - f.index.freq)
    return max(candidates, default=f.index[0] - f.index.freq)
