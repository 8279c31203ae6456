"""The feature panel of one series, as of an origin.

Time convention: ``as_of`` is a calendar day. Only rows dated on or before it are read
(events and statements by ``date``, observations by their last day ``end - 1``). The
panel holds every *complete* period up to ``as_of``: for daily series the last row is
``as_of`` itself, for weekly series the last week ending on or before ``as_of``, for
monthly series the last month ending on or before it. Row t uses only rows dated on or
before the last day of period t, so a panel built later (after more events arrive)
has the same rows up to t, bit for bit.

Rows start at the period of ``start`` (default: the first target event, or the first
period an observation covers). Features still see history before ``start``.

For an observed series the panel ends at the last period that observations cover to its
last day (later days are not yet reported, so a partly reported period is left out), and
``intervals`` lists the interval totals lying wholly inside the panel's rows. A panel
built later has the same rows up to t unless later observations overlap earlier ones (a
revision). An event series has no intervals.

An observed series that declares a ``sampled`` view (``cadence.features.sampled``) also
carries ``smp_count``, and once its sampled feed has a row dated on or before ``as_of``
its panel runs to ``as_of``'s last complete period like an event series: ``count`` stays
NaN after the last reported period, ``smp_count`` says what the thinned view saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cadence.columns import COUNT, EXOGENOUS_PREFIXES, SAMPLED_COUNT, Frequency
from cadence.features.calendar import calendar_features
from cadence.features.count_features import count_features
from cadence.features.counts import (
    bin_days,
    intervals_frame,
    matching_days,
    ordinal_observations,
)
from cadence.features.drivers import (
    RetaliationMarks,
    StatementMarks,
    retaliation_features,
    retaliation_marks,
    statement_features,
    statement_marks,
)
from cadence.features.errors import InputError
from cadence.features.periods import day_of, last_complete_period, period_index, to_ordinals
from cadence.features.sampled import SampledView, sampled_counts, sampled_view
from cadence.features.spec import SeriesSpec

__all__ = ["Panel", "build_panel", "exogenous_columns"]


@dataclass(frozen=True)
class Panel:
    """A series' panel.

    ``frame``: DataFrame indexed by a regular ``DatetimeIndex`` named ``date`` (``freq``
    ``D``, ``W-MON`` or ``MS``), oldest first, with ``count`` (float, NaN where only an
    interval total is known) then the ``cnt_`` columns, ``smp_count`` (series with a
    ``sampled`` view only), the ``ret_``, ``stm_`` and ``cal_`` columns.
    ``intervals``: DataFrame ``start``, ``end`` (exclusive period labels), ``count``;
    empty for event series.
    """

    spec: SeriesSpec
    as_of: pd.Timestamp
    frame: pd.DataFrame
    intervals: pd.DataFrame

    @property
    def origin(self) -> pd.Timestamp:
        """Label of the last period (the forecast origin)."""
        return pd.Timestamp(self.frame.index[-1])

    @property
    def exogenous(self) -> pd.DataFrame:
        """The ``ret_``, ``stm_`` and ``cal_`` columns."""
        return self.frame[exogenous_columns(self.frame)]


def exogenous_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` whose prefix marks them as exogenous, in frame order."""
    return [c for c in frame.columns if str(c).startswith(EXOGENOUS_PREFIXES)]


def empty_marks() -> tuple[RetaliationMarks, StatementMarks]:
    empty_i = np.array([], dtype=np.int64)
    empty_f = np.array([], dtype=np.float64)
    return RetaliationMarks(empty_i, empty_f), StatementMarks(empty_i, empty_i, empty_f)


def driver_marks(
    spec: SeriesSpec,
    events: pd.DataFrame | None,
    statements: pd.DataFrame | None,
    as_of_day: int,
) -> tuple[RetaliationMarks, StatementMarks]:
    """Retaliation and statement marks known on ``as_of_day`` (empty without a frame)."""
    ret, stm = empty_marks()
    if spec.retaliation is not None and events is not None:
        ret = retaliation_marks(events, spec.retaliation, as_of_day)
    if spec.statements is not None and statements is not None:
        stm = statement_marks(statements, spec.statements, as_of_day)
    return ret, stm


def exogenous_features(
    spec: SeriesSpec,
    ret: RetaliationMarks,
    stm: StatementMarks,
    first: int,
    last: int,
    index: pd.DatetimeIndex,
) -> dict[str, np.ndarray]:
    """``ret_`` (if the series has that driver), ``stm_`` (likewise) and ``cal_`` columns."""
    out: dict[str, np.ndarray] = {}
    if spec.retaliation is not None:
        out.update(retaliation_features(ret, spec.frequency, first, last))
    if spec.statements is not None:
        out.update(statement_features(stm, spec.frequency, first, last))
    out.update(calendar_features(index, spec.frequency))
    return out


def _ordinal(day: int, frequency: Frequency) -> int:
    return int(to_ordinals(np.array([day]), frequency)[0])


def build_panel(
    spec: SeriesSpec,
    events: pd.DataFrame | None,
    statements: pd.DataFrame | None,
    observations: pd.DataFrame | None,
    *,
    as_of: object,
    start: object = None,
) -> Panel:
    """The panel of ``spec`` knowable on day ``as_of`` (see the module docstring).

    ``events`` (``date``, ``kind``, filter fields, optional ``fatalities`` / ``severity``),
    ``statements`` (``date``, ``stance``, filter fields, optional ``intensity``) and
    ``observations`` (``series``, ``start``, ``end``, ``count``) may be None when the
    series does not read them. Raises ``InputError`` when no period is left to show.
    """
    freq = spec.frequency
    as_of_day = day_of(as_of, "as_of")
    last = last_complete_period(as_of_day, freq)
    first_req = None if start is None else _ordinal(day_of(start, "start"), freq)
    spans = np.empty((0, 3))
    view = _sampled(spec, events, as_of_day)

    if spec.observed:
        if observations is None:
            raise InputError(f"series {spec.name!r} is observed: expected observations, got None")
        oc = ordinal_observations(observations, freq, series=spec.name, as_of_day=as_of_day)
        if oc is None:
            raise InputError(f"series {spec.name!r}: no observation known on {_iso(as_of_day)}")
        # A period is shown once observations cover it to its last day: days after the
        # last covered one are unreported, not zero (unless a sampled feed dates them).
        if view is None:
            last = min(last, last_complete_period(oc.last_day, freq))
        first = oc.first if first_req is None else first_req
        g0 = min(first, oc.first)
        counts = np.full(last - g0 + 1, np.nan)
        known = oc.counts[: last - oc.first + 1]
        counts[oc.first - g0 : oc.first - g0 + known.size] = known
        inside = (oc.intervals[:, 0] >= first) & (oc.intervals[:, 1] <= last)
        spans = oc.intervals[inside]
    else:
        if events is None:
            raise InputError(f"series {spec.name!r} counts events: expected events, got None")
        days, _ = matching_days(events, spec.target, as_of_day, "events")
        ords = to_ordinals(days, freq)
        if first_req is None and ords.size == 0:
            raise InputError(
                f"series {spec.name!r}: no target event dated on or before {_iso(as_of_day)}; "
                "pass start to build a panel of zeros"
            )
        first = int(ords.min()) if first_req is None else first_req
        g0 = min(first, int(ords.min())) if ords.size else first
        counts = bin_days(days, freq, g0, last)
    if last < first:
        raise InputError(
            f"series {spec.name!r}: no complete period between start and as_of {_iso(as_of_day)}"
        )

    index = period_index(first, last, freq)
    columns: dict[str, np.ndarray] = {COUNT: counts[first - g0 :]}
    for name, values in count_features(counts[:, None], freq).items():
        columns[name] = values[first - g0 :, 0]
    if spec.sampled is not None:
        columns[SAMPLED_COUNT] = sampled_counts(view, freq, first, last)
    ret, stm = driver_marks(spec, events, statements, as_of_day)
    columns.update(exogenous_features(spec, ret, stm, first, last, index))
    frame = pd.DataFrame(columns, index=index)
    intervals = intervals_frame(spans, freq)
    return Panel(spec=spec, as_of=pd.Timestamp(_iso(as_of_day)), frame=frame, intervals=intervals)


def _sampled(spec: SeriesSpec, events: pd.DataFrame | None, as_of_day: int) -> SampledView | None:
    """The sampled view of ``spec`` known on ``as_of_day`` (None without one)."""
    if spec.sampled is None:
        return None
    if events is None:
        raise InputError(f"series {spec.name!r} declares a sampled view: expected events, got None")
    return sampled_view(events, spec.sampled, as_of_day)


def _iso(day: int) -> str:
    return str(np.datetime64(day, "D"))
