"""Intervals for scores of forecasts whose horizons overlap.

Forecasts made every week over 28 days share three of their four weeks with the next
ones, so their scores are not independent draws: an interval that resamples them one by
one is too narrow. ``block_ratio`` resamples blocks of consecutive units instead (a
circular moving-block bootstrap, Kunsch 1989; Politis and Romano 1992), with a block as
long as one horizon spans (``overlap_block``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["block_ratio", "overlap_block"]


def overlap_block(starts: Sequence[pd.Timestamp], span: pd.Timedelta) -> int:
    """How many consecutive units (e.g. forecasts, oldest first, starting at ``starts``)
    one ``span`` reaches over: the block length that keeps dependent neighbours
    together. 1 for fewer than two units or spans shorter than their spacing."""
    if len(starts) < 2:
        return 1
    step = pd.Series(pd.DatetimeIndex(starts)).diff().dropna().median()
    if not step or step <= pd.Timedelta(0):
        return 1
    return max(1, math.ceil(span / step))


def block_ratio(
    num: np.ndarray | Sequence[float],
    den: np.ndarray | Sequence[float] | None = None,
    *,
    block: int,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``sum(num) / sum(den)`` over units in their order (``den`` all ones when None:
    the mean of ``num``), and a 95% interval from a circular moving-block bootstrap:
    each replicate joins ``ceil(n / block)`` runs of ``block`` consecutive units from
    random starts, cut to ``n`` units. NaNs when there is no unit or ``den`` sums to 0;
    ``ValueError`` when the lengths differ or a value is not finite."""
    x = np.asarray(num, dtype=float)
    y = np.ones_like(x) if den is None else np.asarray(den, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(
            f"num and den: expected 1-d arrays of one length, got {x.shape} and {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("num and den: expected finite values")
    if x.size == 0 or float(y.sum()) <= 0:
        return (float("nan"),) * 3
    size = max(1, min(int(block), x.size))
    rng = np.random.default_rng(seed)
    n_blocks = math.ceil(x.size / size)
    starts = rng.integers(0, x.size, size=(n_boot, n_blocks))
    idx = ((starts[:, :, None] + np.arange(size)[None, None, :]) % x.size).reshape(n_boot, -1)
    idx = idx[:, : x.size]
    boot = x[idx].sum(axis=1) / np.maximum(y[idx].sum(axis=1), np.finfo(float).tiny)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return float(x.sum() / y.sum()), float(lo), float(hi)
