"""Reads of stored rows as DataFrames, in the column names of ``cadence.columns``.

Dates come back as ``datetime64`` (day precision), ``extra`` as dicts. ``known_at``
restricts every read to rows first ingested at or before that instant (UTC), each as it
stood then: a row corrected later is read with its values before the correction
(``cadence.store.versions``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence

import pandas as pd
from sqlalchemy import ColumnElement, Engine, Select, Table, func, or_, select

from cadence import columns as C
from cadence.store.errors import NotFoundError
from cadence.store.feed_ends import feed_end_ids
from cadence.store.row_filters import RowFilter, filters_clause
from cadence.store.tables import (
    events_table,
    forecasts_table,
    jobs_table,
    observations_table,
    series_table,
    statements_table,
)
from cadence.store.versions import restore_versions


def _extra(text: object) -> dict[str, object] | None:
    """Stored extra JSON as a dict without the null (blank) entries."""
    if not isinstance(text, str):
        return None
    return {k: v for k, v in json.loads(text).items() if v is not None}


def _frame(
    engine: Engine,
    stmt: Select[tuple[object, ...]],
    date_cols: tuple[str, ...],
    fix: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(stmt)
        df = pd.DataFrame(result.all(), columns=list(result.keys()))
    if fix is not None:
        df = fix(df)
    for c in date_cols:
        df[c] = pd.to_datetime(df[c]).astype("datetime64[s]")
    if C.EXTRA in df.columns:
        df[C.EXTRA] = [_extra(x) for x in df[C.EXTRA]]
    return df


def _as_of(
    engine: Engine,
    t: Table,
    known_at: dt.datetime | None,
    columns: dict[str, str],
    date_cols: tuple[str, ...],
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Callable[[pd.DataFrame], pd.DataFrame] | None:
    """The fix that puts rows changed after ``known_at`` back as they stood then, and
    only then keeps those dated in ``[start, end]`` (a correction may have moved one)."""
    if known_at is None:
        return None
    at = known_at

    def fix(df: pd.DataFrame) -> pd.DataFrame:
        out = restore_versions(engine, t, df, at, columns, date_cols=date_cols)
        if (start is not None or end is not None) and not out.empty:
            day = pd.to_datetime(out[C.DATE])
            keep = pd.Series(True, index=out.index)
            if start is not None:
                keep &= day >= pd.Timestamp(start)
            if end is not None:
                keep &= day <= pd.Timestamp(end)
            out = out[keep]
        if C.DATE in out.columns and not out.empty:  # a correction may move a row's date
            order = pd.to_datetime(out[C.DATE]).argsort(kind="stable")
            out = out.iloc[order]
        return out.reset_index(drop=True)

    return fix


def _versioned(t: Table, known_at: dt.datetime | None) -> list[object]:
    """The extra columns an as-of read needs (row id and last change)."""
    if known_at is None:
        return []
    return [t.c.id.label("_id"), t.c.updated_at.label("_updated_at")]


def _window(
    stmt: Select[tuple[object, ...]],
    t: Table,
    start: dt.date | None,
    end: dt.date | None,
    known_at: dt.datetime | None,
) -> Select[tuple[object, ...]]:
    if known_at is not None:  # dates are filtered once each row is as it stood then
        return stmt.where(t.c.ingested_at <= known_at)
    if start is not None:
        stmt = stmt.where(t.c.date >= start)
    if end is not None:
        stmt = stmt.where(t.c.date <= end)
    return stmt


def _matching(
    t: Table, match: Sequence[RowFilter] | None, known_at: dt.datetime | None
) -> ColumnElement[bool] | None:
    """The SQL narrowing of ``match`` (None: every row). As of ``known_at``, rows changed
    since are read whatever they hold now (their earlier version may match)."""
    if match is None:
        return None
    clause = filters_clause(t, match)
    return clause if known_at is None else or_(clause, t.c.updated_at > known_at)


def _with_feed_ends(
    engine: Engine,
    clause: ColumnElement[bool],
    window: Callable[[Select[tuple[object, ...]]], Select[tuple[object, ...]]],
    end: dt.date | None,
    known_at: dt.datetime | None,
) -> ColumnElement[bool]:
    """``clause`` or the latest event of all and of each source of the rows it selects."""
    t = events_table
    with engine.connect() as conn:
        stmt = window(select(t.c.source).where(clause).distinct())
        sources = [str(s) for s in conn.execute(stmt).scalars()]
        ids = feed_end_ids(conn, sources, end=end, known_at=known_at)
    return or_(clause, t.c.id.in_(ids)) if ids else clause


def events_frame(
    engine: Engine,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    known_at: dt.datetime | None = None,
    match: Sequence[RowFilter] | None = None,
    feed_ends: bool = False,
) -> pd.DataFrame:
    """Stored events between ``start`` and ``end`` (inclusive), oldest first.

    ``match``: only rows that may match one of these filters are read (a superset, see
    ``cadence.store.row_filters``; an empty list reads none); None reads every row. With
    ``feed_ends`` the latest event of all and of each source of those rows is read too
    (where a series counted from events ends, ``cadence.features.last_data_day``)."""
    t = events_table
    cols = [t.c[c] for c in C.EVENT_COLUMNS] + [t.c.extra, t.c.ingested_at]

    def window(stmt: Select[tuple[object, ...]]) -> Select[tuple[object, ...]]:
        return _window(stmt, t, start, end, known_at)

    stmt = window(select(*cols, *_versioned(t, known_at)))
    clause = _matching(t, match, known_at)
    if clause is not None and feed_ends:
        clause = _with_feed_ends(engine, clause, window, end, known_at)
    if clause is not None:
        stmt = stmt.where(clause)
    names = {c: c for c in (*C.EVENT_COLUMNS, C.EXTRA)}
    fix = _as_of(engine, t, known_at, names, (C.DATE,), start, end)
    return _frame(engine, stmt.order_by(t.c.date, t.c.id), (C.DATE,), fix)


def statements_frame(
    engine: Engine,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    known_at: dt.datetime | None = None,
    match: Sequence[RowFilter] | None = None,
) -> pd.DataFrame:
    """Stored statements between ``start`` and ``end`` (inclusive), oldest first; with
    ``match``, only those that may match one of its filters (as ``events_frame``)."""
    t = statements_table
    names = (*C.STATEMENT_COLUMNS, C.STANCE_SOURCE, C.EXTRACTOR_VERSION, C.CONFIDENCE)
    cols = [t.c[c] for c in names] + [t.c.extra, t.c.ingested_at]
    stmt = _window(select(*cols, *_versioned(t, known_at)), t, start, end, known_at)
    clause = _matching(t, match, known_at)
    if clause is not None:
        stmt = stmt.where(clause)
    fix = _as_of(engine, t, known_at, {c: c for c in (*names, C.EXTRA)}, (C.DATE,), start, end)
    return _frame(engine, stmt.order_by(t.c.date, t.c.id), (C.DATE,), fix)


def observations_frame(
    engine: Engine, series: str, *, known_at: dt.datetime | None = None
) -> pd.DataFrame:
    """Observations of one series: ``series, start, end`` (exclusive), ``count``, ``source``."""
    s, o = series_table, observations_table
    with engine.connect() as conn:
        if conn.execute(select(s.c.id).where(s.c.name == series)).first() is None:
            raise NotFoundError(f"no series named {series!r}")
    stmt = (
        select(
            s.c.name.label(C.SERIES),
            o.c.period_start.label(C.START),
            o.c.period_end.label(C.END),
            o.c.count.label(C.COUNT),
            o.c.source.label(C.SOURCE),
            *_versioned(o, known_at),
        )
        .select_from(o.join(s))
        .where(s.c.name == series)
        .order_by(o.c.period_start, o.c.period_end)
    )
    if known_at is not None:
        stmt = stmt.where(o.c.ingested_at <= known_at)
    names = {C.START: "period_start", C.END: "period_end", C.COUNT: "count", C.SOURCE: "source"}
    fix = _as_of(engine, o, known_at, names, (C.START, C.END))
    return _frame(engine, stmt, (C.START, C.END), fix)


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts of every stored table."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for t in (
            events_table,
            statements_table,
            series_table,
            observations_table,
            forecasts_table,
            jobs_table,
        ):
            out[t.name] = int(conn.execute(select(func.count()).select_from(t)).scalar_one())
    return out
