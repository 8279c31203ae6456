"""Earlier versions of corrected rows, and reads of rows as they stood at an instant.

When an ingest changes a stored event, statement or observation (same natural key, new
content), the row is updated in place and its previous columns are kept in
``row_versions`` with the interval they were current: ``[valid_from, valid_to)``, from
the row's ``updated_at`` before the change to the ingest that changed it. A read as of
``known_at`` takes the rows first ingested by then and, for those changed since, the
version current at ``known_at``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Table, and_, bindparam, select

from cadence.store.tables import row_versions_table

LOOKUP_BATCH = 5_000
_SKIP = ("id",)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def keep_versions(
    conn: Connection,
    table: Table,
    keys: pd.DataFrame,
    key_cols: Sequence[str],
    replaced_at: dt.datetime,
) -> int:
    """Store the current columns of the rows of ``table`` whose natural keys are the rows
    of ``keys`` as versions valid until ``replaced_at``; returns how many. Call it on the
    caller's transaction just before those rows are updated."""
    *fixed_cols, last = key_cols
    conds = [table.c[k] == bindparam(f"f_{k}") for k in fixed_cols]
    stmt = select(table).where(and_(*conds, table.c[last].in_(bindparam("keys", expanding=True))))
    plain_keys = keys[list(key_cols)].copy()
    for c in plain_keys.columns:  # naive datetime64 key columns hold dates
        if pd.api.types.is_datetime64_any_dtype(plain_keys[c]):
            plain_keys[c] = plain_keys[c].dt.date
    plain_keys = plain_keys.astype(object)
    wanted = {tuple(_plain(v) for v in row) for row in plain_keys.itertuples(index=False)}
    groups = plain_keys.groupby(fixed_cols, sort=False) if fixed_cols else [((), plain_keys)]
    versions: list[dict[str, Any]] = []
    for fixed, group in groups:
        fixed_vals = fixed if isinstance(fixed, tuple) else (fixed,)
        params = {f"f_{k}": v for k, v in zip(fixed_cols, fixed_vals, strict=True)}
        values = list(dict.fromkeys(group[last].tolist()))
        for i in range(0, len(values), LOOKUP_BATCH):
            batch = {**params, "keys": values[i : i + LOOKUP_BATCH]}
            for r in conn.execute(stmt, batch).mappings():
                if tuple(_plain(r[k]) for k in key_cols) not in wanted:
                    continue
                content = {k: _plain(v) for k, v in r.items() if k not in _SKIP}
                versions.append(
                    {
                        "table_name": table.name,
                        "row_id": int(r["id"]),
                        "content": json.dumps(content, default=str),
                        "valid_from": r["updated_at"],
                        "valid_to": replaced_at,
                    }
                )
    if versions:
        conn.execute(row_versions_table.insert(), versions)
    return len(versions)


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def restore_versions(
    engine: Engine,
    table: Table,
    frame: pd.DataFrame,
    known_at: dt.datetime,
    columns: Mapping[str, str],
    *,
    date_cols: Sequence[str] = (),
) -> pd.DataFrame:
    """``frame`` (rows of ``table`` with their ``id`` in ``_id`` and ``updated_at`` in
    ``_updated_at``) with every row changed after ``known_at`` put back as it stood then.
    ``columns`` maps frame columns to table columns; ``date_cols`` are frame columns read
    as dates. The ``_id`` and ``_updated_at`` columns are dropped."""
    out = frame.copy()
    if not out.empty:
        changed = pd.to_datetime(out["_updated_at"], utc=True) > pd.Timestamp(_utc(known_at))
        ids = [int(i) for i in out.loc[changed, "_id"]]
        if ids:
            v = row_versions_table
            at = _utc(known_at)
            with engine.connect() as conn:
                rows = conn.execute(
                    select(v.c.row_id, v.c.content, v.c.valid_from, v.c.valid_to).where(
                        v.c.table_name == table.name, v.c.row_id.in_(ids)
                    )
                ).all()
            current = {
                int(r.row_id): json.loads(r.content)
                for r in rows
                if _utc(r.valid_from) <= at < _utc(r.valid_to)
            }
            position = {int(i): n for n, i in enumerate(out["_id"])}
            for row_id, content in current.items():
                n = position[row_id]
                for col, source in columns.items():
                    value = content.get(source)
                    if col in date_cols and value is not None:
                        value = pd.Timestamp(value)
                    out.iat[n, out.columns.get_loc(col)] = value
    return out.drop(columns=["_id", "_updated_at"])


__all__ = ["keep_versions", "restore_versions"]
