"""Fast inserts of many new rows, on the caller's connection and transaction.

SQLAlchemy's executemany builds a parameter dict per row; for a million rows that
costs more than the database itself. New rows are therefore sent as plain tuples of
text and numbers: ``executemany`` on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL
(psycopg 3), and SQLAlchemy Core elsewhere. Values are rendered the way SQLAlchemy
itself stores them (``YYYY-MM-DD`` dates, ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC timestamps
on SQLite), so rows read back identically whichever path wrote them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, insert

SQLITE_TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _column_values(col: pd.Series, dialect: str) -> np.ndarray:
    """One column as an object array of str / int / float / None."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        utc = col.dt.tz_convert("UTC")
        text = (
            utc.dt.strftime(SQLITE_TS_FORMAT)
            if dialect == "sqlite"
            else utc.map(lambda ts: ts.isoformat())
        )
        return text.to_numpy(dtype=object, na_value=None)
    if pd.api.types.is_datetime64_any_dtype(col):
        arr = col.to_numpy().astype("datetime64[D]")
        out = np.datetime_as_string(arr, unit="D").astype(object)
        out[np.isnat(arr)] = None
        return out
    if pd.api.types.is_float_dtype(col):
        v = col.to_numpy(dtype=float, na_value=np.nan)
        out = v.astype(object)
        out[np.isnan(v)] = None
        return out
    return col.to_numpy(dtype=object, na_value=None)


def _scalar(value: object, dialect: str) -> object:
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC)
        return utc.strftime(SQLITE_TS_FORMAT) if dialect == "sqlite" else utc.isoformat()
    return value


def insert_rows(
    conn: Connection,
    table: Table,
    frame: pd.DataFrame,
    constants: Mapping[str, object] | None = None,
) -> None:
    """Insert every row of ``frame`` (columns named as the table's) into ``table``;
    ``constants`` are columns with one value for every row (rendered once)."""
    if frame.empty:
        return
    dialect = conn.dialect.name
    consts = dict(constants or {})
    cols: Sequence[str] = [*frame.columns, *consts]
    values = [_column_values(frame[c], dialect) for c in frame.columns]
    for v in consts.values():
        arr = np.empty(len(frame), dtype=object)
        arr[:] = [_scalar(v, dialect)] * len(frame)
        values.append(arr)
    rows = list(zip(*values, strict=True))
    names = ", ".join(f'"{c}"' for c in cols)
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in cols)
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cur = dbapi.cursor()
        try:
            cur.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)
        finally:
            cur.close()
        return
    if dialect == "postgresql" and conn.dialect.driver == "psycopg":
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        pg_cursor: Any = dbapi.cursor()
        with pg_cursor as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.execute(insert(table), [dict(zip(cols, r, strict=True)) for r in rows])
