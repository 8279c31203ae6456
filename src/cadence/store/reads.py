"""Reads of stored rows as DataFrames, in the column names of ``cadence.columns``.

Dates come back as ``datetime64`` (day precision), ``extra`` as dicts. ``known_at``
restricts every read to rows first ingested at or before that instant (UTC).
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from sqlalchemy import Engine, Select, Table, func, select

from cadence import columns as C
from cadence.store.errors import NotFoundError
from cadence.store.tables import (
    events_table,
    forecasts_table,
    jobs_table,
    observations_table,
    series_table,
    statements_table,
)


def _extra(text: object) -> dict[str, object] | None:
    """Stored extra JSON as a dict without the null (blank) entries."""
    if not isinstance(text, str):
        return None
    return {k: v for k, v in json.loads(text).items() if v is not None}


def _frame(
    engine: Engine, stmt: Select[tuple[object, ...]], date_cols: tuple[str, ...]
) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(stmt)
        df = pd.DataFrame(result.all(), columns=list(result.keys()))
    for c in date_cols:
        df[c] = pd.to_datetime(df[c]).astype("datetime64[s]")
    if C.EXTRA in df.columns:
        df[C.EXTRA] = [_extra(x) for x in df[C.EXTRA]]
    return df


def _window(
    stmt: Select[tuple[object, ...]],
    t: Table,
    start: dt.date | None,
    end: dt.date | None,
    known_at: dt.datetime | None,
) -> Select[tuple[object, ...]]:
    if start is not None:
        stmt = stmt.where(t.c.date >= start)
    if end is not None:
        stmt = stmt.where(t.c.date <= end)
    if known_at is not None:
        stmt = stmt.where(t.c.ingested_at <= known_at)
    return stmt


def events_frame(
    engine: Engine,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    known_at: dt.datetime | None = None,
) -> pd.DataFrame:
    """Stored events between ``start`` and ``end`` (inclusive), oldest first."""
    t = events_table
    cols = [t.c[c] for c in C.EVENT_COLUMNS] + [t.c.extra, t.c.ingested_at]
    stmt = _window(select(*cols), t, start, end, known_at).order_by(t.c.date, t.c.id)
    return _frame(engine, stmt, (C.DATE,))


def statements_frame(
    engine: Engine,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    known_at: dt.datetime | None = None,
) -> pd.DataFrame:
    """Stored statements between ``start`` and ``end`` (inclusive), oldest first."""
    t = statements_table
    names = (*C.STATEMENT_COLUMNS, C.STANCE_SOURCE, C.EXTRACTOR_VERSION, C.CONFIDENCE)
    cols = [t.c[c] for c in names] + [t.c.extra, t.c.ingested_at]
    stmt = _window(select(*cols), t, start, end, known_at).order_by(t.c.date, t.c.id)
    return _frame(engine, stmt, (C.DATE,))


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
        )
        .select_from(o.join(s))
        .where(s.c.name == series)
        .order_by(o.c.period_start, o.c.period_end)
    )
    if known_at is not None:
        stmt = stmt.where(o.c.ingested_at <= known_at)
    return _frame(engine, stmt, (C.START, C.END))


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
