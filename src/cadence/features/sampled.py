"""The sampled view of an observed series: dated events that thin the same events.

A series observed through interval totals (official tallies) may declare ``sampled``: an
event filter picking a thinned but dated view of the events the totals count (a news list
of the attacks). Its panel then carries ``smp_count``, the number of matching events
dated in each period, counted like an event series' target: zero-filled from the first
matching event up to the as-of day (a quiet day of the feed is a zero, not a gap), NaN
before it. Row t uses only events dated on or before t's last day. The series' extent
reaches the last row of the sources the matching events come from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cadence.columns import DATE, SOURCE, Frequency
from cadence.features.counts import bin_days, matching_days
from cadence.features.periods import to_days, to_ordinals
from cadence.features.spec import EventFilter

__all__ = ["SampledView", "sampled_counts", "sampled_view"]


@dataclass(frozen=True)
class SampledView:
    """Matching events known on a day: their ``days`` (day numbers), the first of them
    (``first_day``) and the last day of any row of the sources they come from
    (``last_day``: how far the feed runs, for the series' extent)."""

    days: np.ndarray
    first_day: int
    last_day: int


def sampled_view(
    events: pd.DataFrame, filt: EventFilter, as_of_day: int | None
) -> SampledView | None:
    """The view of ``filt`` among ``events`` dated on or before ``as_of_day`` (all when
    None); None when no event matches. Without a ``source`` column every row counts as
    the feed."""
    days, mask = matching_days(events, filt, as_of_day, "events")
    if days.size == 0:
        return None
    all_days = to_days(events[DATE], DATE)
    feed = np.ones(len(events), dtype=bool)
    if SOURCE in events.columns:
        feed = events[SOURCE].isin(set(events.loc[mask, SOURCE])).to_numpy(dtype=bool, copy=True)
    if as_of_day is not None:
        feed &= all_days <= as_of_day
    return SampledView(days=days, first_day=int(days.min()), last_day=int(all_days[feed].max()))


def sampled_counts(
    view: SampledView | None, frequency: Frequency, first: int, last: int
) -> np.ndarray:
    """Matching events per period on the ordinal grid ``first..last`` (float), NaN for
    periods before the first matching event (all NaN without a view)."""
    n = max(last - first + 1, 0)
    if view is None:
        return np.full(n, np.nan)
    counts = bin_days(view.days, frequency, first, last)
    start = int(to_ordinals(np.array([view.first_day]), frequency)[0]) - first
    counts[: max(min(start, n), 0)] = np.nan
    return counts
