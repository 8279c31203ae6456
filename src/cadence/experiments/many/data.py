"""Stored rows of many series, read once and split per series.

``load_series_data`` reads every event and statement for one series; for thousands of
series that is thousands of full reads. ``load_many`` reads events and statements once
and gives each series only the rows it can use: events matching its target or its
retaliation filter, statements matching its statement filter, plus the latest event of
each source (where a feed ends decides where a series counted from it ends,
``features.last_data_day``). Panels, truths and backtests built from these subsets equal
those built from all rows: the features read only rows the filters select.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from cadence.columns import SOURCE
from cadence.experiments.data import SeriesData
from cadence.features import SeriesSpec
from cadence.features.spec import apply_filter
from cadence.store.reads import events_frame, observations_frame, statements_frame
from cadence.store.series_repo import get_series

__all__ = ["load_many", "series_subset"]


def _feed_ends(events: pd.DataFrame) -> np.ndarray:
    """Mask of the latest event of each source (of all events when there is no source)."""
    mask = np.zeros(len(events), dtype=bool)
    if events.empty:
        return mask
    if SOURCE not in events.columns:
        mask[-1] = True
        return mask
    # frames are read oldest first: the last row of a source is its latest
    last = ~events[SOURCE].astype("string").fillna("").duplicated(keep="last")
    return np.asarray(last.to_numpy(dtype=bool))


def series_subset(
    spec: SeriesSpec,
    events: pd.DataFrame,
    statements: pd.DataFrame,
    observations: pd.DataFrame | None,
    *,
    feed_ends: np.ndarray | None = None,
) -> SeriesData:
    """``SeriesData`` of ``spec`` holding only the rows it can use (see the module).
    ``feed_ends``: ``_feed_ends(events)``, computed once by callers splitting many
    series. Raises ``features.errors.SpecError`` for a filter naming an unknown field."""
    keep = feed_ends if feed_ends is not None else _feed_ends(events)
    if not spec.observed:
        keep = keep | apply_filter(events, spec.target)
    if spec.retaliation is not None:
        keep = keep | apply_filter(events, spec.retaliation)
    ev = events[keep]
    st = (
        statements[apply_filter(statements, spec.statements)]
        if spec.statements is not None
        else statements.iloc[0:0]
    )
    return SeriesData(spec=spec, events=ev, statements=st, observations=observations)


def load_many(
    engine: Engine, names: Sequence[str], *, known_at: dt.datetime | None = None
) -> tuple[dict[str, SeriesData], dict[str, str]]:
    """Series data of ``names`` (in that order) and, for each series that could not be
    read, the reason (unknown series, invalid definition, a filter on an unknown field).
    Series with no rows are returned and fail when their panel is built, per series."""
    events = events_frame(engine, known_at=known_at)
    statements = statements_frame(engine, known_at=known_at)
    ends = _feed_ends(events)
    datas: dict[str, SeriesData] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            spec = SeriesSpec.from_dict(get_series(engine, name).definition)
            obs = observations_frame(engine, name, known_at=known_at) if spec.observed else None
            datas[name] = series_subset(spec, events, statements, obs, feed_ends=ends)
        except Exception as exc:  # one unreadable series is reported, the rest still run
            errors[name] = f"{type(exc).__name__}: {exc}"
    return datas, errors
