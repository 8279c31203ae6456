"""Count and calendar features for many series at once.

``build_panels`` takes a long frame of counts (``series``, ``date``, ``count``) and lays
it out as one ``(T, N)`` array (periods by series) so that every ``cnt_`` kernel runs
once over all series (pandas' Cython rolling / EWM over columns, numpy accumulations),
with no Python loop over series or periods. Values equal those of ``build_panel`` for
the same counts: both call ``count_features`` on a column per series.

Exogenous driver features (``ret_``, ``stm_``) depend on each series' filters and are
built per series by ``build_panel``; calendar features depend only on the date and are
broadcast.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from cadence.columns import COUNT, DATE, SERIES, Frequency
from cadence.features.calendar import calendar_features
from cadence.features.count_features import iter_count_features, n_count_features
from cadence.features.counts import require_columns
from cadence.features.errors import InputError
from cadence.features.periods import check_frequency, period_index, to_days, to_ordinals

__all__ = ["build_panels"]


def build_panels(
    counts_long: pd.DataFrame,
    frequency: Frequency,
    *,
    dtype: npt.DTypeLike = np.float64,
) -> pd.DataFrame:
    """``cnt_`` and ``cal_`` features of many series.

    ``counts_long``: columns ``series``, ``date`` (any day inside the period; it is
    floored to the period label) and ``count`` (float, NaN = unknown); at most one row
    per series and period. Each series runs from its first to its last period; periods
    missing inside that range count zero.

    Returns a DataFrame indexed by a ``(series, date)`` MultiIndex, sorted by series then
    date, with ``count`` then the ``cnt_`` and ``cal_`` columns in ``dtype`` (float32
    halves the memory of large batches).
    """
    frequency = check_frequency(frequency)
    require_columns(counts_long, (SERIES, DATE, COUNT), "counts")
    codes, names = pd.factorize(counts_long[SERIES], sort=True)
    if (codes < 0).any():
        raise InputError(f"counts, field {SERIES!r}: expected a series name, got a missing value")
    try:
        values = pd.to_numeric(counts_long[COUNT]).to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise InputError(f"counts, field {COUNT!r}: expected numbers, got {exc}") from exc
    if (values < 0).any():
        raise InputError(f"counts, field {COUNT!r}: expected counts >= 0")
    ords = to_ordinals(to_days(counts_long[DATE], DATE), frequency)
    n = len(names)
    if n == 0:
        raise InputError("counts: expected at least one row")
    g0, g1 = int(ords.min()), int(ords.max())
    t_len = g1 - g0 + 1
    t = ords - g0
    if np.bincount(t * n + codes, minlength=t_len * n).max() > 1:
        raise InputError("counts: expected one row per series and period, got duplicates")

    first = np.full(n, t_len, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    np.minimum.at(first, codes, t)
    np.maximum.at(last, codes, t)
    steps = np.arange(t_len)[:, None]
    inside = (steps >= first[None, :]) & (steps <= last[None, :])  # (T, N)
    wide = np.where(inside, 0.0, np.nan)
    wide[t, codes] = values

    # Series-major row order: (series, period) pairs of the cells inside each range.
    row_series, row_t = np.nonzero(inside.T)
    index = pd.MultiIndex(
        levels=[pd.Index(names, name=SERIES), period_index(g0, g1, frequency)],
        codes=[row_series, row_t],
        names=[SERIES, DATE],
    )
    calendar = calendar_features(period_index(g0, g1, frequency), frequency)
    names_out = [COUNT]
    # Columns are filled into one Fortran-ordered block, which pandas adopts without
    # copying: a column at a time, so only one (T, N) feature is alive at once.
    n_cols = 1 + n_count_features(frequency) + len(calendar)
    block = np.empty((row_t.size, n_cols), dtype=dtype, order="F")
    keep = np.ascontiguousarray(inside.T)  # (N, T), series-major like the rows
    rectangular = bool(keep.all())

    def put(j: int, feature: np.ndarray) -> None:
        # A transposing copy then a compress in memory order: far faster than gathering
        # scattered cells. When every series spans the whole grid, the column is simply
        # the transposed array.
        if rectangular:
            block[:, j].reshape(n, t_len)[...] = feature.T
        else:
            block[:, j] = np.ascontiguousarray(feature.T)[keep]

    put(0, wide)
    j = 1
    for name, feature in iter_count_features(wide, frequency):
        put(j, feature)
        names_out.append(name)
        j += 1
        del feature
    for name, cal in calendar.items():
        block[:, j] = cal[row_t]
        names_out.append(name)
        j += 1
    return pd.DataFrame(block, index=index, columns=names_out, copy=False)
