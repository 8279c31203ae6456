"""Scoring what was served: every stored forecast of a series against the truth known now.

``score_served(engine, series)`` reads the series afresh (``load_series_data``: the
truth is the full panel, so interval totals and late corrections count as they stand),
and for every stored forecast with sample paths scores each period whose count is known
and each window total (the body's 7/14/28-day windows) whose days are all known, with
``cadence.experiments.scoring.score_paths``: CRPS, log score, coverage of the 50/80/95%
central intervals, randomized PIT (seeded by the forecast id, so a rescore draws the
same). Each period also gets the CRPS of Climatology fitted at the same origin on the
rows dated by then (``baseline_crps``): the reference of the drift alarm. Scores are
upserted (``cadence.store.scores_repo``): idempotent, and a late correction replaces a
score and records that it changed. Scores of forecast rows pruned from the store stay
as they were last computed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from cadence.experiments.accuracy.rolling import DriftBand, Rolling, accuracy_status
from cadence.experiments.backtest import CLIMATOLOGY, ModelConfig, fit_and_forecast
from cadence.experiments.data import SeriesData, horizon_index, load_series_data
from cadence.experiments.errors import SeriesDataError
from cadence.experiments.scoring import crps_paths, score_paths
from cadence.experiments.summaries import window_periods
from cadence.store.forecasts_repo import KIND_CHAMPION, StoredForecast, list_forecasts
from cadence.store.scores_repo import (
    TARGET_PERIOD,
    TARGET_WINDOW,
    NewScore,
    UpsertCounts,
    upsert_scores,
)
from cadence.store.tables import utcnow

__all__ = ["BASELINE_SAMPLES", "ScoreRun", "score_forecast", "score_served"]

log = logging.getLogger("cadence.accuracy")
BASELINE_SAMPLES = 1000
_DAYS_PER_PERIOD = {"D": 1, "W": 7, "M": 30}


@dataclass
class ScoreRun:
    """What one ``score_served`` call did: forecasts looked at, targets scored, and the
    upsert counts; ``rolling`` is the champion's rolling accuracy afterwards."""

    series: str
    forecasts: int = 0
    scored: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rolling: Rolling | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "forecasts": self.forecasts,
            "scored": self.scored,
            "inserted": self.counts.inserted,
            "changed": self.counts.changed,
            "unchanged": self.counts.unchanged,
            "rolling": None if self.rolling is None else self.rolling.as_dict(),
        }


def _baseline(data: SeriesData, origin: pd.Timestamp, horizon: int) -> np.ndarray | None:
    """Climatology's sample paths ``(BASELINE_SAMPLES, horizon)`` at ``origin``, or None
    when it cannot be fitted there (too little history)."""
    try:
        _, fc = fit_and_forecast(
            data, ModelConfig(CLIMATOLOGY), origin, horizon, n_samples=BASELINE_SAMPLES, seed=0
        )
    except Exception as exc:  # any model failure only costs the reference, not the scores
        log.info("no climatology reference at %s: %s", origin.date(), exc)
        return None
    return np.asarray(fc.samples)


def score_forecast(
    forecast: StoredForecast, data: SeriesData, *, baseline: np.ndarray | None = None
) -> list[NewScore]:
    """The scores of ``forecast`` (with samples) on every target whose truth ``data``
    knows. ``baseline``: reference sample paths ``(n, horizon)`` for ``baseline_crps``."""
    if forecast.samples is None:
        return []
    samples = np.asarray(forecast.samples)
    horizon = samples.shape[1]
    origin = pd.Timestamp(forecast.origin)
    freq = data.frequency
    truth = data.truth(origin, horizon)
    known = np.isfinite(truth)
    if not known.any():
        return []
    labels = horizon_index(origin, horizon, freq)
    per = score_paths(samples, truth, rng=np.random.default_rng(forecast.id), daily=False)
    base = np.full(horizon, np.nan)
    if baseline is not None:
        base[known] = crps_paths(truth[known], baseline[:, known])
    means = samples.mean(axis=0)
    out: list[NewScore] = []
    for h in np.flatnonzero(known):
        row = per.iloc[h]
        out.append(
            NewScore(
                target=TARGET_PERIOD,
                start=labels[h].date(),
                span=1,
                days=_DAYS_PER_PERIOD.get(freq, 1),
                horizon=int(h) + 1,
                truth=float(truth[h]),
                mean=float(means[h]),
                crps=float(row["crps"]),
                log_score=float(row["log_score"]),
                coverage_50=float(row["coverage_50"]),
                coverage_80=float(row["coverage_80"]),
                coverage_95=float(row["coverage_95"]),
                pit=float(row["pit"]),
                baseline_crps=None if not np.isfinite(base[h]) else float(base[h]),
            )
        )
    for w in forecast.payload.get("windows", []):
        days = int(w["days"])
        n = window_periods(freq, days)
        if n is None or not 1 <= n <= horizon or not known[:n].all():
            continue
        total = samples[:, :n].sum(axis=1)
        y = float(truth[:n].sum())
        rng = np.random.default_rng([forecast.id, days])
        ws = score_paths(total[:, None], np.array([y]), rng=rng, daily=False).iloc[0]
        b = None
        if baseline is not None:
            b = float(crps_paths(y, baseline[:, :n].sum(axis=1)))
        out.append(
            NewScore(
                target=TARGET_WINDOW,
                start=labels[0].date(),
                span=n,
                days=days,
                horizon=n,
                truth=y,
                mean=float(total.mean()),
                crps=float(ws["crps"]),
                log_score=float(ws["log_score"]),
                coverage_50=float(ws["coverage_50"]),
                coverage_80=float(ws["coverage_80"]),
                coverage_95=float(ws["coverage_95"]),
                pit=float(ws["pit"]),
                baseline_crps=b,
            )
        )
    return out


def score_served(
    engine: Engine,
    series: str,
    *,
    band: DriftBand | None = None,
    now: dt.datetime | None = None,
) -> ScoreRun:
    """(Re)score every stored forecast of ``series`` against the truth stored now, in
    one transaction, and return what changed with the champion's rolling accuracy. An
    alarm (``Rolling.alarm``) is logged as a structured warning. Raises
    ``NotFoundError`` for an unknown series; a series without rows scores nothing."""
    run = ScoreRun(series=series)
    forecasts = list_forecasts(engine, series)
    run.forecasts = len(forecasts)
    if forecasts:
        try:
            data = load_series_data(engine, series)
        except SeriesDataError:
            data = None
        if data is not None:
            stamp = now or utcnow()
            results: list[tuple[StoredForecast, list[NewScore]]] = []
            baselines: dict[tuple[dt.date, int], np.ndarray | None] = {}
            for f in forecasts:
                if f.samples is None:
                    continue
                origin = pd.Timestamp(f.origin)
                if not np.isfinite(data.truth(origin, f.horizon)).any():
                    continue
                key = (f.origin, f.horizon)
                if key not in baselines:
                    baselines[key] = _baseline(data, origin, f.horizon)
                results.append((f, score_forecast(f, data, baseline=baselines[key])))
            with engine.begin() as conn:
                for f, scores in results:
                    run.scored += len(scores)
                    run.counts.add(upsert_scores(conn, f, scores, now=stamp))
    run.rolling = accuracy_status(engine, series, band or DriftBand(), kind=KIND_CHAMPION)
    if run.rolling.alarm:
        log.warning(
            "accuracy alarm",
            extra={"event": "accuracy_alarm", **run.rolling.as_dict()},
        )
    return run
