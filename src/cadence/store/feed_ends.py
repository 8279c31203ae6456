"""The latest event of a few sources, found through the ``(source, date)`` index.

Where a series counted from events ends is where the sources of its target events end
(``cadence.features.last_data_day``), so a read of one series' events adds the latest
event of each of those sources, and the latest event of all, without scanning the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, Connection, select

from cadence.store.row_filters import RowFilter, filters_clause
from cadence.store.tables import events_table


def _latest_id(conn: Connection, conds: list[ColumnElement[bool]]) -> int | None:
    t = events_table
    stmt = select(t.c.id).where(*conds).order_by(t.c.date.desc(), t.c.id.desc()).limit(1)
    found = conn.execute(stmt).scalar_one_or_none()
    return None if found is None else int(found)


def feed_end_ids(
    conn: Connection,
    sources: Iterable[str],
    *,
    end: dt.date | None = None,
    known_at: dt.datetime | None = None,
) -> list[int]:
    """Ids of the latest event (by date, then id) of each of ``sources`` and of all
    events, dated on or before ``end``. With ``known_at``, among the rows ingested by then
    and unchanged since (the caller reads the changed rows anyway)."""
    t = events_table
    base: list[ColumnElement[bool]] = []
    if end is not None:
        base.append(t.c.date <= end)
    if known_at is not None:
        base += [t.c.ingested_at <= known_at, t.c.updated_at <= known_at]
    found = [_latest_id(conn, base)]
    found += [_latest_id(conn, [*base, t.c.source == s]) for s in sorted(set(sources))]
    return sorted({i for i in found if i is not None})


def sources_of(conn: Connection, filters: Sequence[RowFilter]) -> set[str]:
    """The sources of the stored events that may match one of ``filters`` (a superset,
    ``store.row_filters``)."""
    t = events_table
    stmt = select(t.c.source).where(filters_clause(t, filters)).distinct()
    return {str(s) for s in conn.execute(stmt).scalars()}
