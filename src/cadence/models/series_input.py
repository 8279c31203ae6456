"""Models on a plain pandas Series of counts, without a database or feature pipeline."""

from __future__ import annotations

import pandas as pd

from cadence.columns import COUNT, DATE, EXOGENOUS_PREFIXES, PANDAS_FREQ
from cadence.models.errors import PanelError

__all__ = ["panel_from_series"]


def panel_from_series(counts: pd.Series, exog: pd.DataFrame | None = None) -> pd.DataFrame:
    """A model panel from ``counts`` (indexed by dates at a regular daily, weekly-Monday
    or month-start frequency, oldest first; NaN where unknown) and optional exogenous
    columns ``exog`` on the same index (names must start with ``ret_``, ``stm_`` or
    ``cal_``, the prefixes the models read). Raises ``PanelError`` naming what is wrong.

    >>> y = pd.Series([3, 5, 4], index=pd.date_range("2024-01-01", periods=3, freq="D"))
    >>> list(panel_from_series(y).columns)
    ['count']
    """
    if not isinstance(counts, pd.Series):
        raise PanelError(f"counts must be a pandas Series, got {type(counts).__name__}")
    index = pd.DatetimeIndex(counts.index)
    freq = index.freqstr if index.freq is not None else pd.infer_freq(index)
    if freq not in PANDAS_FREQ.values():
        raise PanelError(
            f"counts need a regular index at one of {sorted(PANDAS_FREQ.values())}, "
            f"got frequency {freq!r}"
        )
    frame = pd.DataFrame({COUNT: pd.to_numeric(counts, errors="coerce").to_numpy(float)})
    frame.index = pd.DatetimeIndex(index, freq=freq, name=DATE)
    if exog is not None:
        bad = [c for c in exog.columns if not str(c).startswith(EXOGENOUS_PREFIXES)]
        if bad:
            raise PanelError(
                f"exogenous columns must start with {', '.join(EXOGENOUS_PREFIXES)}; got {bad}"
            )
        if not pd.DatetimeIndex(exog.index).equals(frame.index):
            raise PanelError("exog must have exactly the index of counts")
        frame = frame.join(exog.set_axis(frame.index))
    return frame
