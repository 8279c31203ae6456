"""Series: declared forecast targets. Applying the same definition twice changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cadence.columns import FREQUENCIES
from cadence.store.errors import NotFoundError
from cadence.store.tables import observations_table, series_table, utcnow

ApplyStatus = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class SeriesInfo:
    id: int
    name: str
    frequency: str
    observed: bool
    definition: dict[str, Any]
    description: str | None


def apply_series(
    conn: Connection,
    name: str,
    frequency: str,
    *,
    observed: bool,
    definition: dict[str, Any],
    description: str | None = None,
) -> ApplyStatus:
    """Create or update one series by name on ``conn`` (the caller's transaction)."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"series {name!r}: frequency must be one of D, W, M, got {frequency!r}")
    t = series_table
    row = conn.execute(select(t).where(t.c.name == name)).mappings().first()
    now = utcnow()
    values = {
        "frequency": frequency,
        "observed": observed,
        "definition": definition,
        "description": description,
    }
    if row is None:
        if _insert_if_absent(conn, name=name, created_at=now, updated_at=now, **values):
            return "created"
        row = conn.execute(select(t).where(t.c.name == name)).mappings().one()
    if all(row[k] == v for k, v in values.items()):
        return "unchanged"
    conn.execute(t.update().where(t.c.name == name).values(updated_at=now, **values))
    return "updated"


def _insert_if_absent(conn: Connection, **values: Any) -> bool:
    """Insert a series row unless one of that name exists (or is being inserted by a
    concurrent transaction, which this waits for); True when this call inserted it."""
    t = series_table
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_insert(t).values(**values).on_conflict_do_nothing(index_elements=["name"])
    elif dialect == "sqlite":
        stmt = sqlite_insert(t).values(**values).on_conflict_do_nothing(index_elements=["name"])
    else:
        conn.execute(t.insert().values(**values))
        return True
    return bool(conn.execute(stmt).rowcount)


def ensure_observed_series(
    conn: Connection, name: str, frequency: str, extra: Mapping[str, Any] | None = None
) -> tuple[int, str]:
    """``(id, frequency)`` of the series ``name``, created as an observed series of
    ``frequency`` when missing (``extra`` entries added to its catalog definition, e.g.
    ``week_start``). Concurrent callers creating the same series all succeed and get the
    same row."""
    t = series_table
    stmt = select(t.c.id, t.c.frequency).where(t.c.name == name)
    row = conn.execute(stmt).first()
    if row is None:
        if frequency not in FREQUENCIES:
            raise ValueError(
                f"series {name!r}: frequency must be one of D, W, M, got {frequency!r}"
            )
        now = utcnow()
        definition = {
            "name": name,
            "frequency": frequency,
            "target": {"observations": True},
            **(extra or {}),
        }
        _insert_if_absent(
            conn,
            name=name,
            frequency=frequency,
            observed=True,
            definition=definition,
            description=None,
            created_at=now,
            updated_at=now,
        )
        row = conn.execute(stmt).one()
    return int(row[0]), str(row[1])


def list_series(engine: Engine) -> list[SeriesInfo]:
    with engine.connect() as conn:
        rows = conn.execute(select(series_table).order_by(series_table.c.name)).all()
    return [
        SeriesInfo(r.id, r.name, r.frequency, r.observed, r.definition, r.description) for r in rows
    ]


def get_series(conn: Connection | Engine, name: str) -> SeriesInfo:
    t = series_table
    stmt = select(t).where(t.c.name == name)
    if isinstance(conn, Engine):
        with conn.connect() as c:
            r = c.execute(stmt).first()
    else:
        r = conn.execute(stmt).first()
    if r is None:
        raise NotFoundError(
            f"no series named {name!r}; `cadence series list` shows the declared ones"
        )
    return SeriesInfo(r.id, r.name, r.frequency, r.observed, r.definition, r.description)


def observation_counts(engine: Engine) -> dict[str, int]:
    """Number of stored observations per series name."""
    s, o = series_table, observations_table
    stmt = select(s.c.name, func.count(o.c.id)).select_from(s.outerjoin(o)).group_by(s.c.name)
    with engine.connect() as conn:
        return {name: int(n) for name, n in conn.execute(stmt).all()}


__all__ = [
    "SeriesInfo",
    "apply_series",
    "ensure_observed_series",
    "get_series",
    "list_series",
    "observation_counts",
]
