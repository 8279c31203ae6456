"""Bounds every ingested value meets, so SQLite and PostgreSQL accept the same rows.

SQLite stores what it is given; PostgreSQL refuses text with NUL bytes, integers past
32 bits in ``INTEGER`` columns and strings longer than their ``VARCHAR``. Validation
checks these bounds first, so a row is refused the same way (a row error) on both.
Dates must fall in a ``DateWindow``: the service builds it from its settings and passes
it down; without one, ingest uses ``DateWindow.default()``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

INT32_MAX: Final = 2**31 - 1
FIRST_DATE: Final = dt.date(1990, 1, 1)
FUTURE_MARGIN_DAYS: Final = 7
UNSAFE_TEXT: Final = "text without NUL bytes or unpaired surrogates"


@dataclass(frozen=True)
class DateWindow:
    """The dates ingest accepts, ``first`` to ``last`` inclusive."""

    first: dt.date
    last: dt.date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"date window: {self.first} is after {self.last}")

    @classmethod
    def until(
        cls,
        today: dt.date,
        *,
        first: dt.date = FIRST_DATE,
        margin_days: int = FUTURE_MARGIN_DAYS,
    ) -> DateWindow:
        """From ``first`` to ``margin_days`` after ``today``."""
        return cls(first, today + dt.timedelta(days=margin_days))

    @classmethod
    def default(cls) -> DateWindow:
        """From 1990-01-01 to a week after today (UTC)."""
        return cls.until(dt.datetime.now(dt.UTC).date())

    def __str__(self) -> str:
        return f"{self.first} to {self.last}"


def _bad_cell(value: object) -> bool:
    if not isinstance(value, str):
        return False
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unsafe_text(values: pd.Series) -> np.ndarray:
    """Mask of the cells holding a NUL byte or an unpaired surrogate (text that is not
    valid UTF-8, e.g. ``"\\ud800"`` from JSON). Arrow-backed text cannot hold surrogates,
    so only NULs are looked for there; other columns are checked in one pass over the
    joined text, cell by cell only when it finds something."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return np.array(values.str.contains("\x00", regex=False).fillna(False), dtype=bool)
    cells = values.to_numpy(dtype=object)
    text = [v for v in cells if isinstance(v, str)]
    joined = "".join(text)
    if "\x00" not in joined:
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return np.zeros(len(cells), dtype=bool)
    return np.fromiter((_bad_cell(v) for v in cells), dtype=bool, count=len(cells))
