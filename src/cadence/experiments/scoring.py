"""Scores of sample-path forecasts against what happened.

Every score is negatively oriented (lower is better) except coverage (a frequency to
compare with its nominal level) and the PIT value (uniform on [0, 1] for a calibrated
forecast). Inputs: ``samples`` int array ``(n_samples, horizon)`` as in
``CountForecast.samples``; ``truth`` float array ``(horizon,)``, NaN where unknown. A
period with unknown truth gets NaN in every score (it is not scored).

Definitions, per period ``h`` with outcome ``y`` and sample predictive ``F``:

* ``crps``: ``scoringrules.crps_ensemble`` (its default ``qd`` estimator).
* ``log_score``: ``-log p(y)``, ``p`` the empirical pmf of the samples smoothed so that no
  outcome has probability 0: ``p(y) = (#{samples == y} + a * g(y)) / (n + a)`` with
  ``a = LOG_SCORE_PSEUDOCOUNT`` (1 sample's worth) and ``g`` the geometric pmf on
  ``0, 1, ...`` with mean ``mean(samples) + 1``. Natural log (nats).
* ``rps``: ``scoringrules.rps_score`` over fixed ordered count categories
  ``RPS_THRESHOLDS`` (0, 1, 2, 3-4, 5-9, 10-19, 20-49, ... , 20000+), divided by the
  number of thresholds so it lies in [0, 1]. (Over every integer the RPS of a count
  forecast equals its CRPS; the coarse, scale-free categories make it a separate view.)
* ``mae``: ``|median - y|``, median from ``CountForecast`` quantiles (``inverted_cdf``).
* ``coverage_50/80/95``: 1 if ``y`` lies in the central interval between the sample
  quantiles ``(1 - c) / 2`` and ``(1 + c) / 2`` (inclusive; integer bounds so discrete
  intervals cover at least nominally), else 0.
* ``brier_any_7`` (daily series only, else NaN): ``scoringrules.brier_score`` of
  P(at least one event in the 7 days starting at ``h``) against whether one happened;
  NaN for the last 6 horizons (the window leaves the horizon).
* ``pit``: randomized PIT ``F(y - 1) + v * (F(y) - F(y - 1))``, ``v ~ U(0, 1)`` from the
  caller's generator (so a rerun with the same seed gives the same values).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import scoringrules as sr

__all__ = [
    "COVERAGE_LEVELS",
    "LOG_SCORE_PSEUDOCOUNT",
    "METRICS",
    "RPS_THRESHOLDS",
    "WINDOW_DAYS",
    "crps_paths",
    "members_last",
    "score_paths",
    "smoothed_log_pmf",
    "smoothed_pmf",
    "summarize",
    "window_totals",
]

COVERAGE_LEVELS: Final = (0.5, 0.8, 0.95)
LOG_SCORE_PSEUDOCOUNT: Final = 1.0
RPS_THRESHOLDS: Final = np.array(
    [0, 1, 2, 4, 9, 19, 49, 99, 199, 499, 999, 1999, 4999, 9999, 19999], dtype=float
)
WINDOW_DAYS: Final = 7
METRICS: Final = (
    "crps",
    "log_score",
    "rps",
    "mae",
    "coverage_50",
    "coverage_80",
    "coverage_95",
    "brier_any_7",
)


def smoothed_pmf(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smoothed predictive probability of ``y`` per column of ``samples`` (see module
    docstring). ``samples`` ``(n, H)`` ints, ``y`` ``(H,)`` non-negative integers."""
    return np.exp(smoothed_log_pmf(samples, y))


def smoothed_log_pmf(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``log(smoothed_pmf)``, computed in log space: a count far above every sampled path
    gets a very negative but finite value instead of ``log(0)`` (``q**y`` underflows)."""
    n = samples.shape[0]
    hits = (samples == y[None, :]).sum(axis=0)
    mean = samples.mean(axis=0) + 1.0
    q = mean / (mean + 1.0)  # geometric on 0, 1, ... with mean q / (1 - q)
    log_g = np.log1p(-q) + y * np.log(q)
    a = LOG_SCORE_PSEUDOCOUNT
    with np.errstate(divide="ignore"):  # log(0 hits) = -inf is absorbed by logaddexp
        log_hits = np.log(hits.astype(float))
    return np.asarray(np.logaddexp(log_hits, np.log(a) + log_g) - np.log(n + a))


def _rps(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    cdf = (samples[:, :, None] <= RPS_THRESHOLDS[None, None, :]).mean(axis=0)  # (H, K-1)
    probs = np.diff(
        np.concatenate([np.zeros((cdf.shape[0], 1)), cdf, np.ones((cdf.shape[0], 1))], axis=1),
        axis=1,
    )
    category = np.searchsorted(RPS_THRESHOLDS, y, side="left")  # y <= t_k -> category k
    onehot = np.zeros_like(probs)
    onehot[np.arange(y.size), category] = 1.0
    return np.asarray(sr.rps_score(onehot, probs, onehot=True)) / RPS_THRESHOLDS.size


def members_last(samples: np.ndarray) -> np.ndarray:
    """Paths ``(n_samples, ...)`` as scoringrules takes an ensemble: float, members on
    the last axis (its default ``m_axis=-1``), e.g. ``(horizon, n_samples)``.

    The one place where the orientation changes: ``CountForecast.samples`` keeps members
    first (see its docstring); every call into scoringrules goes through here."""
    return np.moveaxis(np.asarray(samples), 0, -1).astype(float)


def crps_paths(truth: np.ndarray | float, samples: np.ndarray) -> np.ndarray:
    """``scoringrules.crps_ensemble`` of outcomes ``truth`` (shape ``samples.shape[1:]``)
    under the paths ``samples`` ``(n_samples, ...)``; shape of ``truth``."""
    return np.asarray(sr.crps_ensemble(truth, members_last(samples)))


def score_paths(
    samples: np.ndarray,
    truth: np.ndarray,
    *,
    rng: np.random.Generator,
    daily: bool,
) -> pd.DataFrame:
    """Scores per period: one row per horizon ``1..H`` (column ``horizon``), columns
    ``METRICS`` and ``pit``. Rows whose truth is NaN hold NaN."""
    s = np.asarray(samples)
    t = np.asarray(truth, dtype=float)
    horizon = s.shape[1]
    known = np.isfinite(t)
    out = {m: np.full(horizon, np.nan) for m in (*METRICS, "pit")}
    # drawn for every h, known or not, so unknown periods do not shift the others' draws
    v = np.asarray(rng.uniform(size=horizon))
    if daily and horizon >= WINDOW_DAYS:
        n_win = horizon - WINDOW_DAYS + 1
        kernel = np.ones(WINDOW_DAYS)
        p_any = np.array(
            [(s[:, h : h + WINDOW_DAYS].sum(axis=1) >= 1).mean() for h in range(n_win)]
        )
        t_win = np.convolve(np.where(known, t, np.nan), kernel, mode="valid")
        ok = np.isfinite(t_win)
        brier = np.full(n_win, np.nan)
        if ok.any():
            brier[ok] = sr.brier_score((t_win[ok] >= 1).astype(float), p_any[ok])
        out["brier_any_7"][:n_win] = brier
    if known.any():
        ks = s[:, known]
        y = t[known]
        yi = y.astype(np.int64)
        out["crps"][known] = crps_paths(y, ks)
        out["log_score"][known] = -smoothed_log_pmf(ks, yi)
        out["rps"][known] = _rps(ks, y)
        levels = [0.5] + [x for c in COVERAGE_LEVELS for x in ((1 - c) / 2, (1 + c) / 2)]
        q = np.quantile(ks, levels, axis=0, method="inverted_cdf")
        out["mae"][known] = np.abs(q[0] - y)
        for i, c in enumerate(COVERAGE_LEVELS):
            lo, hi = q[1 + 2 * i], q[2 + 2 * i]
            out[f"coverage_{round(c * 100)}"][known] = ((lo <= y) & (y <= hi)).astype(float)
        below = (ks < y[None, :]).mean(axis=0)
        at_most = (ks <= y[None, :]).mean(axis=0)
        out["pit"][known] = below + v[known] * (at_most - below)
    frame = pd.DataFrame(out)
    frame.insert(0, "horizon", np.arange(1, horizon + 1))
    return frame


def window_totals(
    samples: np.ndarray, truth: np.ndarray, days: int = WINDOW_DAYS
) -> tuple[np.ndarray, np.ndarray]:
    """Totals over consecutive non-overlapping windows of ``days`` periods from the
    first horizon period: samples ``(n, H // days)`` and truth ``(H // days,)`` (NaN
    when any day of the window is unknown). A partial last window is dropped."""
    k = samples.shape[1] // days
    s = samples[:, : k * days].reshape(samples.shape[0], k, days).sum(axis=2)
    t = np.asarray(truth, dtype=float)[: k * days].reshape(k, days).sum(axis=1)
    return s, t  # a NaN day makes its window NaN (sum propagates NaN)


def summarize(per_origin: pd.DataFrame) -> pd.DataFrame:
    """Mean of each metric by ``model`` and ``horizon``, plus ``horizon == "all"`` over
    every scored (origin, horizon) row. ``n`` counts rows with a known truth; a metric
    with no finite value is NaN. Columns: ``model, horizon, *METRICS, n``."""
    cols = ["model", "horizon", *METRICS, "n"]
    if per_origin.empty:
        return pd.DataFrame(columns=cols)
    codes, models = pd.factorize(per_origin["model"], sort=False)
    horizons = per_origin["horizon"].to_numpy()
    scored = np.isfinite(per_origin["crps"].to_numpy(dtype=float))
    values = {m: per_origin[m].to_numpy(dtype=float) for m in METRICS}
    rows: list[dict[str, object]] = []
    for i, model in enumerate(models):
        own = codes == i
        for h in sorted(pd.unique(horizons[own])):
            rows.append(_row(str(model), int(h), values, own & (horizons == h), scored))
        rows.append(_row(str(model), "all", values, own, scored))
    return pd.DataFrame(rows, columns=cols)


def _row(
    model: str,
    horizon: int | str,
    values: dict[str, np.ndarray],
    rows: np.ndarray,
    scored: np.ndarray,
) -> dict[str, object]:
    """One summary row: the means over ``rows`` (a mask) of each metric's finite values,
    over the scored ones (known truth) but for ``brier_any_7`` (7-day windows)."""
    row: dict[str, object] = {"model": model, "horizon": horizon}
    known = rows & scored
    for m in METRICS:
        vals = values[m][rows if m == "brier_any_7" else known]
        vals = vals[np.isfinite(vals)]
        row[m] = float(vals.mean()) if vals.size else float("nan")
    row["n"] = int(known.sum())
    return row
