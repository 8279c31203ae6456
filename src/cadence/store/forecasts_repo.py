"""Forecasts written for serving, and the current one of each series.

A served forecast is one ``forecasts`` row: the API body in ``payload`` (JSON) and the
sample paths in ``samples`` (``numpy.save`` bytes of an int64 array ``(n_samples,
horizon)``, zlib-compressed). The *current* forecast of a series and kind is the row
generated last; older rows stay as history (``keep`` bounds how many). Writes run on the
caller's connection so that a forecast and the job that produced it commit together.
"""

from __future__ import annotations

import datetime as dt
import io
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, select

from cadence.store.errors import NotFoundError
from cadence.store.series_repo import get_series
from cadence.store.tables import forecasts_table, series_table

KIND_CHAMPION = "champion"
DEFAULT_KEEP = 20


@dataclass(frozen=True)
class NewForecast:
    """What a writer supplies. ``samples``: int array ``(n_samples, horizon)``, >= 0."""

    origin: dt.date
    horizon: int
    generated_at: dt.datetime
    model_name: str
    payload: dict[str, Any]
    samples: np.ndarray | None = None
    model_version: str | None = None
    run_id: str | None = None
    job_id: str | None = None
    kind: str = KIND_CHAMPION


@dataclass(frozen=True)
class StoredForecast:
    id: int
    series: str
    kind: str
    origin: dt.date
    horizon: int
    generated_at: dt.datetime
    model_name: str
    model_version: str | None
    run_id: str | None
    job_id: str | None
    payload: dict[str, Any]
    samples: np.ndarray | None


def encode_samples(samples: np.ndarray) -> bytes:
    """int64 ``.npy`` bytes, zlib-compressed (counts compress well: mostly small ints)."""
    arr = np.asarray(samples)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"samples must be a 2-D integer array, got {arr.dtype} {arr.shape}")
    buf = io.BytesIO()
    np.save(buf, arr.astype(np.int64, copy=False), allow_pickle=False)
    return zlib.compress(buf.getvalue(), 6)


def decode_samples(blob: bytes) -> np.ndarray:
    """The int64 array ``encode_samples`` stored (object arrays are refused)."""
    return np.load(io.BytesIO(zlib.decompress(blob)), allow_pickle=False)


def write_forecast(
    conn: Connection, series: str, forecast: NewForecast, *, keep: int = DEFAULT_KEEP
) -> int:
    """Insert ``forecast`` for ``series`` on ``conn`` (the caller's transaction) and prune
    that series' rows of the same kind to the newest ``keep``. Returns the new row id.
    ``NotFoundError`` when the series is not declared."""
    info = get_series(conn, series)
    t = forecasts_table
    result = conn.execute(
        t.insert().values(
            series_id=info.id,
            kind=forecast.kind,
            origin=forecast.origin,
            horizon=int(forecast.horizon),
            generated_at=forecast.generated_at,
            model_name=forecast.model_name,
            model_version=forecast.model_version,
            run_id=forecast.run_id,
            job_id=forecast.job_id,
            payload=forecast.payload,
            samples=None if forecast.samples is None else encode_samples(forecast.samples),
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row always has one
    new_id = int(key[0])
    older = (
        select(t.c.id)
        .where(t.c.series_id == info.id, t.c.kind == forecast.kind)
        .order_by(t.c.generated_at.desc(), t.c.id.desc())
        .offset(keep)
    )
    stale = [r[0] for r in conn.execute(older)]
    if stale:
        conn.execute(delete(t).where(t.c.id.in_(stale)))
    return new_id


def write_forecasts(
    engine: Engine, series: str, forecasts: list[NewForecast], *, keep: int = DEFAULT_KEEP
) -> list[int]:
    """Write several forecasts of one series in one transaction (all or none)."""
    with engine.begin() as conn:
        return [write_forecast(conn, series, f, keep=keep) for f in forecasts]


def _row(r: Any, series: str, with_samples: bool) -> StoredForecast:
    samples = decode_samples(r.samples) if with_samples and r.samples is not None else None
    generated = r.generated_at
    if generated.tzinfo is None:  # SQLite hands back naive UTC
        generated = generated.replace(tzinfo=dt.UTC)
    return StoredForecast(
        id=r.id,
        series=series,
        kind=r.kind,
        origin=r.origin,
        horizon=r.horizon,
        generated_at=generated,
        model_name=r.model_name,
        model_version=r.model_version,
        run_id=r.run_id,
        job_id=r.job_id,
        payload=r.payload,
        samples=samples,
    )


def current_forecast(
    conn: Connection | Engine,
    series: str,
    *,
    kind: str = KIND_CHAMPION,
    with_samples: bool = True,
) -> StoredForecast | None:
    """The newest stored forecast of ``series`` and ``kind``, or None if there is none.
    ``NotFoundError`` when the series is not declared."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return current_forecast(c, series, kind=kind, with_samples=with_samples)
    f, s = forecasts_table, series_table
    stmt = (
        select(f)
        .join(s, s.c.id == f.c.series_id)
        .where(s.c.name == series, f.c.kind == kind)
        .order_by(f.c.generated_at.desc(), f.c.id.desc())
        .limit(1)
    )
    r = conn.execute(stmt).first()
    if r is None:
        get_series(conn, series)  # an undeclared series is NotFoundError, not "no forecast"
        return None
    return _row(r, series, with_samples)


def list_forecasts(
    conn: Connection | Engine,
    series: str,
    *,
    kind: str | None = None,
    with_samples: bool = True,
) -> list[StoredForecast]:
    """Every stored forecast of ``series`` (of ``kind``, default every kind), oldest
    first. ``NotFoundError`` when the series is not declared."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return list_forecasts(c, series, kind=kind, with_samples=with_samples)
    get_series(conn, series)
    f, s = forecasts_table, series_table
    stmt = select(f).join(s, s.c.id == f.c.series_id).where(s.c.name == series)
    if kind is not None:
        stmt = stmt.where(f.c.kind == kind)
    stmt = stmt.order_by(f.c.generated_at, f.c.id)
    return [_row(r, series, with_samples) for r in conn.execute(stmt)]


def stored_kinds(conn: Connection | Engine, series: str) -> list[str]:
    """The kinds of forecast stored for ``series`` (sorted). ``NotFoundError`` when the
    series is not declared."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return stored_kinds(c, series)
    get_series(conn, series)
    f, s = forecasts_table, series_table
    stmt = select(f.c.kind).distinct().join(s, s.c.id == f.c.series_id).where(s.c.name == series)
    return sorted(str(k) for k in conn.execute(stmt).scalars())


def require_current_forecast(
    conn: Connection | Engine, series: str, *, kind: str = KIND_CHAMPION
) -> StoredForecast:
    """As ``current_forecast``, but ``NotFoundError`` when the series has none yet."""
    found = current_forecast(conn, series, kind=kind)
    if found is None:
        raise NotFoundError(
            f"series {series!r} has no {kind} forecast yet; run `cadence retrain --series "
            f"{series}` first"
        )
    return found


__all__ = [
    "DEFAULT_KEEP",
    "KIND_CHAMPION",
    "NewForecast",
    "StoredForecast",
    "current_forecast",
    "decode_samples",
    "encode_samples",
    "list_forecasts",
    "require_current_forecast",
    "stored_kinds",
    "write_forecast",
    "write_forecasts",
]
