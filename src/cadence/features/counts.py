"""Counts per period from events or from observations.

Events: the number of rows matching a filter whose ``date`` falls in each period, a
regular zero-filled series.

Observations (columns ``series``, ``start``, ``end`` exclusive, ``count``) arrive already
aggregated. Rules, in order:

1. An observation is *dated* on its last day (``end - 1 day``): as of a date only those
   ending on or before it are known.
2. Exact duplicates (same ``start`` and ``end``) must agree on ``count``; they are kept
   once. Different counts for the same span raise ``IntervalConflictError``.
3. Overlaps are settled day by day, keeping the finest information: one-day
   observations are day counts; longer ones are taken from the shortest to the longest,
   the finer counts already known inside (day counts, nested intervals) are subtracted
   from the total and the remainder covers the days still uncovered (one day left
   becomes that day's count). A total smaller than the finer counts inside it, a
   remainder over days that are not contiguous, a non-zero remainder with no day left,
   and partial (non-nested) overlaps raise ``IntervalConflictError``.
4. Day counts and day intervals are then aggregated to periods. A period no interval
   touches sums its day counts (daily totals fed to a weekly series are summed per
   week). A multi-day interval links the periods it touches; each run of linked
   periods keeps one total (its intervals plus the day counts in those periods). A run
   of one period is that period's count; a longer run is an *interval* over whole
   periods, kept as a total and never spread: its periods get a NaN count. (Tallies
   whose dates do not fall on period boundaries may therefore merge into one coarser
   interval at a weekly or monthly frequency; that is all the data says.)
5. Between the first and last covered day, uncovered days count zero. Days of the
   first and last period outside that range are not reported: the first period's count
   is what was reported for it, and ``build_panel`` leaves out a last period that is not
   reported to its last day.
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

__all__ = ["ObservedCounts", "check_observations", "event_counts", "observation_counts"]

_NO_DAY = np.iinfo(np.int64).max


@dataclass(frozen=True)
class OrdinalCounts:
    """Counts on the ordinal grid ``first..last`` plus intervals as ordinal spans.

    ``intervals`` has shape ``(K, 3)``: first ordinal, last ordinal (inclusive), total.
    ``last_day`` is the last day any observation covers (days since 1970-01-01).
    """

    first: int
    last: int
    counts: np.ndarray
    intervals: np.ndarray
    last_day: int


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


def bin_days(
    days: np.ndarray, frequency: Frequency, first: int, last: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Per-period sums (float, length ``last - first + 1``) of ``weights`` (default 1)."""
    n = max(last - first + 1, 0)
    ords = to_ordinals(days, frequency) - first
    keep = (ords >= 0) & (ords < n)
    if weights is None:
        return np.bincount(ords[keep], minlength=n).astype(np.float64)[:n]
    w = np.asarray(weights, dtype=np.float64)[keep]
    ords = ords[keep]
    # Float sums depend on the order of terms: sort so that row order never matters.
    order = np.lexsort((w, ords))
    return np.bincount(ords[order], weights=w[order], minlength=n)[:n]


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
    days = _reconcile_days(s_day, e_day, count)
    return _to_periods(days, frequency)


def _reconcile_days(s_day: np.ndarray, e_day: np.ndarray, count: np.ndarray) -> OrdinalCounts:
    """Rules 3 and 5 on the day grid: day counts and disjoint day intervals.

    Loops over intervals (a few dozen tallies), not over days.
    """
    first, last = int(s_day.min()), int(e_day.max()) - 1
    n = last - first + 1
    single = e_day - s_day == 1
    counts = np.zeros(n)
    counts[s_day[single] - first] = count[single]  # duplicates were merged: days are unique
    # owner: -2 uncovered, -1 a day count, k >= 0 accepted interval k.
    owner = np.full(n, -2, dtype=np.int64)
    owner[s_day[single] - first] = -1
    multi = np.flatnonzero(~single)
    length = e_day[multi] - s_day[multi]
    multi = multi[np.lexsort((count[multi], e_day[multi], s_day[multi], length))]
    accepted: list[tuple[int, int, float]] = []
    for j in multi.tolist():
        a, b, total = int(s_day[j]) - first, int(e_day[j]) - 1 - first, float(count[j])
        where = f"[{_day(int(s_day[j]))}, {_day(int(e_day[j]))})"
        seg = owner[a : b + 1]
        known = float(counts[a : b + 1][seg == -1].sum())
        for k in np.unique(seg[seg >= 0]).tolist():
            ka, kb, kc = accepted[k]
            if ka < a or kb > b:
                raise IntervalConflictError(
                    f"observation {where}: expected intervals to nest, got a partial overlap "
                    f"with the interval starting {_day(ka + first)}"
                )
            known += kc
        residual = total - known
        free = np.flatnonzero(seg == -2) + a
        if residual < 0 or (free.size == 0 and residual != 0):
            raise IntervalConflictError(
                f"observation {where}: expected a total >= the {known:g} counted inside it by "
                f"finer observations{'' if free.size else ' (and equal, as it adds no day)'}, "
                f"got {total:g}"
            )
        if free.size == 0:
            continue
        if free[-1] - free[0] + 1 != free.size:
            raise IntervalConflictError(
                f"observation {where}: finer observations split the days it still covers; "
                "expected them at its edges"
            )
        if free.size == 1:
            counts[free[0]] = residual
            owner[free[0]] = -1
        else:
            owner[free] = len(accepted)
            accepted.append((int(free[0]), int(free[-1]), float(residual)))
    counts[owner >= 0] = np.nan
    spans = np.array([(fa + first, fb + first, c) for fa, fb, c in accepted]).reshape(-1, 3)
    return OrdinalCounts(first=first, last=last, counts=counts, intervals=spans, last_day=last)


def _to_periods(days: OrdinalCounts, frequency: Frequency) -> OrdinalCounts:
    """Rules 3-4: day counts and day intervals aggregated to periods.

    Periods touched by a day interval are linked to the neighbours the interval reaches
    into; each run of linked periods keeps one total (interval totals plus the day counts
    of those periods). A run of one period is that period's count, a longer run an
    interval. Periods no interval touches sum their day counts.
    """
    grid = np.arange(days.first, days.last + 1)
    pord = to_ordinals(grid, frequency)
    first, last = int(pord[0]), int(pord[-1])
    n = last - first + 1
    known = np.nan_to_num(days.counts, nan=0.0)
    sums = np.bincount(pord - first, weights=known, minlength=n)
    touched = np.zeros(n, dtype=bool)
    link = np.zeros(n, dtype=np.int64)  # link[p] > 0: periods p and p + 1 are one run
    totals = np.zeros(n)
    if len(days.intervals):
        lo = to_ordinals(days.intervals[:, 0].astype(np.int64), frequency) - first
        hi = to_ordinals(days.intervals[:, 1].astype(np.int64), frequency) - first
        np.add.at(totals, lo, days.intervals[:, 2])
        cover = np.zeros(n + 1, dtype=np.int64)
        np.add.at(cover, lo, 1)
        np.add.at(cover, hi + 1, -1)
        touched = np.cumsum(cover)[:n] > 0
        np.add.at(link, lo, 1)
        np.add.at(link, hi, -1)
        link = np.cumsum(link)
    # A run starts at a touched period not linked from its predecessor.
    linked_from_prev = np.concatenate([[False], link[:-1] > 0])
    run_start = touched & ~linked_from_prev
    run_id = np.cumsum(run_start) - 1
    counts = sums.copy()
    spans: list[tuple[int, int, float]] = []
    if touched.any():
        ids = run_id[touched]
        members = np.flatnonzero(touched)
        run_total = np.bincount(ids, weights=sums[touched] + totals[touched])
        run_lo = np.full(run_total.size, n)
        run_hi = np.full(run_total.size, -1)
        np.minimum.at(run_lo, ids, members)
        np.maximum.at(run_hi, ids, members)
        one = run_lo == run_hi
        counts[run_lo[one]] = run_total[one]
        for lo_p, hi_p, tot in zip(run_lo[~one], run_hi[~one], run_total[~one], strict=True):
            counts[lo_p : hi_p + 1] = np.nan
            spans.append((int(lo_p) + first, int(hi_p) + first, float(tot)))
    intervals = np.array(spans, dtype=np.float64).reshape(-1, 3)
    return OrdinalCounts(
        first=first, last=last, counts=counts, intervals=intervals, last_day=days.last_day
    )


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


def check_observations(observations: pd.DataFrame, frequency: str) -> None:
    """Raise ``InputError`` (``IntervalConflictError`` for spans that disagree) unless
    the observations of one series (``start``, ``end`` exclusive, ``count``; every
    source) can be built into counts at ``frequency`` by the module's rules: what an
    ingest checks before it commits, so a stored series always stays buildable."""
    if observations.empty:
        return
    ordinal_observations(observations, check_frequency(frequency), series=None, as_of_day=None)
