"""Scores of stored forecasts against the truth, one row per forecast and target.

A *target* is a period of the forecast (``target == "period"``, ``span == 1``) or a
window total over its first ``span`` periods (``target == "window"``, ``days`` days).
``start`` is the first day of the target (ISO period label). Scores are upserted by
``(forecast_id, target, start, span)``: scoring the same forecast against the same truth
twice changes nothing; a different truth (a late correction) or CRPS replaces the row's
scores, keeps the previous truth and CRPS, sets ``changed_at`` and counts ``revisions``.
Units: ``truth`` and ``mean`` are counts over the target; ``crps`` is in counts;
``log_score`` in nats; coverages are 0/1; ``pit`` in [0, 1].
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, select

from cadence.store.forecasts_repo import StoredForecast
from cadence.store.series_repo import get_series
from cadence.store.tables import scores_table, series_table

TARGET_PERIOD = "period"
TARGET_WINDOW = "window"
SCORE_FIELDS = (
    "truth",
    "mean",
    "crps",
    "log_score",
    "coverage_50",
    "coverage_80",
    "coverage_95",
    "pit",
    "baseline_crps",
)
# a stored float that differs from the new one by less than this is the same value
_SAME = 1e-9


@dataclass(frozen=True)
class NewScore:
    """One target's scores (see the module docstring for units)."""

    target: str
    start: dt.date
    span: int
    days: int
    horizon: int
    truth: float
    mean: float
    crps: float
    log_score: float
    coverage_50: float
    coverage_80: float
    coverage_95: float
    pit: float
    baseline_crps: float | None = None


@dataclass
class UpsertCounts:
    inserted: int = 0
    changed: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.changed += other.changed
        self.unchanged += other.unchanged


def _differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return not math.isclose(a, b, rel_tol=_SAME, abs_tol=_SAME)


def upsert_scores(
    conn: Connection, forecast: StoredForecast, scores: list[NewScore], *, now: dt.datetime
) -> UpsertCounts:
    """Insert or update the scores of ``forecast`` on ``conn`` (the caller's transaction).
    A row whose truth or CRPS changed keeps the old values in ``previous_truth`` /
    ``previous_crps`` and gets ``changed_at = now`` and one more revision."""
    t = scores_table
    counts = UpsertCounts()
    existing = {
        (r.target, r.start, r.span): r
        for r in conn.execute(select(t).where(t.c.forecast_id == forecast.id))
    }
    series_id = get_series(conn, forecast.series).id
    for s in scores:
        values = asdict(s)
        old = existing.get((s.target, s.start, s.span))
        if old is None:
            conn.execute(
                t.insert().values(
                    forecast_id=forecast.id,
                    series_id=series_id,
                    kind=forecast.kind,
                    model_name=forecast.model_name,
                    model_version=forecast.model_version,
                    run_id=forecast.run_id,
                    origin=forecast.origin,
                    generated_at=forecast.generated_at,
                    scored_at=now,
                    revisions=0,
                    **values,
                )
            )
            counts.inserted += 1
            continue
        changed = _differs(old.truth, s.truth) or _differs(old.crps, s.crps)
        if not changed and not any(_differs(getattr(old, k), values[k]) for k in SCORE_FIELDS):
            counts.unchanged += 1
            continue
        update: dict[str, object] = {**values, "scored_at": now}
        if changed:
            update.update(
                previous_truth=old.truth,
                previous_crps=old.crps,
                changed_at=now,
                revisions=old.revisions + 1,
            )
            counts.changed += 1
        else:
            counts.unchanged += 1
        conn.execute(t.update().where(t.c.id == old.id).values(**update))
    return counts


SCORE_COLUMNS = (
    "forecast_id",
    "kind",
    "model_name",
    "model_version",
    "run_id",
    "origin",
    "generated_at",
    "target",
    "start",
    "span",
    "days",
    "horizon",
    *SCORE_FIELDS,
    "scored_at",
    "changed_at",
    "previous_truth",
    "previous_crps",
    "revisions",
)


def scores_frame(
    conn: Connection | Engine,
    series: str,
    *,
    kind: str | None = None,
    target: str | None = None,
    since: dt.date | None = None,
) -> pd.DataFrame:
    """Stored scores of ``series`` (columns ``SCORE_COLUMNS``), by target start then
    forecast. ``since`` keeps targets starting on or after it; ``origin`` and ``start``
    come back as ``datetime64``. ``NotFoundError`` when the series is not declared."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return scores_frame(c, series, kind=kind, target=target, since=since)
    get_series(conn, series)
    t, s = scores_table, series_table
    stmt = (
        select(*(t.c[c] for c in SCORE_COLUMNS))
        .join(s, s.c.id == t.c.series_id)
        .where(s.c.name == series)
    )
    if kind is not None:
        stmt = stmt.where(t.c.kind == kind)
    if target is not None:
        stmt = stmt.where(t.c.target == target)
    if since is not None:
        stmt = stmt.where(t.c.start >= since)
    stmt = stmt.order_by(t.c.start, t.c.forecast_id, t.c.span)
    result = conn.execute(stmt)
    df = pd.DataFrame(result.all(), columns=list(SCORE_COLUMNS))
    for col in ("origin", "start"):
        df[col] = pd.to_datetime(df[col]).astype("datetime64[s]")
    return df


__all__ = [
    "SCORE_COLUMNS",
    "SCORE_FIELDS",
    "TARGET_PERIOD",
    "TARGET_WINDOW",
    "NewScore",
    "UpsertCounts",
    "scores_frame",
    "upsert_scores",
]
