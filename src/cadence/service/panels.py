"""Stored rows -> feature panels: the bridge between ``store`` and ``features``."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine

from cadence.experiments.data import read_series_rows
from cadence.features import Panel, SeriesSpec, build_panel
from cadence.features.extent import last_data_day
from cadence.store.series_repo import get_series


def spec_for(engine: Engine, name: str) -> SeriesSpec:
    return SeriesSpec.from_dict(get_series(engine, name).definition)


def latest_day(
    engine: Engine, spec: SeriesSpec, known_at: dt.datetime | None = None
) -> pd.Timestamp:
    """The last day the series' target has data for (its default as-of date; see
    ``features.last_data_day``)."""
    events, _, obs = read_series_rows(engine, spec, known_at=known_at)
    return last_data_day(spec, events, obs)


def load_panel(
    engine: Engine,
    name: str,
    *,
    as_of: dt.date | pd.Timestamp | None = None,
    known_at: dt.datetime | None = None,
) -> Panel:
    """The panel of series ``name`` as known on ``as_of`` (default: its latest day).

    Only the series' rows (``experiments.data.read_series_rows``) dated on or before
    ``as_of`` are read; with ``known_at`` only rows ingested by then (a replay of what the
    database held at that instant)."""
    spec = spec_for(engine, name)
    if as_of is not None:
        day = pd.Timestamp(as_of)
        events, statements, obs = read_series_rows(engine, spec, end=day.date(), known_at=known_at)
    else:  # one read finds the latest day and holds every row up to it
        events, statements, obs = read_series_rows(engine, spec, known_at=known_at)
        day = last_data_day(spec, events, obs)
    return build_panel(spec, events, statements, obs, as_of=day)
