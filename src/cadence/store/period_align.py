"""Counts of a week or a month belong to the period they were dated in.

A count row of a weekly or monthly series names its period by *any* day of it (the
first, the last: ACLED aggregates date a week by its Saturday, many exports by the
Sunday that ends it). ``align_counts`` stores each one on the series' panel period:

* monthly: the calendar month of its date, ``[first day, first day of next month)``;
* weekly: the week of its date counted from the *week start* (``monday``, ISO, by
  default; the series' catalog ``week_start`` or the file's ``--week-start`` can say
  otherwise). Panels keep one weekly frequency, weeks starting Monday (``W-MON``): a
  week starting on another day is stored on the Monday-week holding most of its days
  (the one holding its fourth day, as ISO weeks do), so it shifts by at most three days
  and every weekly series shares one panel calendar;
* a row with its own ``end`` that is exactly one such week or month is aligned the same
  way; one no longer than a period that crosses a period boundary (a Sunday-to-Sunday
  "week" on a Monday-week series) is refused with a row error naming the expected
  start; longer or partial intervals are kept as given (interval totals).

Daily series are unchanged: ``[date, date + 1 day)`` unless ``end`` is given.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from cadence.store.errors import RowError

__all__ = ["WEEKDAYS", "align_counts", "week_start_index"]

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY: Final = pd.Timedelta(days=1)
_WEEK: Final = pd.Timedelta(days=7)


def week_start_index(value: object, where: str = "week_start") -> int:
    """0 (Monday) .. 6 (Sunday) for a weekday name (``sat``, ``Saturday``); ``ValueError``
    naming ``where`` otherwise."""
    text = str(value).strip().lower()
    for i, name in enumerate(WEEKDAYS):
        if len(text) >= 3 and name.startswith(text):
            return i
    raise ValueError(f"{where}: expected a weekday such as monday or saturday, got {value!r}")


def _week_of(day: pd.Series, anchor: pd.Series) -> pd.Series:
    """First day of the ``anchor``-started week holding each day."""
    weekday = day.dt.day_of_week.to_numpy(dtype=float, na_value=np.nan)
    back = (weekday - anchor.to_numpy(dtype=float)) % 7
    return day - pd.to_timedelta(pd.Series(back, index=day.index), unit="D")


def _monday_week(week: pd.Series) -> pd.Series:
    """The Monday-week holding most days of the week starting on ``week``."""
    middle = week + pd.Timedelta(days=3)
    weekday = middle.dt.day_of_week.to_numpy(dtype=float, na_value=np.nan)
    return middle - pd.to_timedelta(pd.Series(weekday, index=week.index), unit="D")


def _straddle_error(row: int, start: pd.Timestamp, end: pd.Timestamp, expected: str) -> RowError:
    got = f"{start.date()} to {(end - _DAY).date()}, which straddles two of its periods"
    return RowError(row, "date", expected, got)


def align_counts(
    start: pd.Series,
    end: pd.Series,
    freqs: pd.Series,
    anchors: pd.Series,
    rows: np.ndarray,
) -> tuple[pd.Series, pd.Series, np.ndarray, list[RowError]]:
    """``(start, end, refused, errors)`` of count rows: ``start`` their dates, ``end``
    their given ends (NaT when absent), ``freqs`` their series' frequency, ``anchors``
    their week start (0 = Monday), ``rows`` their row numbers (see the module)."""
    start, end = start.copy(), end.copy()
    anchors = pd.Series(np.asarray(anchors, dtype=np.int64), index=start.index)
    freqs = pd.Series(np.asarray(freqs, dtype=object), index=start.index)
    refused = np.zeros(len(start), dtype=bool)
    errors: list[RowError] = []
    given = end.notna().to_numpy()
    daily = (freqs == "D").to_numpy()
    end[daily & ~given] = start[daily & ~given] + _DAY
    for freq in ("W", "M"):
        m = (freqs == freq).to_numpy()
        if not m.any():
            continue
        s, e, a = start[m], end[m], anchors[m]
        if freq == "W":
            first = _week_of(s, a)
            last = _week_of(e.fillna(s + _DAY) - _DAY, a)
            whole = e.isna() | ((s == first) & (e == first + _WEEK))
            crosses = ~whole & (e - s <= _WEEK) & (first != last)
            aligned = _monday_week(first)
            new_start, new_end = aligned, aligned + _WEEK
        else:
            first = s.dt.to_period("M").dt.start_time
            last = (e.fillna(s + _DAY) - _DAY).dt.to_period("M").dt.start_time
            nxt = first + pd.offsets.MonthBegin(1)
            whole = e.isna() | ((s == first) & (e == nxt))
            crosses = ~whole & (e - s <= pd.Timedelta(days=31)) & (first != last)
            new_start, new_end = first, nxt
        idx = np.flatnonzero(m)
        w = whole.to_numpy()
        start.iloc[idx[w]] = new_start[w].to_numpy()
        end.iloc[idx[w]] = new_end[w].to_numpy()
        for j in np.flatnonzero(crosses.to_numpy()):
            i = idx[j]
            expected = (
                f"one week starting on {WEEKDAYS[int(a.iloc[j])].capitalize()} (the series' "
                "week start; set week_start in the catalog or --week-start for the file)"
                if freq == "W"
                else "one calendar month"
            )
            errors.append(_straddle_error(int(rows[i]), s.iloc[j], e.iloc[j], expected))
            refused[i] = True
    return start, end, refused, errors
