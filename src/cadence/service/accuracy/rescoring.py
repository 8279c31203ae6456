"""Live accuracy in the service: the drift band from settings, and rescoring the served
forecasts after new truth arrives (an ingest from the command line or the API).

Scoring after an ingest never fails the ingest (it is already committed): a failure is
logged and the next ingest or ``cadence accuracy --rescore`` scores again. The rolling
numbers are also logged to the MLflow run of each series' served champion.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine, select

from cadence.experiments.accuracy.rolling import DriftBand
from cadence.experiments.accuracy.scores import ScoreRun, score_served
from cadence.experiments.accuracy.tracking import log_live_accuracy
from cadence.experiments.errors import TrackingError
from cadence.features import SeriesSpec, apply_filter
from cadence.features.errors import SpecError
from cadence.service.settings import Settings
from cadence.store.feed_ends import sources_of
from cadence.store.forecasts_repo import current_forecast
from cadence.store.series_repo import list_series
from cadence.store.tables import forecasts_table, series_table

log = logging.getLogger("cadence.accuracy")

__all__ = [
    "band_from",
    "rescore",
    "rescore_after_ingest",
    "series_touched_by_events",
    "series_with_forecasts",
]


def band_from(settings: Settings) -> DriftBand:
    return DriftBand(
        low=settings.accuracy_coverage_low,
        high=settings.accuracy_coverage_high,
        window_days=settings.accuracy_window_days,
        min_scores=settings.accuracy_min_scores,
    )


def series_with_forecasts(engine: Engine, *, observed: bool | None = None) -> list[str]:
    """Names of the series with at least one stored forecast (only observed or only
    event-counted ones when ``observed`` is given)."""
    s, f = series_table, forecasts_table
    stmt = select(s.c.name, s.c.observed).where(s.c.id.in_(select(f.c.series_id).distinct()))
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(s.c.name)).all()
    return [r.name for r in rows if observed is None or bool(r.observed) == observed]


def rescore(
    engine: Engine, names: Iterable[str], settings: Settings, *, track: bool = True
) -> list[ScoreRun]:
    """``score_served`` each series; with ``track``, log the rolling numbers to the
    served champion's MLflow run (a tracking failure is logged, not raised)."""
    band = band_from(settings)
    runs = []
    for name in names:
        run = score_served(engine, name, band=band)
        runs.append(run)
        if not track or run.rolling is None or run.rolling.n == 0:
            continue
        served = current_forecast(engine, name, with_samples=False)
        if served is None or not served.run_id:
            continue
        try:
            log_live_accuracy(settings.resolved_tracking_uri, served.run_id, run.rolling)
        except TrackingError as exc:
            log.warning("live accuracy of %s not logged to MLflow: %s", name, exc)
    return runs


def rescore_after_ingest(
    engine: Engine, settings: Settings, *, observed: bool | None
) -> list[ScoreRun]:
    """Rescore the series an ingest may have given truth to: observed series after
    counts, event-counted ones after events. Never raises (see the module docstring)."""
    try:
        return rescore(engine, series_with_forecasts(engine, observed=observed), settings)
    except Exception:  # the ingest is committed; scoring again later repairs this
        log.exception("scoring the served forecasts after an ingest failed")
        return []


def _gives_truth(engine: Engine, spec: SeriesSpec, rows: pd.DataFrame) -> bool:
    """True when event ``rows`` may change what ``spec`` counts: one matches its target,
    or one comes from a source of its stored target events (it extends where they end)."""
    if spec.target is None:
        return False
    fields = [f for f in spec.target if f not in rows.columns]
    frame = rows.assign(**dict.fromkeys(fields, "")) if fields else rows
    try:
        if apply_filter(frame, spec.target).any():
            return True
    except SpecError:  # cannot tell: rescore rather than miss a truth
        return True
    with engine.connect() as conn:
        sources = sources_of(conn, [spec.target])
    return bool(sources & {str(s).strip() for s in rows.get("source", [])})


def series_touched_by_events(engine: Engine, rows: pd.DataFrame) -> list[str]:
    """The event-counted series with a stored forecast whose truth event ``rows`` (as
    posted, text cells) may change: only those need rescoring after the write."""
    served = set(series_with_forecasts(engine, observed=False))
    out = []
    for s in list_series(engine):
        if s.name in served and _gives_truth(engine, SeriesSpec.from_dict(s.definition), rows):
            out.append(s.name)
    return out
