"""Live accuracy of served forecasts: rolling scores, the drift alarm, summaries.

Reads the stored scores (``cadence.store.scores_repo``). The *rolling* window is the
last ``DriftBand.window_days`` days of scored periods, ending at the latest period with a
score; it pools every (forecast, period) score of the kind (overlapping forecasts at
several horizons each count once per period they cover). The alarm fires, once at least
``min_scores`` period scores fall in the window, when

* the rolling coverage of the 80% central interval leaves ``[low, high]`` (default
  0.65-0.92 over 8 weeks), or
* the rolling CRPS is clearly worse than Climatology's on the same (forecast, period)
  pairs (``baseline_crps``, fitted at each forecast's origin): the mean of the daily
  mean differences (forecast - Climatology, one value per target day) exceeds
  ``crps_z`` (default 1.645, one-sided 5%) standard errors of those daily values. Days
  are treated as independent, which they are not quite (neighbouring days share
  forecasts), so the test is lenient rather than strict; a model merely as good as
  Climatology on stationary data does not raise it.

An alarm makes the next retrain treat the champion as unproven (``retrain``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine

from cadence.store.forecasts_repo import KIND_CHAMPION
from cadence.store.scores_repo import TARGET_PERIOD, TARGET_WINDOW, scores_frame

__all__ = [
    "DriftBand",
    "Rolling",
    "accuracy_status",
    "daily_accuracy",
    "per_forecast",
    "rolling_accuracy",
]


@dataclass(frozen=True)
class DriftBand:
    """Alarm settings: the accepted band of rolling 80% coverage, the window in days,
    and the fewest period scores in the window before any alarm can fire."""

    low: float = 0.65
    high: float = 0.92
    window_days: int = 56
    min_scores: int = 14
    crps_z: float = 1.645

    def __post_init__(self) -> None:
        if not 0.0 <= self.low < self.high <= 1.0:
            raise ValueError(f"coverage band: expected 0 <= low < high <= 1, got {self}")
        if self.window_days < 1 or self.min_scores < 1:
            raise ValueError(f"window_days and min_scores must be >= 1, got {self}")


def _num(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(float(x)) else None


@dataclass
class Rolling:
    """Rolling accuracy of one series and kind over ``[start, end]`` (target period
    labels). Means over ``n`` period scores; ``baseline_crps`` over the ``n_baseline``
    of them with a Climatology reference (``crps_matched`` is the forecast's CRPS on
    those same pairs)."""

    series: str
    kind: str
    band: DriftBand
    start: dt.date | None = None
    end: dt.date | None = None
    n: int = 0
    crps: float = float("nan")
    log_score: float = float("nan")
    coverage_50: float = float("nan")
    coverage_80: float = float("nan")
    coverage_95: float = float("nan")
    n_baseline: int = 0
    crps_matched: float = float("nan")
    baseline_crps: float = float("nan")
    crps_difference: float = float("nan")
    crps_difference_se: float = float("nan")
    reasons: list[str] = field(default_factory=list)

    @property
    def alarm(self) -> bool:
        return bool(self.reasons)

    def as_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "kind": self.kind,
            "window_days": self.band.window_days,
            "coverage_band": [self.band.low, self.band.high],
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "n": self.n,
            "crps": _num(self.crps),
            "log_score": _num(self.log_score),
            "coverage_50": _num(self.coverage_50),
            "coverage_80": _num(self.coverage_80),
            "coverage_95": _num(self.coverage_95),
            "n_baseline": self.n_baseline,
            "crps_matched": _num(self.crps_matched),
            "baseline_crps": _num(self.baseline_crps),
            "crps_difference": _num(self.crps_difference),
            "crps_difference_se": _num(self.crps_difference_se),
            "alarm": self.alarm,
            "reasons": list(self.reasons),
        }


def rolling_accuracy(
    scores: pd.DataFrame, series: str, band: DriftBand, *, kind: str = KIND_CHAMPION
) -> Rolling:
    """The rolling window and alarm of ``scores`` (a ``scores_frame``: only its period
    rows of ``kind`` are used)."""
    out = Rolling(series=series, kind=kind, band=band)
    if scores.empty:
        return out
    p = scores[(scores["target"] == TARGET_PERIOD) & (scores["kind"] == kind)]
    if p.empty:
        return out
    end = pd.Timestamp(p["start"].max())
    first = end - pd.Timedelta(days=band.window_days - 1)
    w = p[p["start"] >= first]
    out.start, out.end, out.n = first.date(), end.date(), len(w)
    for m in ("crps", "log_score", "coverage_50", "coverage_80", "coverage_95"):
        setattr(out, m, float(w[m].astype(float).mean()))
    matched = w[np.isfinite(w["baseline_crps"].astype(float))]
    out.n_baseline = len(matched)
    if out.n_baseline:
        out.crps_matched = float(matched["crps"].astype(float).mean())
        out.baseline_crps = float(matched["baseline_crps"].astype(float).mean())
        diff = matched["crps"].astype(float) - matched["baseline_crps"].astype(float)
        daily = diff.groupby(matched["start"]).mean().to_numpy()
        out.crps_difference = float(daily.mean())
        if daily.size >= 2:
            out.crps_difference_se = float(daily.std(ddof=1) / np.sqrt(daily.size))
    if out.n < band.min_scores:
        return out
    if not band.low <= out.coverage_80 <= band.high:
        out.reasons.append(
            f"80% interval coverage {out.coverage_80:.2f} over the last {band.window_days} "
            f"days is outside {band.low:.2f}-{band.high:.2f}"
        )
    worse = out.crps_difference > band.crps_z * out.crps_difference_se
    if out.n_baseline >= band.min_scores and np.isfinite(out.crps_difference_se) and worse:
        out.reasons.append(
            f"rolling CRPS {out.crps_matched:.4g} is worse than climatology's "
            f"{out.baseline_crps:.4g} on the same {out.n_baseline} scores (daily mean "
            f"difference {out.crps_difference:.3g}, standard error {out.crps_difference_se:.3g})"
        )
    return out


def accuracy_status(
    conn: Connection | Engine, series: str, band: DriftBand, *, kind: str = KIND_CHAMPION
) -> Rolling:
    """``rolling_accuracy`` of the stored scores of ``series``."""
    frame = scores_frame(conn, series, kind=kind, target=TARGET_PERIOD)
    return rolling_accuracy(frame, series, band, kind=kind)


def daily_accuracy(
    scores: pd.DataFrame, window_days: int, *, kind: str = KIND_CHAMPION
) -> pd.DataFrame:
    """Scores over time: one row per target period (``date``) with the mean ``crps``,
    ``baseline_crps``, ``coverage_80`` and count ``n`` of that period's scores, and the
    trailing ``window_days`` means ``rolling_crps`` and ``rolling_coverage_80`` (pooled
    over the scores in the window)."""
    cols = [
        "date",
        "n",
        "crps",
        "baseline_crps",
        "coverage_80",
        "rolling_crps",
        "rolling_coverage_80",
    ]
    p = (
        scores[(scores["target"] == TARGET_PERIOD) & (scores["kind"] == kind)]
        if len(scores)
        else scores
    )
    if p.empty:
        return pd.DataFrame(columns=cols)
    g = p.assign(
        crps=p["crps"].astype(float),
        baseline_crps=p["baseline_crps"].astype(float),
        coverage_80=p["coverage_80"].astype(float),
    ).groupby("start")
    day = pd.DataFrame(
        {
            "n": g.size(),
            "crps_sum": g["crps"].sum(),
            "cov_sum": g["coverage_80"].sum(),
            "crps": g["crps"].mean(),
            "baseline_crps": g["baseline_crps"].mean(),
            "coverage_80": g["coverage_80"].mean(),
        }
    )
    roll = day[["n", "crps_sum", "cov_sum"]].rolling(f"{window_days}D").sum()
    day["rolling_crps"] = roll["crps_sum"] / roll["n"]
    day["rolling_coverage_80"] = roll["cov_sum"] / roll["n"]
    day = day.reset_index().rename(columns={"start": "date"})
    return day[cols]


def per_forecast(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per scored forecast (oldest origin first): ``forecast_id, kind, origin,
    generated_at, model_name, model_version, n`` (periods scored) and the means of
    ``crps, baseline_crps, log_score, coverage_50, coverage_80, coverage_95, pit`` over
    its periods, the CRPS and 80% coverage of its window totals (``crps_7d``,
    ``coverage_80_7d``, ... for each window length), and ``revisions`` (rescores that
    changed a value)."""
    base = ["forecast_id", "kind", "origin", "generated_at", "model_name", "model_version"]
    metrics = [
        "crps",
        "baseline_crps",
        "log_score",
        "coverage_50",
        "coverage_80",
        "coverage_95",
        "pit",
    ]
    if scores.empty:
        return pd.DataFrame(columns=[*base, "n", *metrics, "revisions"])
    p = scores[scores["target"] == TARGET_PERIOD]
    rows: list[dict[str, Any]] = []
    for fid, g in scores.groupby("forecast_id", sort=False):
        gp = p[p["forecast_id"] == fid]
        first = g.iloc[0]
        row: dict[str, Any] = {k: first[k] for k in base}
        row["n"] = len(gp)
        for m in metrics:
            row[m] = float(gp[m].astype(float).mean()) if len(gp) else float("nan")
        for _, w in g[g["target"] == TARGET_WINDOW].sort_values("days").iterrows():
            row[f"crps_{int(w['days'])}d"] = float(w["crps"])
            row[f"coverage_80_{int(w['days'])}d"] = float(w["coverage_80"])
        row["revisions"] = int(g["revisions"].sum())
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["origin", "forecast_id"]).reset_index(drop=True)
