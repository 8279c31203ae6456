"""Panels of a batch of series built in one vectorized pass, then cut per origin.

A backtest rebuilds a series' panel at every origin (``SeriesData.panel``). For series
whose panel is made only of their own counts and the calendar — observed series without
drivers, one observation per period — the panel as of any day is the full panel cut at
the last period known by then: every ``cnt_`` feature of row ``t`` reads only counts up
to ``t`` (``features.panel``: "a panel built later has the same rows up to t, bit for
bit"). ``prebuild`` builds the full panels of all such series of a batch with one
``features.build_panels`` call (one ``(T, N)`` array per feature, no loop over series or
origins) and returns ``PrebuiltSeriesData`` that cut them; other series are returned
unchanged and build their panels as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from cadence.columns import COUNT, DATE, END, PANDAS_FREQ, SERIES, START
from cadence.experiments.data import SeriesData, shift_periods
from cadence.features import Panel
from cadence.features.many import build_panels

__all__ = ["PrebuiltSeriesData", "prebuild"]

_EMPTY_INTERVALS = pd.DataFrame(
    {
        "start": pd.Series([], dtype="datetime64[us]"),
        "end": pd.Series([], dtype="datetime64[us]"),
        "count": pd.Series([], dtype="float64"),
    }
)


@dataclass(frozen=True)
class PrebuiltSeriesData(SeriesData):
    """``SeriesData`` whose ``panel(as_of)`` cuts ``prebuilt`` (the full panel frame)."""

    prebuilt: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)

    @cached_property
    def _period_ends(self) -> pd.DatetimeIndex:
        """Last day of each row's period."""
        index = pd.DatetimeIndex(self.prebuilt.index)
        return pd.DatetimeIndex(shift_periods(index, 1, self.frequency)) - pd.Timedelta(days=1)

    def panel(self, as_of: object) -> Panel:
        key = ("panel", pd.Timestamp(as_of))
        hit = self._cache.get(key)
        if isinstance(hit, Panel):
            return hit
        day = pd.Timestamp(as_of).normalize()
        obs = self.observations
        assert obs is not None  # prebuilt only for observed series
        known = obs[obs[END] <= day + pd.Timedelta(days=1)]
        covered = pd.Timestamp(known[END].max()) - pd.Timedelta(days=1)
        keep = int((self._period_ends <= min(day, covered)).sum())
        frame = self.prebuilt.iloc[:keep].copy()
        frame.index.freq = self.prebuilt.index.freq
        panel = Panel(spec=self.spec, as_of=day, frame=frame, intervals=_EMPTY_INTERVALS.copy())
        self._cache[key] = panel
        return panel


def _eligible(data: SeriesData) -> bool:
    spec, obs = data.spec, data.observations
    if not spec.observed or spec.retaliation is not None or spec.statements is not None:
        return False
    if obs is None or obs.empty:
        return False
    starts = pd.DatetimeIndex(obs[START])
    one_period = pd.DatetimeIndex([shift_periods(s, 1, data.frequency) for s in starts])
    # one observation per period, none missing between the first and the last
    n_periods = len(pd.date_range(starts.min(), starts.max(), freq=PANDAS_FREQ[data.frequency]))
    return (
        bool((pd.DatetimeIndex(obs[END]) == one_period).all())
        and starts.is_unique
        and n_periods == len(starts)
    )


def prebuild(datas: Mapping[str, SeriesData]) -> dict[str, SeriesData]:
    """``datas`` with every eligible series (see the module) replaced by a
    ``PrebuiltSeriesData``, their panels built together per frequency."""
    out = dict(datas)
    by_freq: dict[str, list[str]] = {}
    for name, d in datas.items():
        if _eligible(d):
            by_freq.setdefault(d.frequency, []).append(name)
    for freq, names in by_freq.items():
        long = pd.concat(
            [
                pd.DataFrame(
                    {
                        SERIES: name,
                        DATE: datas[name].observations[START],  # type: ignore[index]
                        COUNT: datas[name].observations[COUNT],  # type: ignore[index]
                    }
                )
                for name in names
            ],
            ignore_index=True,
        )
        panels = build_panels(long, freq)  # type: ignore[arg-type]
        pandas_freq = PANDAS_FREQ[freq]
        for name in names:
            frame = panels.xs(name, level=SERIES)
            frame.index = pd.DatetimeIndex(frame.index, freq=pandas_freq, name=DATE)
            d = datas[name]
            out[name] = PrebuiltSeriesData(
                spec=d.spec,
                events=d.events,
                statements=d.statements,
                observations=d.observations,
                prebuilt=frame,
            )
    return out
