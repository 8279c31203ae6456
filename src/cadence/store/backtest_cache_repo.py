"""Backtest scores kept between retrains (table ``backtest_scores``).

A row holds the scores of one model configuration at one origin of one series, as JSON
text (``payload``), with the ``fingerprint`` of the data they came from and the
``settings`` of the run (the experiments layer makes and checks both). The store only
keeps them: ``read_cached`` returns a series' rows for one ``settings``, ``write_cached``
replaces the rows of the pairs a run computed and drops the series' rows that no
current origin or setting will ask for again, all series in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, and_, bindparam, delete, insert, or_, select

from cadence.store.tables import backtest_scores_table, utcnow

__all__ = ["CachedRows", "read_cached", "write_cached"]

# (model key, origin) -> (fingerprint, payload)
Pairs = Mapping[tuple[str, dt.date], tuple[str, str]]
_CHUNK = 500


@dataclass(frozen=True)
class CachedRows:
    """What one series' retrain computed: its new ``pairs`` and the ``origins`` it
    uses now (rows at other origins are dropped)."""

    series: str
    pairs: Pairs
    origins: Sequence[dt.date]


def read_cached(
    engine: Engine, names: Sequence[str], settings: str
) -> dict[str, dict[tuple[str, dt.date], tuple[str, str]]]:
    """Series name -> {(model key, origin): (fingerprint, payload)} stored for
    ``settings`` (series without rows are absent)."""
    t = backtest_scores_table
    out: dict[str, dict[tuple[str, dt.date], tuple[str, str]]] = {}
    with engine.connect() as conn:
        for i in range(0, len(names), _CHUNK):
            chunk = list(names[i : i + _CHUNK])
            rows = conn.execute(
                select(t.c.series, t.c.model_key, t.c.origin, t.c.fingerprint, t.c.payload).where(
                    t.c.settings == settings, t.c.series.in_(chunk)
                )
            )
            for series, key, origin, fp, payload in rows:
                out.setdefault(series, {})[(key, origin)] = (fp, payload)
    return out


def write_cached(engine: Engine, settings: str, items: Iterable[CachedRows]) -> int:
    """Store each series' new pairs (replacing rows of the same pair) and delete its
    rows at origins it no longer uses or under other settings; one transaction.
    Returns the number of rows written."""
    t = backtest_scores_table
    now = utcnow()
    new: list[dict[str, object]] = []
    stale: list[dict[str, object]] = []
    for item in items:
        for (key, origin), (fp, payload) in item.pairs.items():
            new.append(
                {
                    "series": item.series,
                    "settings": settings,
                    "model_key": key,
                    "origin": origin,
                    "fingerprint": fp,
                    "payload": payload,
                    "computed_at": now,
                }
            )
        stale.append({"s": item.series, "first": min(item.origins, default=dt.date.max)})
    if not new and not stale:
        return 0
    with engine.begin() as conn:
        if new:
            conn.execute(
                delete(t).where(
                    t.c.series == bindparam("s"),
                    t.c.settings == bindparam("st"),
                    t.c.model_key == bindparam("k"),
                    t.c.origin == bindparam("o"),
                ),
                [
                    {"s": r["series"], "st": settings, "k": r["model_key"], "o": r["origin"]}
                    for r in new
                ],
            )
        if stale:
            conn.execute(
                delete(t).where(
                    t.c.series == bindparam("s"),
                    or_(
                        t.c.settings != settings,
                        and_(t.c.settings == settings, t.c.origin < bindparam("first")),
                    ),
                ),
                stale,
            )
        if new:
            conn.execute(insert(t), new)
    return len(new)
