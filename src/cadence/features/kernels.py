"""Causal numeric kernels on period-by-series arrays.

Every function takes a float array of shape ``(T, N)`` (T periods, oldest first, N series)
and returns the same shape; the value at row t depends only on rows ``<= t``. Work is
vectorized across periods and series (pandas' Cython rolling / EWM, numpy accumulations):
there is no Python loop over periods.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["decay_factor", "decayed_sum", "ewm_rate", "lag", "periods_since", "rolling_sum"]


def decay_factor(half_life: float) -> float:
    """Per-period multiplier of a signal that halves every ``half_life`` periods."""
    return float(0.5 ** (1.0 / half_life))


def rolling_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum of rows ``t-window+1 .. t``; missing values skipped, NaN when all are missing.

    Near the start the window is partial (it sums what the history holds). Computed from
    running sums along time, so it is one vectorized pass over all series; the
    difference of running sums is exact for whole-number counts (below 2**53) and is
    clipped at 0 against rounding for fractional ones.
    """
    known = ~np.isnan(x)
    csum = np.cumsum(np.where(known, x, 0.0), axis=0)
    ccount = np.cumsum(known, axis=0, dtype=np.int64)
    total = csum.copy()
    seen = ccount.copy()
    if window < x.shape[0]:
        total[window:] -= csum[:-window]
        seen[window:] -= ccount[:-window]
    return np.where(seen > 0, np.maximum(total, 0.0), np.nan)


def ewm_rate(x: np.ndarray, half_life: float) -> np.ndarray:
    """Exponentially weighted mean of rows ``<= t`` (events per period).

    Weights ``0.5 ** (age / half_life)`` normalised over the known history; missing rows
    carry no weight (the weight of a row depends on its age, not on how many rows are
    known), as pandas' ``ewm(halflife=..., adjust=True, ignore_na=False).mean()``. NaN
    until the first known row.
    """
    known = ~np.isnan(x)
    numerator = _geometric_filter(np.where(known, x, 0.0), decay_factor(half_life))
    weight = _geometric_filter(known.astype(np.float64), decay_factor(half_life))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, numerator / weight, np.nan)


def _geometric_filter(y: np.ndarray, w: float) -> np.ndarray:
    """``S_t = w * S_{t-1} + y_t`` (``S_{-1} = 0``) along axis 0, for all columns at once.

    Within a block of L rows, ``S_{b+i} = w**(i+1) S_{b-1} + w**i cumsum_j(y_{b+j} w**-j)``:
    a cumulative sum of non-negative terms (accurate to a few ulps), with L bounded so
    that ``w**-L`` stays below 2**500. The Python loop runs over blocks (one block for
    two years of daily data at a half-life of a day or more), not over rows.
    """
    out = np.empty_like(y, dtype=np.float64)
    block = max(1, int(500 / -np.log2(w)))
    carry = np.zeros(y.shape[1:])
    for b in range(0, y.shape[0], block):
        seg = y[b : b + block]
        i = np.arange(seg.shape[0], dtype=np.float64)[:, None]
        down = w**i
        part = down * np.cumsum(seg * w ** (-i), axis=0) + (w * down) * carry
        out[b : b + block] = part
        carry = part[-1]
    return out


def decayed_sum(x: np.ndarray, half_life: float) -> np.ndarray:
    """``S_t = sum_{s <= t} x_s * 0.5 ** ((t - s) / half_life)`` (same unit as ``x``).

    ``x`` must have no missing values. Computed as an unadjusted EWM started from a zero
    row, so ``S_t = w * S_{t-1} + x_t``: leading zero rows leave the result bit-for-bit
    unchanged, which makes the value independent of where the grid starts.
    """
    alpha = 1.0 - decay_factor(half_life)
    padded = np.vstack([np.zeros((1, x.shape[1])), x])
    smoothed = pd.DataFrame(padded).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return smoothed[1:] / alpha


def periods_since(x: np.ndarray, cap: int) -> np.ndarray:
    """Periods since the last row with ``x > 0`` (0 in that period), capped at ``cap``.

    Before any such row the value is ``cap``. Missing values are not events.
    """
    t = np.arange(x.shape[0], dtype=np.int64)[:, None]
    with np.errstate(invalid="ignore"):
        hit = np.nan_to_num(x, nan=0.0) > 0
    last = np.maximum.accumulate(np.where(hit, t, -1), axis=0)
    since = np.where(last < 0, cap, t - last)
    return np.minimum(since, cap).astype(np.float64)


def lag(x: np.ndarray, k: int) -> np.ndarray:
    """Row ``t - k`` at row t; NaN for the first ``k`` rows."""
    out = np.full(x.shape, np.nan)
    if k < x.shape[0]:
        out[k:] = x[: x.shape[0] - k]
    return out
