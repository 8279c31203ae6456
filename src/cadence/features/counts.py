"""Counts per period from events or from observations.

Events: the number of rows matching a filter whose ``date`` falls in each period, a
regular zero-filled series.

Observations (columns ``series``, ``start``, ``end`` exclusive, ``count``) arrive already
aggregated. Rules, in order:

1. An observation is *dated* on its last day (``end - 1 day``): as of a date only those
   ending on or before it are known.
2. Exact duplicates (same ``start`` and ``end``) must agree on ``count``; they are kept
   once. Different counts for the same span raise ``IntervalConflictError``.
3. An observation inside one period adds to that period's count (daily totals fed to a
   weekly series are summed per week). Such observations must not overlap each other.
4. An observation spanning several periods is an *interval*: its span is widened to
   whole periods (first period touched to last period touched) and its total is kept as
   an interval, never spread; the periods it covers get a NaN count.
5. Overlaps keep the finest information: intervals are taken from the shortest to the
   longest; the finer counts already known inside a coarser interval (period counts and
   nested intervals) are subtracted from its total and the remainder becomes an interval
   over the periods still uncovered (a single period becomes that period's count). A
   coarser total smaller than the finer counts inside it, a remainder over periods that
   are not contiguous, a non-zero remainder with nothing left to cover, and partial
   (non-nested) overlaps between intervals raise ``IntervalConflictError``.
6. Between the first and last covered period, uncovered periods count zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cadence.columns import COUNT, DATE, END, SERIES, START, Frequency
from cadence.features.errors import InputError, IntervalConflictError
from cadence.features.periods import (
    check_frequency,
    day_of,
    labels,
    period_index,
    to_days,
    to_ordinals,
)
from cadence.features.spec import EventFilter, apply_filter

__all__ = ["ObservedCounts", "event_counts", "observation_counts"]

_NO_DAY = np.iinfo(np.int64).max


@dataclass(frozen=True)
class OrdinalCounts:
    """Counts on the ordinal grid ``first..last`` plus intervals as ordinal spans.

    ``intervals`` has shape ``(K, 3)``: first ordinal, last ordinal (inclusive), total.
    """

    first: int
    last: int
    counts: np.ndarray
    intervals: np.ndarray


@dataclass(frozen=True)
class ObservedCounts:
    """Counts per period (NaN where only an interval total is known) and the intervals.

    ``counts``: float Series on a regular period index named ``date``. ``intervals``:
    DataFrame with ``start``, ``end`` (exclusive, period labels) and ``count``.
    """

    counts: pd.Series
    intervals: pd.DataFrame


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what}: expected columns {list(columns)}, missing {missing}; "
            f"got {sorted(map(str, frame.columns))}"
        )


def matching_days(
    frame: pd.DataFrame, filt: EventFilter | None, as_of_day: int | None, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of rows matching ``filt`` dated on or before ``as_of_day``, and the mask."""
    require_columns(frame, (DATE,), what)
    mask = apply_filter(frame, filt)
    days = to_days(frame[DATE], DATE)
    if as_of_day is not None:
        mask &= days <= as_of_day
    return days[mask], mask


def bin_days(days: np.ndarray, frequency: Frequency, first: int, last: int,
             weights: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Per-period sums (float, length ``last - first + 1``) of ``weights`` (default 1)."""
    n = max(last - first + 1, 0)
    ords = to_ordinals(days, frequency) - first
    keep = (ords >= 0) & (ords < n)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    return np.bincount(ords[keep], weights=w, minlength=n).astype(np.float64)[:n]


def event_counts(
    events: pd.DataFrame,
    filt: EventFilter | None,
    frequency: Frequency,
    *,
    start: object = None,
    as_of: object = None,
) -> pd.Series:
    """Zero-filled count of events matching ``filt`` per period, dated <= ``as_of``.

    The index runs from the period of ``start`` (default: the first matching event) to
    the period of ``as_of`` (default: the last matching event). Float values.
    """
    frequency = check_frequency(frequency)
    as_of_day = None if as_of is None else day_of(as_of, "as_of")
    days, _ = matching_days(events, filt, as_of_day, "events")
    ords = to_ordinals(days, frequency)
    if start is not None:
        first = int(to_ordinals(np.array([day_of(start, "start")]), frequency)[0])
    elif ords.size:
        first = int(ords.min())
    else:
        raise InputError("events: no event matches the filter; pass start to get zeros")
    if as_of_day is not None:
        last = int(to_ordinals(np.array([as_of_day]), frequency)[0])
    else:
        last = int(ords.max()) if ords.size else first
    values = bin_days(days, frequency, first, last)
    return pd.Series(values, index=period_index(first, last, frequency), name=COUNT)


def ordinal_observations(
    observations: pd.DataFrame,
    frequency: Frequency,
    *,
    series: str | None,
    as_of_day: int | None,
) -> OrdinalCounts | None:
    """Apply the module's rules; None when no observation is known."""
    require_columns(observations, (START, END, COUNT), "observations")
    frame = observations
    if series is not None and SERIES in frame.columns:
        frame = frame[frame[SERIES].astype(str) == series]
    s_day = to_days(frame[START], START)
    e_day = to_days(frame[END], END)
    try:
        count = pd.to_numeric(frame[COUNT]).to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise InputError(f"observations, field {COUNT!r}: expected numbers, got {exc}") from exc
    bad = np.flatnonzero(~(e_day > s_day))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"observations row {i}, field {END!r}: expected a date after start "
            f"{frame[START].iloc[i]}, got {frame[END].iloc[i]}"
        )
    bad = np.flatnonzero(~(count >= 0))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"observations row {i}, field {COUNT!r}: expected a count >= 0, got {count[i]}"
        )
    if as_of_day is not None:
        dated = e_day - 1 <= as_of_day
        s_day, e_day, count = s_day[dated], e_day[dated], count[dated]
    if s_day.size == 0:
        return None

    # Rule 2: exact duplicates agree and are kept once.
    raw = pd.DataFrame({"s": s_day, "e": e_day, "c": count})
    spread = raw.groupby(["s", "e"], sort=True)["c"].agg(["min", "max"])
    conflict = spread[spread["min"] != spread["max"]]
    if len(conflict):
        (s, e), row = next(iter(conflict.iterrows()))
        raise IntervalConflictError(
            f"observations for [{_day(int(s))}, {_day(int(e))}): expected one count, got "
            f"{row['min']:g} and {row['max']:g}"
        )
    s_day = spread.index.get_level_values(0).to_numpy(dtype=np.int64)
    e_day = spread.index.get_level_values(1).to_numpy(dtype=np.int64)
    count = spread["min"].to_numpy(dtype=np.float64)

    p0 = to_ordinals(s_day, frequency)
    p1 = to_ordinals(e_day - 1, frequency)
    first, last = int(p0.min()), int(p1.max())
    n = last - first + 1
    single = p0 == p1

    # Rule 3: sub-period observations add up but must not overlap (sorted by start).
    ss, se, sp = s_day[single], e_day[single], p0[single]
    order = np.lexsort((ss, sp))
    ss, se, sp = ss[order], se[order], sp[order]
    clash = np.flatnonzero((sp[1:] == sp[:-1]) & (ss[1:] < se[:-1]))
    if clash.size:
        i = int(clash[0])
        raise IntervalConflictError(
            f"observations [{_day(int(ss[i]))}, {_day(int(se[i]))}) and "
            f"[{_day(int(ss[i + 1]))}, {_day(int(se[i + 1]))}) overlap inside one period"
        )
    counts = np.zeros(n)
    np.add.at(counts, p0[single] - first, count[single])
    # owner: -2 uncovered, -1 a period count, k >= 0 accepted interval k.
    owner = np.full(n, -2, dtype=np.int64)
    owner[p0[single] - first] = -1

    # Rules 4-5, finest first. Loops over intervals (a few dozen), not over periods.
    multi = np.flatnonzero(~single)
    multi = multi[np.lexsort((count[multi], p1[multi], p0[multi], p1[multi] - p0[multi]))]
    accepted: list[tuple[int, int, float]] = []
    for j in multi.tolist():
        a, b, total = int(p0[j]) - first, int(p1[j]) - first, float(count[j])
        where = f"[{_day(int(s_day[j]))}, {_day(int(e_day[j]))})"
        seg = owner[a : b + 1]
        nested = np.unique(seg[seg >= 0])
        known = float(counts[a : b + 1][seg == -1].sum())
        for k in nested:
            ka, kb, kc = accepted[int(k)]
            if ka < a or kb > b:
                raise IntervalConflictError(
                    f"observation {where}: expected intervals to nest, got a partial overlap "
                    f"with the interval starting {_label(ka + first, frequency)}"
                )
            known += float(kc)
        residual = total - known
        free = np.flatnonzero(seg == -2) + a
        if residual < 0 or (free.size == 0 and residual != 0):
            raise IntervalConflictError(
                f"observation {where}: expected a total >= the {known:g} counted inside it by "
                f"finer observations{'' if free.size else ' (and equal, as it adds no period)'}, "
                f"got {total:g}"
            )
        if free.size == 0:
            continue
        if free[-1] - free[0] + 1 != free.size:
            raise IntervalConflictError(
                f"observation {where}: finer observations split the periods it still covers; "
                "expected them at its edges"
            )
        if free.size == 1:
            counts[free[0]] = residual
            owner[free[0]] = -1
        else:
            owner[free] = len(accepted)
            accepted.append((int(free[0]), int(free[-1]), float(residual)))
    counts[owner >= 0] = np.nan
    spans = np.array(
        [(fa + first, fb + first, c) for fa, fb, c in accepted], dtype=np.float64
    ).reshape(-1, 3)
    spans = spans[np.argsort(spans[:, 0], kind="stable")] if len(spans) else spans
    return OrdinalCounts(first=first, last=last, counts=counts, intervals=spans)


def intervals_frame(spans: np.ndarray, frequency: Frequency) -> pd.DataFrame:
    """Ordinal spans ``(first, last, total)`` as a ``start``/``end``/``count`` DataFrame."""
    firsts = spans[:, 0].astype(np.int64)
    ends = spans[:, 1].astype(np.int64) + 1
    return pd.DataFrame(
        {
            START: pd.Series(labels(firsts, frequency), dtype="datetime64[us]"),
            END: pd.Series(labels(ends, frequency), dtype="datetime64[us]"),
            COUNT: spans[:, 2].astype(np.float64),
        }
    )


def observation_counts(
    observations: pd.DataFrame,
    frequency: Frequency,
    *,
    series: str | None = None,
    as_of: object = None,
) -> ObservedCounts:
    """Counts per period and intervals from observations (rules in the module docstring).

    ``series`` keeps the rows of that series when the frame has a ``series`` column.
    The index spans the first to the last covered period.
    """
    frequency = check_frequency(frequency)
    as_of_day = None if as_of is None else day_of(as_of, "as_of")
    oc = ordinal_observations(observations, frequency, series=series, as_of_day=as_of_day)
    if oc is None:
        raise InputError(f"observations: none known for series {series!r}")
    index = period_index(oc.first, oc.last, frequency)
    return ObservedCounts(
        counts=pd.Series(oc.counts, index=index, name=COUNT),
        intervals=intervals_frame(oc.intervals, frequency),
    )


def _day(day: int) -> str:
    return str(np.datetime64(day, "D"))


def _label(ordinal: int, frequency: Frequency) -> str:
    return f"{labels(np.array([ordinal]), frequency)[0]:%Y-%m-%d}"
