"""Where a series counted from events ends: as far as the sources of its target events
run, not as far as any stored event (another theatre's strikes, say). Synthetic rows."""

from __future__ import annotations

import pandas as pd

from cadence.columns import DATE, KIND, SOURCE, STANCE, TARGET
from cadence.experiments.data import SeriesData
from cadence.features import SeriesSpec

SPEC = {
    "name": "synthetic-attacks",
    "frequency": "D",
    "target": {"events": {"kind": "attack", "target": "US forces"}},
    "drivers": {"retaliation": {"kind": "retaliation"}},
}


def _events(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[DATE, KIND, TARGET, SOURCE])
    frame[DATE] = pd.to_datetime(frame[DATE]).astype("datetime64[s]")
    frame["fatalities"] = 0.0
    return frame


def _data(rows: list[tuple[str, str, str, str]]) -> SeriesData:
    statements = pd.DataFrame({DATE: pd.Series([], dtype="datetime64[s]"), STANCE: [], SOURCE: []})
    return SeriesData(SeriesSpec.from_dict(SPEC), _events(rows), statements, None)


ROWS = [
    ("2024-01-01", "attack", "US forces", "news-list"),
    ("2024-01-20", "attack", "US forces", "news-list"),
    ("2024-01-25", "protest", "", "news-list"),  # the list still ran on the 25th
    ("2024-06-30", "retaliation", "", "strikes-list"),  # another source runs on
]


def test_an_event_series_ends_where_its_target_sources_end() -> None:
    d = _data(ROWS)
    assert d.last_day == pd.Timestamp("2024-01-25")
    assert d.last_period == pd.Timestamp("2024-01-25")
    # the quiet days at the end of its own source are zeros, later strikes are not days
    assert d.full_panel.frame["count"].loc["2024-01-21":].sum() == 0
    assert d.full_panel.frame.index[-1] == pd.Timestamp("2024-01-25")


def test_a_target_source_with_later_rows_extends_the_series() -> None:
    d = _data([*ROWS, ("2024-02-10", "attack", "other forces", "news-list")])
    assert d.last_day == pd.Timestamp("2024-02-10")
