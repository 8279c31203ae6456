"""Period arithmetic for the three frequencies, on integer period ordinals.

A period is labelled by its first day (``D`` a day, ``W`` a week starting Monday, ``M`` a
calendar month, see ``cadence.columns.PANDAS_FREQ``). Internally a period is an integer
*ordinal*: days since 1970-01-01 (D), Monday-weeks since the week of 1969-12-29 (W), months
since 1970-01 (M). Binning dates into ordinals is a vectorized integer operation.

``FrequencyProfile`` holds the per-frequency feature windows so that names like
``cnt_sum_7d`` (daily) and ``cnt_sum_4w`` (weekly) come from one table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cadence.columns import DATE, FREQUENCIES, PANDAS_FREQ, Frequency
from cadence.features.errors import InputError, SpecError

__all__ = [
    "PROFILES",
    "FrequencyProfile",
    "default_stride",
    "labels",
    "last_complete_period",
    "period_index",
    "stride_periods",
    "to_days",
    "to_ordinals",
]

# 1970-01-01 was a Thursday: day d (days since epoch) has weekday (d + 3) % 7, Monday = 0.
_EPOCH_WEEKDAY = 3


@dataclass(frozen=True)
class FrequencyProfile:
    """Feature windows of one frequency, all in periods.

    ``unit`` suffixes feature names (``d``, ``w``, ``m``); ``windows`` are the rolling
    sums (7 and 28 days, or the weekly / monthly equivalents of a month and a quarter /
    a year); ``half_lives`` the decays; ``since_cap`` caps "periods since last" (and is its
    value before any event).
    """

    frequency: Frequency
    unit: str
    lags: tuple[int, ...]
    windows: tuple[int, ...]
    half_lives: tuple[int, ...]
    since_cap: int


PROFILES: dict[str, FrequencyProfile] = {
    "D": FrequencyProfile("D", "d", lags=(1, 2, 7), windows=(7, 28), half_lives=(3, 7, 28),
                          since_cap=365),
    "W": FrequencyProfile("W", "w", lags=(1, 2, 4), windows=(4, 13), half_lives=(1, 4, 13),
                          since_cap=104),
    "M": FrequencyProfile("M", "m", lags=(1, 2, 3), windows=(3, 12), half_lives=(1, 3, 12),
                          since_cap=36),
}  # fmt: skip


def check_frequency(frequency: str) -> Frequency:
    if frequency not in FREQUENCIES:
        raise SpecError(f"frequency: expected one of {', '.join(FREQUENCIES)}, got {frequency!r}")
    return frequency  # type: ignore[return-value]


def to_days(dates: pd.Series | pd.Index | np.ndarray, what: str = DATE) -> np.ndarray:
    """Integer days since 1970-01-01 (int64) of datetime-like values; time of day dropped.

    Raises ``InputError`` on missing or unparseable dates.
    """
    values = pd.Series(dates) if not isinstance(dates, pd.Series) else dates
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        try:
            values = pd.to_datetime(values)
        except (ValueError, TypeError) as exc:
            raise InputError(f"column {what!r}: expected dates, got {exc}") from exc
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputError(f"row {row}, field {what!r}: expected a date, got a missing value")
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


def to_ordinals(days: np.ndarray, frequency: Frequency) -> np.ndarray:
    """Period ordinal (int64) of each day number."""
    days = np.asarray(days, dtype=np.int64)
    if frequency == "D":
        return days
    if frequency == "W":
        return (days + _EPOCH_WEEKDAY) // 7
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def first_day(ordinals: np.ndarray, frequency: Frequency) -> np.ndarray:
    """Day number (int64) of the first day of each period ordinal."""
    ordinals = np.asarray(ordinals, dtype=np.int64)
    if frequency == "D":
        return ordinals
    if frequency == "W":
        return ordinals * 7 - _EPOCH_WEEKDAY
    return ordinals.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def labels(ordinals: np.ndarray, frequency: Frequency) -> pd.DatetimeIndex:
    """Period labels (first day, microsecond resolution as pandas' default) of ordinals."""
    days = first_day(ordinals, frequency).astype("datetime64[D]").astype("datetime64[us]")
    return pd.DatetimeIndex(days, name=DATE)


def period_index(first: int, last: int, frequency: Frequency) -> pd.DatetimeIndex:
    """Regular index of periods ``first..last`` (ordinals, inclusive), named ``date``."""
    n = max(last - first + 1, 0)
    start = labels(np.array([first]), frequency)[0]
    return pd.date_range(start, periods=n, freq=PANDAS_FREQ[frequency], name=DATE, unit="us")


def last_complete_period(as_of_day: int, frequency: Frequency) -> int:
    """Ordinal of the last period whose last day is on or before day ``as_of_day``."""
    return int(to_ordinals(np.array([as_of_day + 1]), frequency)[0]) - 1


def day_of(value: object, what: str) -> int:
    """Day number of a single date-like value (``Timestamp``, ``date``, string)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what}: expected a date, got {value!r}") from exc
    if ts is pd.NaT:
        raise InputError(f"{what}: expected a date, got {value!r}")
    return int(np.datetime64(ts.tz_localize(None) if ts.tz else ts, "D").astype(np.int64))


# --- strides: "every 1W / 1M / 3M / 4 periods" in periods of a series' frequency ---------

_STRIDE = re.compile(r"\s*(\d+)\s*([DWMQY]?)\s*", re.IGNORECASE)
# each unit in periods of each frequency; None: not a whole number of such periods
_UNIT_PERIODS: dict[str, dict[str, int | None]] = {
    "D": {"D": 1, "W": 7, "M": None, "Q": None, "Y": None},
    "W": {"D": None, "W": 1, "M": None, "Q": None, "Y": None},
    "M": {"D": None, "W": None, "M": 1, "Q": 3, "Y": 12},
}
_FREQ_WORDS: dict[str, str] = {"D": "daily", "W": "weekly", "M": "monthly"}
_STRIDE_HINT: dict[str, str] = {
    "D": "e.g. 7D, 1W or 14",
    "W": "e.g. 1W, 4W or 4",
    "M": "e.g. 1M, 3M, 1Y or 3",
}


def stride_periods(every: str | int, frequency: Frequency) -> int:
    """Whole periods of ``frequency`` in the stride ``every``: a count of periods (``4``,
    ``"4"``) or a calendar length ``<n>D``, ``<n>W``, ``<n>M``, ``<n>Q`` (3 months) or
    ``<n>Y`` (12 months) that is a whole number of the series' periods (``7D`` or ``1W``
    on a daily series is 7; ``1M`` on a monthly series is 1). Raises ``SpecError`` naming
    the frequency otherwise (``7D`` on a monthly series)."""
    freq = check_frequency(frequency)
    word = _FREQ_WORDS[freq]
    if isinstance(every, bool) or not isinstance(every, int | str):
        raise SpecError(f"every: expected a stride like 1W, 1M or 4, got {every!r}")
    if isinstance(every, int):
        n, unit = every, ""
    else:
        m = _STRIDE.fullmatch(every)
        if m is None:
            raise SpecError(
                f"every: expected a number of periods or a length like 1W, 1M or 3M "
                f"({_STRIDE_HINT[freq]} for a {word} series), got {every!r}"
            )
        n, unit = int(m.group(1)), m.group(2).upper()
    if n < 1:
        raise SpecError(f"every: expected at least one period, got {every!r}")
    per = 1 if unit == "" else _UNIT_PERIODS[freq][unit]
    if unit == "D" and freq == "W" and n % 7 == 0:
        per, n = 1, n // 7
    if per is None:
        raise SpecError(
            f"every: {every!r} is not a whole number of periods of a {word} series "
            f"(frequency {freq}); use {_STRIDE_HINT[freq]}"
        )
    return n * per


def default_stride(frequency: Frequency) -> int:
    """The default spacing of backtest origins: a week (a month for monthly series)."""
    return 7 if check_frequency(frequency) == "D" else 1
