"""One series' panel: columns, definitions, driver semantics, weekly/monthly, as-of."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNT, EXOGENOUS_PREFIXES, PANDAS_FREQ, PREFIX_SAMPLED, SAMPLED_COUNT
from cadence.features import (
    InputError,
    SpecError,
    build_panel,
    exogenous_columns,
    feature_definitions,
    last_data_day,
)
from tests.features.synthetic_frames import (
    events_frame,
    observations_frame,
    observed_spec,
    spec,
    statements_frame,
)


@pytest.mark.parametrize("frequency", ["D", "W", "M"])
def test_columns_are_exactly_the_registered_features(
    frequency: str, events: pd.DataFrame, statements: pd.DataFrame
) -> None:
    panel = build_panel(spec(frequency), events, statements, None, as_of="2024-04-30")
    registered = [d.name for d in feature_definitions(frequency)]  # type: ignore[arg-type]
    assert list(panel.frame.columns) == [COUNT, *registered]
    index = panel.frame.index
    assert isinstance(index, pd.DatetimeIndex) and index.name == "date"
    assert index.freqstr == PANDAS_FREQ[frequency]
    assert index.is_monotonic_increasing


def test_definitions_are_documented_and_unique() -> None:
    defs = feature_definitions()
    assert len({(d.frequency, d.name) for d in defs}) == len(defs)
    assert {d.frequency for d in defs} == {"D", "W", "M"}
    for d in defs:
        assert d.description and d.unit and d.window
        assert d.name.startswith(("cnt_", *EXOGENOUS_PREFIXES))
        assert d.group in {"count", "retaliation", "statements", "calendar"}


def test_series_without_drivers_has_only_count_and_calendar(events: pd.DataFrame) -> None:
    bare = spec("D", drivers={})
    panel = build_panel(bare, events, None, None, as_of="2024-01-14")
    prefixes = {c.split("_")[0] for c in panel.frame.columns if c != COUNT}
    assert prefixes == {"cnt", "cal"}


def test_retaliation_decay_severity_and_windows(
    events: pd.DataFrame, statements: pd.DataFrame
) -> None:
    f = build_panel(spec("D"), events, statements, None, as_of="2024-01-14").frame
    strike = pd.Timestamp("2024-01-05")  # fatalities 3, severity 1
    assert f.loc[strike - pd.Timedelta(days=1), "ret_decay_3d"] == 0.0
    assert f.loc[strike, "ret_decay_3d"] == pytest.approx(1.0)
    assert f.loc[strike + pd.Timedelta(days=3), "ret_decay_3d"] == pytest.approx(0.5)
    assert f.loc[strike + pd.Timedelta(days=6), "ret_decay_7d"] == pytest.approx(0.5 ** (6 / 7))
    weight = 1 + math.log(4) + 1
    assert f.loc[strike, "ret_sev_decay_7d"] == pytest.approx(weight)
    # second strike on 01-12: no fatalities, no severity -> weight 1
    assert f.loc[pd.Timestamp("2024-01-12"), "ret_sev_decay_3d"] == pytest.approx(
        weight * 0.5 ** (7 / 3) + 1
    )
    assert f.loc[pd.Timestamp("2024-01-11"), "ret_count_7d"] == 1.0
    assert f.loc[pd.Timestamp("2024-01-12"), "ret_count_7d"] == 1.0  # 01-05 rolled off
    assert f.loc[pd.Timestamp("2024-01-12"), "ret_count_28d"] == 2.0
    since = f["ret_since_last"]
    assert since.iloc[:4].tolist() == [365.0] * 4
    assert since.loc["2024-01-05":"2024-01-08"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_statement_signals_pause_and_neutral(
    events: pd.DataFrame, statements: pd.DataFrame
) -> None:
    f = build_panel(spec("D"), events, statements, None, as_of="2024-01-14").frame
    pause = f["stm_pause"]
    # de-escalation on 01-02 starts a pause, escalation on 01-09 ends it, 01-13 starts one
    expected = [0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1]
    assert pause.tolist() == [float(v) for v in expected]
    assert f.loc["2024-01-09", "stm_esc_decay_3d"] == pytest.approx(2.0)  # intensity 2
    assert f.loc["2024-01-13", "stm_deesc_decay_3d"] == pytest.approx(0.5 * 1 + 0.5 ** (11 / 3))
    # the null stance on 01-06 is neutral: no signal, but it is a statement
    assert f.loc["2024-01-06", "stm_since_last"] == 0.0
    assert f.loc["2024-01-06", "stm_esc_decay_28d"] == 0.0
    assert f.loc["2024-01-06", "stm_deesc_decay_3d"] == pytest.approx(0.5 ** (4 / 3))


def test_same_day_escalation_ends_pause(events: pd.DataFrame) -> None:
    statements = statements_frame(
        [(1, "de-escalation", None), (3, "escalation", None), (3, "de-escalation", None)]
    )
    f = build_panel(spec("D"), events, statements, None, as_of="2024-01-05").frame
    assert f["stm_pause"].tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]


def test_weekly_pause_uses_order_within_the_week(events: pd.DataFrame) -> None:
    statements = statements_frame(
        [
            (8, "escalation", None),
            (10, "de-escalation", None),
            (15, "de-escalation", None),
            (18, "escalation", None),
        ]
    )
    f = build_panel(spec("W"), events, statements, None, as_of="2024-01-28").frame
    assert f["stm_pause"].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_panel_of_counts_matches_events(events: pd.DataFrame) -> None:
    f = build_panel(spec("D"), events, None, None, as_of="2024-01-14").frame
    assert f[COUNT].sum() == 4
    assert f.loc["2024-01-01", COUNT] == 2.0
    assert f.loc["2024-01-04", "cnt_lag_1"] == 0.0
    assert f.loc["2024-01-02", "cnt_lag_1"] == 2.0
    assert f.loc["2024-01-10", "cnt_sum_7d"] == 2.0
    assert f.loc["2024-01-11", "cnt_sum_7d"] == 1.0
    assert f.loc["2024-01-10", "cnt_sum_28d"] == 4.0
    assert f.loc["2024-01-12", "cnt_since_last"] == 2.0
    assert np.isnan(f.loc["2024-01-01", "cnt_lag_1"])


def test_weekly_panel_ends_at_last_complete_week(events: pd.DataFrame) -> None:
    wednesday = build_panel(spec("W"), events, None, None, as_of="2024-01-17").frame
    assert wednesday.index[-1] == pd.Timestamp("2024-01-08")
    sunday = build_panel(spec("W"), events, None, None, as_of="2024-01-21").frame
    assert sunday.index[-1] == pd.Timestamp("2024-01-15")
    assert wednesday[COUNT].tolist() == [3.0, 1.0]


def test_monthly_panel_has_exposure_term(events: pd.DataFrame) -> None:
    later = events_frame([(40, "attack", "Iraq", None, None)])
    f = build_panel(spec("M"), pd.concat([events, later]), None, None, as_of="2024-03-31").frame
    assert f.index.tolist() == list(pd.date_range("2024-01-01", periods=3, freq="MS"))
    assert f[COUNT].tolist() == [4.0, 1.0, 0.0]
    assert f["cal_days"].tolist() == [31.0, 29.0, 31.0]


def test_start_cuts_rows_but_history_still_counts(events: pd.DataFrame) -> None:
    full = build_panel(spec("D"), events, None, None, as_of="2024-01-14").frame
    cut = build_panel(spec("D"), events, None, None, as_of="2024-01-14", start="2024-01-07").frame
    assert cut.index[0] == pd.Timestamp("2024-01-07")
    pd.testing.assert_frame_equal(cut, full.loc["2024-01-07":].asfreq("D"))
    assert cut["ret_decay_28d"].iloc[0] > 0


def test_start_before_data_gives_zero_counts(events: pd.DataFrame) -> None:
    f = build_panel(spec("D"), events, None, None, as_of="2024-01-03", start="2023-12-30").frame
    assert f[COUNT].tolist() == [0.0, 0.0, 2.0, 0.0, 0.0]


def test_as_of_panel_is_the_prefix_of_a_later_panel(
    events: pd.DataFrame, statements: pd.DataFrame
) -> None:
    """What a modeler checks: rebuild as of a past date after later events arrived."""
    later_events = events_frame(
        [
            (35, "attack", "Iraq", None, None),
            (35, "retaliation", "Iraq", 9.0, 2.0),
            (45, "attack", "Syria", None, None),
        ]
    )
    later_statements = statements_frame([(36, "escalation", 3.0)])
    for frequency in ("D", "W", "M"):
        s = spec(frequency)
        past = build_panel(s, events, statements, None, as_of="2024-02-04")
        now = build_panel(
            s,
            pd.concat([events, later_events]),
            pd.concat([statements, later_statements]),
            None,
            as_of="2024-03-01",
        )
        rebuilt = build_panel(
            s,
            pd.concat([events, later_events]),
            pd.concat([statements, later_statements]),
            None,
            as_of="2024-02-04",
        )
        pd.testing.assert_frame_equal(rebuilt.frame, past.frame)
        if len(past.frame):
            prefix = now.frame.loc[: past.frame.index[-1]]
            pd.testing.assert_frame_equal(prefix, past.frame, check_freq=False)
            assert len(now.frame) > len(past.frame)


def test_weekly_as_of_before_first_complete_week_raises(events: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="no complete period"):
        build_panel(spec("M"), events, None, None, as_of="2024-01-20")


def test_observed_series_counts_and_intervals() -> None:
    obs = observations_frame(
        [
            ("2024-01-01", "2024-01-02", 1),
            ("2024-01-02", "2024-01-06", 8),
            ("2024-01-06", "2024-01-07", 0),
            ("2024-01-07", "2024-01-12", 6),
        ]
    )
    s = observed_spec("D")
    panel = build_panel(s, None, None, obs, as_of="2024-01-20")
    f = panel.frame
    assert f.index[-1] == pd.Timestamp("2024-01-11")  # last covered day
    np.testing.assert_array_equal(f[COUNT].iloc[:6], [1, np.nan, np.nan, np.nan, np.nan, 0])
    assert panel.intervals[COUNT].tolist() == [8.0, 6.0]
    # the 6-day tally ending 01-11 is not known on 01-10
    early = build_panel(s, None, None, obs, as_of="2024-01-10")
    assert early.frame.index[-1] == pd.Timestamp("2024-01-06")
    assert early.intervals[COUNT].tolist() == [8.0]
    # unknown counts: sums skip them, ewm weights only known periods
    assert f.loc["2024-01-05", "cnt_sum_7d"] == 1.0
    assert f.loc["2024-01-06", "cnt_ewm_3d"] < 1.0
    # no retaliation driver rows: features are zero, not missing
    assert (f["ret_decay_7d"] == 0).all()


def test_observed_series_with_start_after_an_interval_drops_it() -> None:
    obs = observations_frame([("2024-01-01", "2024-01-04", 5), ("2024-01-04", "2024-01-05", 1)])
    panel = build_panel(observed_spec("D"), None, None, obs, as_of="2024-01-10", start="2024-01-02")
    assert panel.intervals.empty
    assert panel.frame.index[0] == pd.Timestamp("2024-01-02")


def test_no_target_events_without_start_raises(events: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="no target event"):
        build_panel(spec("D"), events, None, None, as_of="2023-12-31")


def test_bad_driver_inputs_raise(events: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="field 'stance'"):
        build_panel(
            spec("D"), events, statements_frame([(1, "angry", None)]), None, as_of="2024-01-05"
        )
    with pytest.raises(InputError, match="field 'intensity': expected >= 0"):
        build_panel(
            spec("D"), events, statements_frame([(1, "escalation", -1.0)]), None, as_of="2024-01-05"
        )
    bad = events.assign(fatalities=["x"] * len(events))
    with pytest.raises(InputError, match="field 'fatalities': expected a number"):
        build_panel(spec("D"), bad, None, None, as_of="2024-01-05")
    strict = spec("D", drivers={"statements": {"actor": "IRI"}})
    with pytest.raises(SpecError, match="'actor'"):
        build_panel(
            strict, events, statements_frame([(1, "escalation", None)]), None, as_of="2024-01-05"
        )


def test_exogenous_columns_selects_driver_and_calendar(events: pd.DataFrame) -> None:
    panel = build_panel(spec("D"), events, None, None, as_of="2024-01-05")
    cols = exogenous_columns(panel.frame)
    assert cols == list(panel.exogenous.columns)
    assert all(c.startswith(EXOGENOUS_PREFIXES) for c in cols)
    assert "cnt_lag_1" not in cols and COUNT not in cols
    assert panel.origin == pd.Timestamp("2024-01-05")


def test_sampled_view_extends_a_tally_series_to_as_of() -> None:
    """Tallies to day 9; sampled attacks on days 2, 2, 5 and 12 (and a protest on 13)."""
    s = observed_spec("D", sampled={"kind": "attack"})
    obs = observations_frame([("2024-01-01", "2024-01-05", 6.0), ("2024-01-05", "2024-01-10", 4.0)])
    rows = [(d, "attack", "Iraq", None, None) for d in (2, 2, 5, 12)]
    events = events_frame([*rows, (13, "protest", "Iraq", None, None)])
    panel = build_panel(s, events, None, obs, as_of="2024-01-16")
    f = panel.frame
    assert f.index[-1] == pd.Timestamp("2024-01-16")
    assert f[COUNT].isna().all()
    assert len(panel.intervals) == 2
    smp = f[SAMPLED_COUNT]
    assert smp.isna().sum() == 2  # before the first sampled attack
    assert smp.loc["2024-01-03"] == 2.0 and smp.loc["2024-01-13"] == 1.0
    assert smp.sum() == 4.0
    # a day after the last sampled row: the extent still reaches the feed's last row
    assert last_data_day(s, events, obs) == pd.Timestamp("2024-01-14")
    # without a sampled view the panel stops at the last tally and has no smp_ column
    plain = build_panel(observed_spec("D"), events, None, obs, as_of="2024-01-16")
    assert plain.frame.index[-1] == pd.Timestamp("2024-01-09")
    assert not any(c.startswith(PREFIX_SAMPLED) for c in plain.frame.columns)
    assert last_data_day(observed_spec("D"), events, obs) == pd.Timestamp("2024-01-09")
    assert SAMPLED_COUNT not in exogenous_columns(f)


def test_sampled_view_needs_events() -> None:
    s = observed_spec("D", sampled={"kind": "attack"})
    obs = observations_frame([("2024-01-01", "2024-01-05", 6.0)])
    with pytest.raises(InputError, match="declares a sampled view: expected events"):
        build_panel(s, None, None, obs, as_of="2024-01-16")
