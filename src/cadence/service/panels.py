"""Stored rows -> feature panels: the bridge between ``store`` and ``features``."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine

from cadence.features import Panel, SeriesSpec, build_panel
from cadence.features.extent import last_data_day
from cadence.store.reads import events_frame, observations_frame, statements_frame
from cadence.store.series_repo import get_series


def spec_for(engine: Engine, name: str) -> SeriesSpec:
    return SeriesSpec.from_dict(get_series(engine, name).definition)


def latest_day(
    engine: Engine, spec: SeriesSpec, known_at: dt.datetime | None = None
) -> pd.Timestamp:
    """The last day the series' target has data for (its default as-of date; see
    ``features.last_data_day``)."""
    obs = observations_frame(engine, spec.name, known_at=known_at) if spec.observed else None
    events = events_frame(engine, known_at=known_at) if not spec.observed else None
    return last_data_day(spec, events if events is not None else pd.DataFrame(), obs)


def load_panel(
    engine: Engine,
    name: str,
    *,
    as_of: dt.date | pd.Timestamp | None = None,
    known_at: dt.datetime | None = None,
) -> Panel:
    """The panel of series ``name`` as known on ``as_of`` (default: its latest day).

    Only rows dated on or before ``as_of`` are read; with ``known_at`` only rows ingested
    by then (a replay of what the database held at that instant)."""
    spec = spec_for(engine, name)
    day = pd.Timestamp(as_of) if as_of is not None else latest_day(engine, spec, known_at)
    end = day.date()
    events = events_frame(engine, end=end, known_at=known_at)
    statements = statements_frame(engine, end=end, known_at=known_at)
    obs = observations_frame(engine, name, known_at=known_at) if spec.observed else None
    return build_panel(spec, events, statements, obs, as_of=day)
