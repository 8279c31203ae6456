"""The sampled stream of ``LocalLevel``: a thinned, dated view of the counted events.

A series observed through interval totals may carry ``smp_count`` (see
``cadence.features.sampled``): the events a news list dated in each period, a share
``theta`` of the events the totals count. ``LocalLevel`` reads it as a second
observation of the same level, ``smp_t ~ NB2(theta * exp(x_t + o_t), k_s)``.

``theta`` (the reporting share) is estimated where the two views overlap: the sampled
events dated inside the periods that counts and interval totals cover, divided by those
counts and totals (a ratio estimator: the maximum-likelihood estimate of a binomial
thinning share when every covered period is observed by both views). Only totals whose
periods all carry a sampled count take part, and the estimate is clipped to
``[_THETA_LOW, 1]``: a thinned view reports at most every event. With fewer than
``_MIN_OVERLAP`` events counted in the overlap the share is too uncertain and the stream
is not used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.columns import SAMPLED_COUNT
from cadence.models._design import Coverage, Series
from cadence.models._level_fit import Sampled

_MIN_OVERLAP = 10.0
_THETA_LOW = 0.01


def reporting_share(series: Series, coverage: Coverage | None, sampled: np.ndarray) -> float | None:
    """``theta``: sampled events over counted events where both views cover the same
    periods (see the module docstring); None with fewer than ``_MIN_OVERLAP`` counted."""
    seen = np.isfinite(sampled)
    v = np.where(seen, sampled, 0.0)
    single = np.isfinite(series.y) & seen
    num, den = float(v[single].sum()), float(series.y[single].sum())
    if coverage is not None and len(coverage):
        inside = coverage.weights > 0
        whole = ~(inside & ~seen[None, :]).any(axis=1)
        num += float((inside[whole] * v[None, :]).sum())
        den += float(coverage.totals[whole].sum())
    if den < _MIN_OVERLAP:
        return None
    return float(np.clip(num / den, _THETA_LOW, 1.0))


def sampled_stream(
    panel: pd.DataFrame, series: Series, coverage: Coverage | None
) -> Sampled | None:
    """The sampled stream of ``panel`` with its ``theta``, or None when the panel has no
    ``smp_count`` column, no sampled count, or too little overlap to estimate ``theta``."""
    if SAMPLED_COUNT not in panel.columns:
        return None
    y = panel[SAMPLED_COUNT].to_numpy(dtype=float)
    if not np.isfinite(y).any():
        return None
    theta = reporting_share(series, coverage, y)
    return None if theta is None else Sampled(y=y, theta=theta)
