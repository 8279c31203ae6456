"""Stored rows of one series, held in memory so any panel as of any origin can be rebuilt.

Time convention: periods are labelled by their first day (``cadence.columns``). An
*origin* is the label of the last observed period; ``panel(as_of)`` and
``future(origin, ...)`` see only rows dated on or before the origin period's last day
(events and statements by ``date``, observations by their last day ``end - 1``). The rows
are filtered here as well as in ``cadence.features`` so that no later row even reaches
the feature code. ``truth`` is the only method that looks past an origin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from cadence.columns import COUNT, DATE, END, PANDAS_FREQ, Frequency
from cadence.experiments.errors import SeriesDataError
from cadence.features import Panel, Scenario, SeriesSpec, build_panel, future_frame
from cadence.features.errors import InputError
from cadence.features.extent import last_data_day
from cadence.store.reads import events_frame, observations_frame, statements_frame
from cadence.store.series_repo import get_series

__all__ = [
    "SeriesData",
    "load_series_data",
    "period_end",
    "period_label",
    "periods_between",
    "read_series_rows",
    "shift_periods",
]


def period_label(day: object, frequency: Frequency) -> pd.Timestamp:
    """Label (first day) of the period holding ``day``."""
    ts = pd.Timestamp(day).normalize()
    if frequency == "W":
        return ts - pd.Timedelta(days=ts.weekday())
    if frequency == "M":
        return ts.replace(day=1)
    return ts


def shift_periods(label: pd.Timestamp, n: int, frequency: Frequency) -> pd.Timestamp:
    """The label ``n`` periods after ``label`` (before it when ``n < 0``)."""
    if frequency == "W":
        return label + pd.Timedelta(weeks=n)
    if frequency == "M":
        return label + pd.DateOffset(months=n)
    return label + pd.Timedelta(days=n)


def periods_between(a: pd.Timestamp, b: pd.Timestamp, frequency: Frequency) -> int:
    """How many periods label ``b`` lies after label ``a`` (negative when before):
    ``shift_periods(a, n, frequency) == b``."""
    if frequency == "M":
        return (b.year - a.year) * 12 + (b.month - a.month)
    days = (b.normalize() - a.normalize()).days
    return days // 7 if frequency == "W" else days


def period_end(label: pd.Timestamp, frequency: Frequency) -> pd.Timestamp:
    """Last day of the period labelled ``label``."""
    return shift_periods(label, 1, frequency) - pd.Timedelta(days=1)


def horizon_index(origin: pd.Timestamp, horizon: int, frequency: Frequency) -> pd.DatetimeIndex:
    """Labels of the ``horizon`` periods after ``origin``."""
    first = shift_periods(origin, 1, frequency)
    return pd.date_range(first, periods=horizon, freq=PANDAS_FREQ[frequency], name=DATE)


@dataclass(frozen=True)
class SeriesData:
    """Everything needed to rebuild the panel of ``spec`` as of any day.

    ``events`` and ``statements`` as ``cadence.store.reads`` returns them (``date`` as
    datetime64); ``observations`` (``series``, ``start``, ``end`` exclusive, ``count``)
    for observed series, else None.
    """

    spec: SeriesSpec
    events: pd.DataFrame
    statements: pd.DataFrame
    observations: pd.DataFrame | None
    # panels and future frames already built, by as-of day / (origin, horizon): every
    # model of a backtest fits on the same panel at an origin
    _cache: dict[tuple[object, ...], object] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def frequency(self) -> Frequency:
        return self.spec.frequency

    @cached_property
    def last_day(self) -> pd.Timestamp:
        """The last day the series' target has data for (``features.last_data_day``)."""
        try:
            return last_data_day(self.spec, self.events, self.observations)
        except InputError as exc:
            raise SeriesDataError(str(exc)) from exc

    def known_on(self, day: object) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
        """Events, statements and observations dated on or before ``day``."""
        cut = pd.Timestamp(day).normalize()
        ev = self.events[self.events[DATE] <= cut]
        st = self.statements[self.statements[DATE] <= cut]
        obs = None
        if self.observations is not None:
            # an observation is known once its last day (end - 1) has passed
            obs = self.observations[self.observations[END] <= cut + pd.Timedelta(days=1)]
        return ev, st, obs

    def panel(self, as_of: object) -> Panel:
        """``features.build_panel`` as of day ``as_of``, from rows dated <= ``as_of``."""
        key = ("panel", pd.Timestamp(as_of))
        hit = self._cache.get(key)
        if isinstance(hit, Panel):
            return hit
        ev, st, obs = self.known_on(as_of)
        panel = build_panel(self.spec, ev, st, obs, as_of=as_of)
        self._cache[key] = panel
        return panel

    def future(
        self, origin: object, horizon: int, scenario: Scenario | None = None
    ) -> pd.DataFrame:
        """``features.future_frame`` for the ``horizon`` periods after the period labelled
        ``origin``, from rows dated on or before that period's last day."""
        label = pd.Timestamp(origin)
        key = ("future", label, horizon)
        hit = self._cache.get(key) if scenario is None else None
        if isinstance(hit, pd.DataFrame):
            return hit.copy()
        ev, st, _ = self.known_on(period_end(label, self.frequency))
        frame = future_frame(self.spec, ev, st, origin=label, horizon=horizon, scenario=scenario)
        if scenario is None:
            self._cache[key] = frame.copy()
        return frame

    def clear_cache(self) -> None:
        """Forget the panels and future frames built so far."""
        self._cache.clear()

    @cached_property
    def full_panel(self) -> Panel:
        """The panel as of ``last_day``: the source of truth for scoring."""
        return self.panel(self.last_day)

    @property
    def first_period(self) -> pd.Timestamp:
        return pd.Timestamp(self.full_panel.frame.index[0])

    @property
    def last_period(self) -> pd.Timestamp:
        return pd.Timestamp(self.full_panel.frame.index[-1])

    @property
    def last_reported_period(self) -> pd.Timestamp:
        """The last period whose count or interval total is known: ``last_period``
        unless a sampled view runs the panel past the last report."""
        panel = self.full_panel
        known = panel.frame.index[panel.frame[COUNT].notna().to_numpy()]
        ends = [shift_periods(pd.Timestamp(e), -1, self.frequency) for e in panel.intervals[END]]
        return max([*known, *ends], default=self.last_period)

    def truth(self, origin: object, horizon: int) -> np.ndarray:
        """Observed counts of the ``horizon`` periods after ``origin``, float shape
        ``(horizon,)``; NaN where unknown (after the data ends, or a day known only as
        part of an interval total)."""
        idx = horizon_index(pd.Timestamp(origin), horizon, self.frequency)
        counts = self.full_panel.frame[COUNT].reindex(idx)
        return counts.to_numpy(dtype=float)

    @property
    def has_intervals(self) -> bool:
        """True when some counts are known only as totals over several periods."""
        return not self.full_panel.intervals.empty


def read_series_rows(
    engine: Engine,
    spec: SeriesSpec,
    *,
    end: dt.date | None = None,
    known_at: dt.datetime | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """The stored rows ``spec`` can use, dated on or before ``end``: events its target,
    sampled-view or retaliation filter may select plus the latest event of each of their
    sources (where the series or its sampled feed ends), statements its statement filter
    may select, and its observations. Filters are narrowed in SQL, so the read costs the
    series' rows, not the tables'."""
    event_filters = [f for f in (spec.target, spec.sampled, spec.retaliation) if f is not None]
    events = events_frame(
        engine,
        end=end,
        known_at=known_at,
        match=event_filters,
        feed_ends=not spec.observed or spec.sampled is not None,
    )
    statement_filters = [spec.statements] if spec.statements is not None else []
    statements = statements_frame(engine, end=end, known_at=known_at, match=statement_filters)
    obs = observations_frame(engine, spec.name, known_at=known_at) if spec.observed else None
    return events, statements, obs


def load_series_data(
    engine: Engine, name: str, *, known_at: dt.datetime | None = None
) -> SeriesData:
    """Read series ``name`` (its catalog definition and every stored row it may use,
    ``read_series_rows``).

    ``known_at`` replays what the database held at that instant (rows ingested by
    then). Raises ``cadence.store.errors.NotFoundError`` for an unknown series and
    ``SeriesDataError`` when the series has no rows.
    """
    spec = SeriesSpec.from_dict(get_series(engine, name).definition)
    events, statements, obs = read_series_rows(engine, spec, known_at=known_at)
    data = SeriesData(spec=spec, events=events, statements=statements, observations=obs)
    try:
        _ = data.full_panel
    except InputError as exc:
        raise SeriesDataError(f"series {name!r}: {exc}") from exc
    return data
