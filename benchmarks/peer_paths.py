"""Integer sample paths for peer forecasters, and the scores a peer and a Cadence model share.

Nothing here imports statsforecast: the peers' point forecasts, fitted values and
simulations come in as arrays, and everything that turns them into integer paths or
scores lives here (tested on generated data in ``tests/experiments/test_peer_paths.py``).

* ``nb2_dispersion``: the NB2 dispersion ``alpha`` of ``Var(y) = mu + alpha * mu**2``,
  by the method of moments on in-sample one-step residuals:
  ``alpha = sum((y - mu)**2 - mu) / sum(mu**2)``, floored at 0 (Poisson).
* ``nb_paths``: negative-binomial paths around a point forecast, independent across
  periods (a burst on one day says nothing about the next, so totals over several days
  are narrower than they would be with the same daily margins and dependence).
* ``count_paths``: real-valued simulated paths (a Gaussian state-space model's) rounded
  to the nearest integer and clipped at 0.
* ``score_forecast``: the scores of one forecast through ``cadence.experiments.scoring``,
  exactly as ``run_backtest`` scores its models: per period with ``score_paths`` and, for
  a daily series, on totals over consecutive non-overlapping windows of 7, 14 and 28
  days with ``window_totals`` (a window length longer than the horizon is left out).
* ``ratio_interval``: a ratio of mean CRPS with a moving-block bootstrap interval over
  origins, so "best Cadence / best peer" comes with its uncertainty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.experiments.backtest import origin_seed
from cadence.experiments.bootstrap import block_ratio
from cadence.experiments.scoring import score_paths, summarize, window_totals

__all__ = [
    "DAILY",
    "TOTAL_DAYS",
    "count_paths",
    "nb2_dispersion",
    "nb_paths",
    "origin_crps",
    "ratio_interval",
    "score_forecast",
    "summarize_views",
    "views",
]

DAILY = "daily"
TOTAL_DAYS = (7, 14, 28)


def views(horizon: int, daily: bool) -> list[str]:
    """The score views a horizon allows: ``daily`` (per period), then ``total_7``,
    ``total_14``, ``total_28`` for each window length within the horizon."""
    totals = [f"total_{d}" for d in TOTAL_DAYS if daily and d <= horizon]
    return [DAILY, *totals]


def nb2_dispersion(y: np.ndarray, fitted: np.ndarray) -> float:
    """Method-of-moments NB2 dispersion from one-step residuals ``y - fitted``.

    Periods where either value is missing or the fitted mean is not positive are left
    out. Returns 0.0 (Poisson) when the residuals are not overdispersed or nothing is
    left; ``ValueError`` when the shapes differ."""
    obs = np.asarray(y, dtype=float)
    mu = np.asarray(fitted, dtype=float)
    if obs.shape != mu.shape:
        raise ValueError(f"y and fitted: expected the same shape, got {obs.shape} and {mu.shape}")
    ok = np.isfinite(obs) & np.isfinite(mu) & (mu > 0)
    if not ok.any():
        return 0.0
    o, m = obs[ok], mu[ok]
    alpha = float(np.sum((o - m) ** 2 - m) / np.sum(m**2))
    return max(alpha, 0.0)


def nb_paths(mean: np.ndarray, alpha: float, n_paths: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_paths, len(mean))`` int64 paths, period ``h`` negative binomial with mean
    ``mean[h]`` (negative means clipped to 0) and variance ``mean + alpha * mean**2``,
    independent across periods; Poisson when ``alpha`` is 0. ``ValueError`` for a
    missing mean or a negative or missing ``alpha``."""
    mu = np.clip(np.asarray(mean, dtype=float), 0.0, None)
    if not np.isfinite(mu).all():
        raise ValueError(f"mean: expected finite values, got {np.asarray(mean).tolist()}")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha: expected a finite value >= 0, got {alpha}")
    shape = (n_paths, mu.size)
    if alpha == 0:
        return rng.poisson(np.broadcast_to(mu, shape)).astype(np.int64)
    size = 1.0 / alpha
    prob = size / (size + mu)
    return rng.negative_binomial(size, np.broadcast_to(prob, shape)).astype(np.int64)


def count_paths(paths: np.ndarray) -> np.ndarray:
    """Real-valued paths rounded to the nearest integer and clipped at 0 (int64).
    ``ValueError`` when a path holds a missing or infinite value."""
    p = np.asarray(paths, dtype=float)
    if not np.isfinite(p).all():
        bad = int((~np.isfinite(p)).any(axis=1).sum())
        raise ValueError(f"paths: {bad} of {p.shape[0]} simulated paths are not finite")
    return np.clip(np.rint(p), 0, None).astype(np.int64)


def score_forecast(
    model: str,
    origin: pd.Timestamp,
    samples: np.ndarray,
    truth: np.ndarray,
    *,
    seed: int,
    daily: bool,
) -> dict[str, pd.DataFrame]:
    """Scores of one forecast by view (see ``views``): per-period rows from
    ``score_paths`` with ``model`` and ``origin`` columns first, ``horizon`` being the
    period (daily) or the window number (totals). The PIT generator is seeded as the
    backtest seeds it, so the daily rows of a Cadence model equal the backtest's."""
    rng = np.random.default_rng(origin_seed(seed + 1, model, origin))
    horizon = samples.shape[1]
    out: dict[str, pd.DataFrame] = {}
    for view in views(horizon, daily):
        if view == DAILY:
            frame = score_paths(samples, truth, rng=rng, daily=daily)
        else:
            s, t = window_totals(samples, truth, days=int(view.split("_")[1]))
            frame = score_paths(s, t, rng=rng, daily=False)
        frame.insert(0, "origin", origin)
        frame.insert(0, "model", model)
        out[view] = frame
    return out


def summarize_views(per_origin: dict[str, list[pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """``summarize`` of each view's rows: the ``horizon == "all"`` rows, indexed by model
    (mean over every scored origin and period or window, as the backtest's table)."""
    out: dict[str, pd.DataFrame] = {}
    for view, frames in per_origin.items():
        table = summarize(pd.concat(frames, ignore_index=True))
        out[view] = table[table["horizon"].astype(str) == "all"].set_index("model")
    return out


def origin_crps(frames: list[pd.DataFrame], model: str) -> pd.Series:
    """Mean CRPS of ``model`` per origin (over the periods or windows scored there)."""
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["model"] == model]
    return rows.groupby("origin")["crps"].mean().dropna()


def ratio_interval(
    a: pd.Series, b: pd.Series, *, block: int, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``mean(a) / mean(b)`` over the origins both scored, and a 95% interval from a
    circular moving-block bootstrap of origins (``cadence.experiments.bootstrap``, as
    ``BacktestResult.crps_difference`` resamples: overlapping horizons make
    neighbouring origins dependent). NaNs when no origin is shared or ``b`` sums to 0."""
    both = pd.concat([a, b], axis=1, keys=["a", "b"]).dropna().sort_index()
    x, y = both["a"].to_numpy(dtype=float), both["b"].to_numpy(dtype=float)
    return block_ratio(x, y, block=block, n_boot=n_boot, seed=seed)
