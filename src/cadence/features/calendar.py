"""Calendar (``cal_``) features: deterministic functions of the period label.

Daily: day-of-week indicators (Monday is the baseline, so six columns) and one annual
Fourier pair. Weekly: the annual pair. Monthly: the annual pair and the number of days
in the month (an exposure term: a 31-day month has more room for events). The annual
angle is ``2 pi (day_of_year - 1) / 365.25`` of the period's first day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.columns import PREFIX_CALENDAR, Frequency

__all__ = ["DOW_NAMES", "calendar_features"]

DOW_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def calendar_features(index: pd.DatetimeIndex, frequency: Frequency) -> dict[str, np.ndarray]:
    """``cal_`` columns (float arrays, one value per period label in ``index``)."""
    p = PREFIX_CALENDAR
    out: dict[str, np.ndarray] = {}
    if frequency == "D":
        dow = index.day_of_week.to_numpy()
        for k, name in enumerate(DOW_NAMES[1:], start=1):
            out[f"{p}dow_{name}"] = (dow == k).astype(np.float64)
    angle = 2.0 * np.pi * (index.day_of_year.to_numpy() - 1) / 365.25
    out[f"{p}year_sin"] = np.sin(angle)
    out[f"{p}year_cos"] = np.cos(angle)
    if frequency == "M":
        out[f"{p}days"] = index.days_in_month.to_numpy().astype(np.float64)
    return out
