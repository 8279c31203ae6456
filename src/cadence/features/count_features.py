"""Attack-frequency (``cnt_``) features from counts per period.

Input: counts of shape ``(T, N)`` (T periods oldest first, N series), float, NaN where a
count is known only as part of an interval total. Row t uses counts of rows ``<= t``
(the count of period t itself included: a feature at t describes the state at the end
of t; models lag it when they predict t).

Unknown (NaN) counts carry no information: rolling sums add the known counts of the
window (NaN when none is known), EWM rates are weighted means over known periods, lags
are NaN, and "periods since" only sees known events. Interval totals enter no ``cnt_``
column; models that use them read ``Panel.intervals``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cadence.columns import PREFIX_COUNT_FEATURE, Frequency
from cadence.features.kernels import ewm_rate, lag, periods_since, rolling_sum
from cadence.features.periods import PROFILES

__all__ = ["count_features", "iter_count_features", "n_count_features"]


def iter_count_features(
    counts: np.ndarray, frequency: Frequency
) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, values)`` of each ``cnt_`` column, values shaped ``(T, N)`` like ``counts``.

    One column at a time, so that a caller over many series holds one at a time.
    """
    profile = PROFILES[frequency]
    u, p = profile.unit, PREFIX_COUNT_FEATURE
    for k in profile.lags:
        yield f"{p}lag_{k}", lag(counts, k)
    for w in profile.windows:
        yield f"{p}sum_{w}{u}", rolling_sum(counts, w)
    for h in profile.half_lives:
        yield f"{p}ewm_{h}{u}", ewm_rate(counts, h)
    yield f"{p}since_last", periods_since(counts, profile.since_cap)


def count_features(counts: np.ndarray, frequency: Frequency) -> dict[str, np.ndarray]:
    """``cnt_`` columns, each of shape ``(T, N)`` like ``counts``."""
    return dict(iter_count_features(counts, frequency))


def n_count_features(frequency: Frequency) -> int:
    """How many columns ``iter_count_features`` yields at ``frequency``."""
    p = PROFILES[frequency]
    return len(p.lags) + len(p.windows) + len(p.half_lives) + 1
