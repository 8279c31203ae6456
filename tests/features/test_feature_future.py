"""The future side: deterministic continuation and scenarios (synthetic data)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadence.columns import PANDAS_FREQ
from cadence.features import (
    InputError,
    Scenario,
    ScenarioError,
    build_panel,
    future_frame,
)
from cadence.features.periods import PROFILES, first_day, to_ordinals
from tests.features.synthetic_frames import (
    PROPERTY,
    day,
    event_rows,
    events_frame,
    frequencies,
    spec,
    statement_rows,
    statements_frame,
)

START = "2023-12-01"


def _origin_and_end(frequency: str, origin_offset: int, horizon: int) -> tuple[Any, Any]:
    """Label of the period holding ``day(origin_offset)`` and the last day of origin + h."""
    d = int(np.datetime64(day(origin_offset).date(), "D").astype(np.int64))
    o = int(to_ordinals(np.array([d]), frequency)[0])  # type: ignore[arg-type]
    label = pd.Timestamp(np.datetime64(int(first_day(np.array([o]), frequency)[0]), "D"))  # type: ignore[arg-type]
    end = int(first_day(np.array([o + horizon + 1]), frequency)[0]) - 1  # type: ignore[arg-type]
    return label, pd.Timestamp(np.datetime64(end, "D"))


@PROPERTY
@given(
    frequency=frequencies,
    events=event_rows(0, 200),
    statements=statement_rows(0, 200),
    origin_offset=st.integers(40, 150),
    horizon=st.integers(1, 30),
)
def test_continuation_equals_the_panel_had_nothing_happened(
    frequency: str,
    events: list[Any],
    statements: list[Any],
    origin_offset: int,
    horizon: int,
) -> None:
    s = spec(frequency)
    origin, end = _origin_and_end(frequency, origin_offset, horizon)
    ev, stm = events_frame(events), statements_frame(statements)
    # events after the origin exist in the frames but are not known at the origin
    future = future_frame(s, ev, stm, origin=origin, horizon=horizon)
    cutoff = origin + pd.tseries.frequencies.to_offset(PANDAS_FREQ[frequency])
    quiet = build_panel(
        s, ev[ev["date"] < cutoff], stm[stm["date"] < cutoff], None, as_of=end, start=START
    )
    expected = quiet.exogenous.iloc[-horizon:]
    assert future.index[0] > origin
    pd.testing.assert_frame_equal(future, expected)


@PROPERTY
@given(
    frequency=frequencies,
    events=event_rows(0, 100),
    statements=statement_rows(0, 100),
    horizon=st.integers(1, 20),
    strikes=st.lists(
        st.tuples(st.integers(1, 600), st.floats(0, 4), st.integers(0, 20)), max_size=4
    ),
    said=st.lists(
        st.tuples(
            st.integers(1, 600),
            st.sampled_from(["escalation", "de-escalation", "neutral"]),
            st.floats(0, 3),
        ),
        max_size=4,
    ),
)
def test_scenario_equals_the_panel_had_those_events_happened(
    frequency: str,
    events: list[Any],
    statements: list[Any],
    horizon: int,
    strikes: list[tuple[int, float, int]],
    said: list[tuple[int, str, float]],
) -> None:
    s = spec(frequency)
    origin, end = _origin_and_end(frequency, 100, horizon)
    first_future = int((origin - day(0)).days) + {"D": 1, "W": 7}.get(frequency, 0)
    if frequency == "M":
        first_future = int((origin + pd.offsets.MonthBegin(1) - day(0)).days)
    span = int((end - day(0)).days) - first_future + 1
    scenario = Scenario()
    strike_rows, said_rows = [], []
    for offset, severity, fatalities in strikes:
        when = first_future + offset % span
        scenario = scenario.with_retaliation(day(when), severity=severity, fatalities=fatalities)
        strike_rows.append((when, "retaliation", "Iraq", float(fatalities), severity))
    for offset, stance, intensity in said:
        when = first_future + offset % span
        scenario = scenario.with_statement(day(when), stance, intensity=intensity)  # type: ignore[arg-type]
        said_rows.append((when, stance, intensity))
    past_ev = events_frame([r for r in events if r[0] < first_future])
    past_stm = statements_frame([r for r in statements if r[0] < first_future])
    future = future_frame(s, past_ev, past_stm, origin=origin, horizon=horizon, scenario=scenario)
    happened = build_panel(
        s,
        pd.concat([past_ev, events_frame(strike_rows)]),
        pd.concat([past_stm, statements_frame(said_rows)]),
        None,
        as_of=end,
        start=START,
    )
    pd.testing.assert_frame_equal(future, happened.exogenous.iloc[-horizon:], rtol=1e-12)


def test_decays_keep_decaying_counters_count_windows_roll_off(
    events: pd.DataFrame, statements: pd.DataFrame
) -> None:
    f = future_frame(spec("D"), events, statements, origin="2024-01-14", horizon=30)
    assert f.index.freqstr == "D" and f.index[0] == pd.Timestamp("2024-01-15")
    assert len(f) == 30
    assert np.all(np.diff(f["ret_decay_7d"]) < 0)
    assert f["ret_since_last"].tolist()[:3] == [3.0, 4.0, 5.0]
    # the retaliation on 01-12 leaves the 7-day window on 01-19, the 28-day one on 02-09
    assert f.loc["2024-01-18", "ret_count_7d"] == 1.0
    assert f.loc["2024-01-19", "ret_count_7d"] == 0.0
    assert f.loc["2024-02-08", "ret_count_28d"] == 1.0
    assert f.loc["2024-02-09", "ret_count_28d"] == 0.0
    assert (f["stm_pause"] == 1.0).all()  # the pause announced on 01-13 holds
    assert f.loc["2024-01-16", "cal_dow_tue"] == 1.0


def test_scenario_strike_raises_intensity_from_its_day(
    events: pd.DataFrame, statements: pd.DataFrame
) -> None:
    s = spec("D")
    base = future_frame(s, events, statements, origin="2024-01-14", horizon=10)
    scenario = (
        Scenario()
        .with_retaliation("2024-01-17", severity=2.0, fatalities=3)
        .with_statement("2024-01-19", "escalation", intensity=2.0)
    )
    hit = future_frame(s, events, statements, origin="2024-01-14", horizon=10, scenario=scenario)
    before = hit.index < pd.Timestamp("2024-01-17")
    pd.testing.assert_frame_equal(hit[before], base[before])
    weight = 1 + np.log(4) + 2
    jump = hit.loc["2024-01-17", "ret_sev_decay_3d"] - base.loc["2024-01-17", "ret_sev_decay_3d"]
    assert jump == pytest.approx(weight)
    assert hit.loc["2024-01-17", "ret_since_last"] == 0.0
    assert hit.loc["2024-01-18", "stm_pause"] == 1.0
    assert hit.loc["2024-01-19", "stm_pause"] == 0.0  # escalation ends the pause
    assert hit.loc["2024-01-19", "stm_esc_decay_3d"] == pytest.approx(
        base.loc["2024-01-19", "stm_esc_decay_3d"] + 2.0
    )


def test_weekly_and_monthly_future_index(events: pd.DataFrame) -> None:
    weekly = future_frame(spec("W"), events, None, origin="2024-01-08", horizon=4)
    assert weekly.index.freqstr == "W-MON"
    assert weekly.index[0] == pd.Timestamp("2024-01-15")
    monthly = future_frame(spec("M"), events, None, origin="2024-01-01", horizon=3)
    assert monthly.index.tolist() == list(pd.date_range("2024-02-01", periods=3, freq="MS"))
    assert monthly["cal_days"].tolist() == [29.0, 31.0, 30.0]
    assert set(monthly.columns) >= {f"ret_decay_{h}m" for h in PROFILES["M"].half_lives}


def test_columns_match_the_panel(events: pd.DataFrame, statements: pd.DataFrame) -> None:
    panel = build_panel(spec("D"), events, statements, None, as_of="2024-01-14")
    future = future_frame(spec("D"), events, statements, origin=panel.origin, horizon=2)
    assert list(future.columns) == list(panel.exogenous.columns)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"origin": "2024-01-10", "horizon": 0}, InputError, "horizon"),
        ({"origin": "2024-01-10", "horizon": 2.5}, InputError, "horizon"),
        ({"origin": "2024-01-10", "horizon": 3, "freq": "W"}, InputError, "first day of a period"),
        (
            {
                "origin": "2024-01-10",
                "horizon": 3,
                "scenario": Scenario().with_retaliation("2024-01-10"),
            },
            ScenarioError,
            "in the horizon",
        ),
        (
            {
                "origin": "2024-01-10",
                "horizon": 3,
                "scenario": Scenario().with_retaliation("2024-01-14"),
            },
            ScenarioError,
            "in the horizon",
        ),
        (
            {
                "origin": "2024-01-10",
                "horizon": 3,
                "scenario": Scenario().with_statement("2024-01-11", "angry"),
            },  # type: ignore[arg-type]
            ScenarioError,
            "stance",
        ),
        (
            {
                "origin": "2024-01-10",
                "horizon": 3,
                "scenario": Scenario().with_statement("2024-01-11", "escalation", intensity=-1),
            },
            ScenarioError,
            "intensity",
        ),
    ],
)
def test_bad_future_requests_raise(
    events: pd.DataFrame, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    s = spec(kwargs.pop("freq", "D"))
    with pytest.raises(error, match=match):
        future_frame(s, events, None, **kwargs)


def test_scenario_for_a_missing_driver_raises(events: pd.DataFrame) -> None:
    bare = spec("D", drivers={})
    with pytest.raises(ScenarioError, match="no retaliation driver"):
        future_frame(
            bare,
            events,
            None,
            origin="2024-01-10",
            horizon=2,
            scenario=Scenario().with_retaliation("2024-01-11"),
        )
    with pytest.raises(ScenarioError, match="no statement driver"):
        future_frame(
            bare,
            events,
            None,
            origin="2024-01-10",
            horizon=2,
            scenario=Scenario().with_statement("2024-01-11", "neutral"),
        )
