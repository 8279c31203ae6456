"""The accuracy body: what ``GET /v1/series/{name}/accuracy`` answers and ``cadence
accuracy --json`` prints.

Shape::

    {"series", "kind", "since",
     "rolling": {... the drift window and alarm, ``Rolling.as_dict``},
     "overall": {"n", "crps", "baseline_crps", "log_score", "coverage_50", "coverage_80",
                 "coverage_95", "coverage_80_interval", "pit_mean",
                 "windows": [{"days", "n", "crps", "baseline_crps", "coverage_80",
                              "coverage_80_interval"}]},
     "versions": [{"model", "version", "forecasts", "n", "crps", "baseline_crps",
                   "coverage_80"}],
     "forecasts": [{"forecast_id", "origin", "generated_at", "model", "version", "n",
                    "crps", "baseline_crps", "log_score", "coverage_50", "coverage_80",
                    "coverage_95", "pit_mean", "windows": {"7": {"crps", "coverage_80"}},
                    "revisions"}],
     "days": [{"date", "n", "crps", "baseline_crps", "coverage_80", "rolling_crps",
               "rolling_coverage_80"}]}

Means are over (forecast, period) scores whose period starts on or after ``since``;
``overall`` pools every scored forecast of the kind. CRPS is in counts per period (per
window for windows); coverages are fractions; null where nothing was scored.

``coverage_80_interval`` is a 95% interval ``[low, high]`` of the pooled 80% coverage
from a moving-block bootstrap (``cadence.experiments.bootstrap``): of the served
forecasts for days (each forecast's days kept together), of the windows for window
totals, in blocks as long as one forecast's days or one window reaches over the next
origins. Weekly 28-day windows share three weeks with their neighbours, so ten of them
hold about three independent months: the interval says how far the coverage measured
on them can sit from the intervals' true coverage by chance.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from cadence.experiments.accuracy.rolling import (
    DriftBand,
    accuracy_status,
    daily_accuracy,
    per_forecast,
)
from cadence.experiments.bootstrap import block_ratio, overlap_block
from cadence.store.forecasts_repo import KIND_CHAMPION
from cadence.store.scores_repo import TARGET_PERIOD, TARGET_WINDOW, scores_frame

__all__ = ["accuracy_body"]

_METRICS = ("crps", "baseline_crps", "log_score", "coverage_50", "coverage_80", "coverage_95")


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return round(v, 6) if math.isfinite(v) else None


def _mean(frame: pd.DataFrame, col: str) -> float | None:
    vals = pd.to_numeric(frame[col], errors="coerce").dropna()
    return _num(vals.mean()) if len(vals) else None


def _interval(num: pd.Series, den: pd.Series, starts: pd.Series, span: pd.Timedelta) -> Any:
    """``[low, high]`` of ``sum(num) / sum(den)`` over units ordered by ``starts``
    (``block_ratio`` in blocks of the units ``span`` reaches over); None for no unit."""
    ok = pd.DataFrame({"num": num, "den": den, "start": starts}).dropna().sort_values("start")
    if ok.empty:
        return None
    block = overlap_block(list(pd.DatetimeIndex(ok["start"])), span)
    _, lo, hi = block_ratio(
        ok["num"].to_numpy(dtype=float), ok["den"].to_numpy(dtype=float), block=block
    )
    return [_num(lo), _num(hi)]


def _day_interval(periods: pd.DataFrame) -> Any:
    """The interval of the days' 80% coverage: forecasts are the units (their days are
    scored together), each with its days covered and scored."""
    if periods.empty:
        return None
    cov = pd.to_numeric(periods["coverage_80"], errors="coerce")
    g = periods.assign(cov=cov).dropna(subset=["cov"]).groupby("forecast_id")
    per = pd.DataFrame(
        {
            "covered": g["cov"].sum(),
            "n": g.size(),
            "origin": g["origin"].first(),
            "span": g["start"].max() - g["start"].min(),
        }
    )
    if per.empty:
        return None
    reach = pd.Timedelta(per["span"].max()) + pd.Timedelta(days=1)
    return _interval(per["covered"], per["n"], per["origin"], reach)


def _window_interval(g: pd.DataFrame, days: int) -> Any:
    """The interval of the 80% coverage of ``days``-day window totals."""
    cov = pd.to_numeric(g["coverage_80"], errors="coerce")
    return _interval(cov, cov.notna().astype(float), g["start"], pd.Timedelta(days=days))


def _day(x: Any) -> str:
    return pd.Timestamp(x).date().isoformat()


def _instant(x: Any) -> str:
    at = pd.Timestamp(x)
    at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
    return at.isoformat()


def accuracy_body(
    engine: Engine,
    series: str,
    band: DriftBand,
    *,
    since: dt.date | None = None,
    kind: str = KIND_CHAMPION,
) -> dict[str, Any]:
    """The body of the module docstring. ``NotFoundError`` for an unknown series."""
    scores = scores_frame(engine, series, kind=kind, since=since)
    periods = scores[scores["target"] == TARGET_PERIOD]
    windows = scores[scores["target"] == TARGET_WINDOW]
    overall: dict[str, Any] = {"n": len(periods)}
    for m in _METRICS:
        overall[m] = _mean(periods, m)
    overall["coverage_80_interval"] = _day_interval(periods)
    overall["pit_mean"] = _mean(periods, "pit")
    overall["windows"] = [
        {
            "days": int(days),
            "n": len(g),
            "crps": _mean(g, "crps"),
            "baseline_crps": _mean(g, "baseline_crps"),
            "coverage_80": _mean(g, "coverage_80"),
            "coverage_80_interval": _window_interval(g, int(days)),
        }
        for days, g in windows.groupby("days")
    ]
    versions = []
    if len(periods):
        keyed = periods.assign(model_version=periods["model_version"].fillna(""))
        for (name, version), g in keyed.groupby(["model_name", "model_version"], sort=False):
            versions.append(
                {
                    "model": str(name),
                    "version": str(version) or None,
                    "forecasts": int(g["forecast_id"].nunique()),
                    "n": len(g),
                    "crps": _mean(g, "crps"),
                    "baseline_crps": _mean(g, "baseline_crps"),
                    "coverage_80": _mean(g, "coverage_80"),
                }
            )
    forecasts = []
    for _, r in per_forecast(scores).iterrows():
        by_days = sorted(
            int(c.removeprefix("crps_").removesuffix("d"))
            for c in r.index
            if c.startswith("crps_") and c.endswith("d")
        )
        forecasts.append(
            {
                "forecast_id": int(r["forecast_id"]),
                "origin": _day(r["origin"]),
                "generated_at": _instant(r["generated_at"]),
                "model": str(r["model_name"]),
                "version": None if r["model_version"] is None else str(r["model_version"]),
                "n": int(r["n"]),
                **{m: _num(r[m]) for m in _METRICS},
                "pit_mean": _num(r["pit"]),
                "windows": {
                    str(d): {
                        "crps": _num(r[f"crps_{d}d"]),
                        "coverage_80": _num(r[f"coverage_80_{d}d"]),
                    }
                    for d in by_days
                    if _num(r[f"crps_{d}d"]) is not None
                },
                "revisions": int(r["revisions"]),
            }
        )
    days = [
        {
            "date": _day(r["date"]),
            "n": int(r["n"]),
            "crps": _num(r["crps"]),
            "baseline_crps": _num(r["baseline_crps"]),
            "coverage_80": _num(r["coverage_80"]),
            "rolling_crps": _num(r["rolling_crps"]),
            "rolling_coverage_80": _num(r["rolling_coverage_80"]),
        }
        for _, r in daily_accuracy(scores, band.window_days, kind=kind).iterrows()
    ]
    return {
        "series": series,
        "kind": kind,
        "since": None if since is None else since.isoformat(),
        "rolling": accuracy_status(engine, series, band, kind=kind).as_dict(),
        "overall": overall,
        "versions": versions,
        "forecasts": forecasts,
        "days": days,
    }
