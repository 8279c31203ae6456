"""How far a series' data run: the default as-of day of its panel."""

from __future__ import annotations

import pandas as pd

from cadence.columns import DATE, END, SOURCE
from cadence.features.errors import InputError
from cadence.features.sampled import sampled_view
from cadence.features.spec import SeriesSpec, apply_filter

__all__ = ["last_data_day"]


def last_data_day(
    spec: SeriesSpec, events: pd.DataFrame, observations: pd.DataFrame | None
) -> pd.Timestamp:
    """The last day ``spec``'s target has data for.

    Observed series: the last day of the latest observation (``end`` is exclusive), or
    the last day of its sampled view's sources when that is later.
    Series counted from events: the latest event of the sources its target events come
    from, so the quiet last days of its own feed count as zeros while later rows of other
    sources (another theatre's strikes, say) do not extend it. Without any target event,
    the latest event of any source (panel building then names the problem). Raises
    ``InputError`` when there is nothing at all.
    """
    if spec.observed:
        if observations is None or observations.empty:
            raise InputError(f"series {spec.name!r}: no observations stored")
        last = pd.Timestamp(observations[END].max()) - pd.Timedelta(days=1)
        view = None if spec.sampled is None else sampled_view(events, spec.sampled, None)
        if view is not None:
            last = max(last, pd.Timestamp(view.last_day, unit="D"))
        return last
    if events.empty:
        raise InputError(f"series {spec.name!r}: no events stored")
    target = events[apply_filter(events, spec.target)]
    if target.empty or SOURCE not in events.columns:
        return pd.Timestamp(events[DATE].max())
    mine = events[SOURCE].isin(set(target[SOURCE]))
    return pd.Timestamp(events.loc[mine, DATE].max())
