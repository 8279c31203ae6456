"""What later data says about a forecast's horizon: which totals it pins down, and scores.

Time convention as in ``cadence.experiments.data``: periods are labelled by their first
day; the horizon is the ``H`` periods after the origin, numbered ``0..H-1`` here. Later
data comes as per-period counts (NaN where unknown) and as interval totals over
``[start, end)`` (period labels), known only as a whole.

A total over horizon periods ``a..b`` is *known* when each of those periods is either a
known count or inside an interval lying wholly within ``a..b``; its value is then the
sum. An interval that crosses the edge of a range leaves the range unknown (how its total
splits across the edge is not known), so a range is never scored on a guess.

A series with a sampled view (``smp_count``: dated reports of a share of the same
events) also says what those reports saw over the horizon. They count only part of the
events, so their total is a lower bound on the truth, never a score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cadence.columns import COUNT, END, SAMPLED_COUNT, START, Frequency
from cadence.experiments.data import SeriesData, horizon_index, period_end, shift_periods
from cadence.experiments.scoring import score_paths

__all__ = ["LaterTruth", "TotalScore", "later_truth", "score_total"]


@dataclass(frozen=True)
class LaterTruth:
    """Later data over a horizon.

    ``index``: the ``H`` horizon period labels. ``counts``: float ``(H,)``, the known
    count of each period, NaN where unknown. ``intervals``: ``(a, b, total)`` for each
    interval lying wholly inside the horizon, periods ``a..b`` (inclusive). ``notes``:
    intervals that overlap the horizon without lying inside it, and why they are not used.
    """

    index: pd.DatetimeIndex
    counts: np.ndarray
    intervals: list[tuple[int, int, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sampled: np.ndarray | None = None

    def sampled_total(self, a: int, b: int) -> float | None:
        """Events the sampled view reported over periods ``a..b`` (a lower bound on the
        truth), or None without a sampled count for every period of the range."""
        if self.sampled is None:
            return None
        part = self.sampled[a : b + 1]
        return float(part.sum()) if bool(np.isfinite(part).all()) else None

    @property
    def horizon(self) -> int:
        return len(self.index)

    def _covered(self, a: int, b: int) -> tuple[np.ndarray, float]:
        c = self.counts[a : b + 1]
        covered = np.isfinite(c)
        total = float(np.nansum(c))
        for ia, ib, t in self.intervals:
            if ia >= a and ib <= b:
                covered[ia - a : ib - a + 1] = True
                total += t
        return covered, total

    def total(self, a: int, b: int) -> float | None:
        """The known total over periods ``a..b`` (inclusive), or None when some period
        of the range is not pinned down inside it."""
        covered, total = self._covered(a, b)
        return total if bool(covered.all()) else None

    def known_periods(self, a: int, b: int) -> int:
        """How many periods of ``a..b`` are pinned down inside the range."""
        return int(self._covered(a, b)[0].sum())

    def known_prefix(self) -> int:
        """The largest ``k`` such that the total of the first ``k`` periods is known (0
        when not even the first period is)."""
        return max(
            (k for k in range(1, self.horizon + 1) if self.total(0, k - 1) is not None), default=0
        )

    @property
    def any_known(self) -> bool:
        return bool(np.isfinite(self.counts).any()) or bool(self.intervals)


def _day(label: pd.Timestamp) -> str:
    return f"{label:%Y-%m-%d}"


def later_truth(data: SeriesData, origin: pd.Timestamp, horizon: int) -> LaterTruth:
    """The later data of ``data`` over the ``horizon`` periods after ``origin``: known
    per-period counts (``SeriesData.truth``) and the interval totals of the full panel."""
    freq: Frequency = data.frequency
    idx = horizon_index(origin, horizon, freq)
    counts = data.truth(origin, horizon)
    first, last = idx[0], idx[-1]
    after = shift_periods(last, 1, freq)
    inside: list[tuple[int, int, float]] = []
    notes: list[str] = []
    ivs = data.full_panel.intervals
    for s, e, t in zip(ivs[START], ivs[END], ivs[COUNT], strict=True):
        start, end, total = pd.Timestamp(s), pd.Timestamp(e), float(t)
        if end <= first or start > last:
            continue
        span = f"{_day(start)} .. {_day(period_end(shift_periods(end, -1, freq), freq))}"
        n_in = len(pd.date_range(max(start, first), min(end, after), freq=idx.freq)) - 1
        if start < first:
            notes.append(
                f"the interval total {span} ({total:g}) began on or before the origin: part "
                "of it was already past but not yet reported, so it is not scored"
            )
        elif end > after:
            n_all = len(pd.date_range(start, end, freq=idx.freq)) - 1
            notes.append(
                f"the interval total {span} ({total:g}) reaches past the horizon ({n_in} of "
                f"its {n_all} periods inside): not scored"
            )
        else:
            a = int(idx.get_loc(start))
            inside.append((a, a + n_in - 1, total))
    sampled = None
    frame = data.full_panel.frame
    if SAMPLED_COUNT in frame.columns:
        sampled = frame[SAMPLED_COUNT].reindex(idx).to_numpy(dtype=float)
    return LaterTruth(index=idx, counts=counts, intervals=inside, notes=notes, sampled=sampled)


@dataclass(frozen=True)
class TotalScore:
    """A forecast total set against what happened: ``observed`` total; the forecast's
    ``mean`` and integer quantiles ``q10, q50, q90`` of the total; ``crps`` (counts);
    ``inside_80`` (observed within the central 80% interval ``q10..q90``); ``pit``
    (randomized PIT of the observed total: near 0 or 1 means it fell in a tail)."""

    observed: float
    mean: float
    q10: int
    q50: int
    q90: int
    crps: float
    inside_80: bool
    pit: float


def score_total(totals: np.ndarray, observed: float, rng: np.random.Generator) -> TotalScore:
    """Score sample totals ``totals`` (int ``(n_samples,)``) against ``observed``."""
    s = np.asarray(totals).reshape(-1, 1)
    row = score_paths(s, np.array([float(observed)]), rng=rng, daily=False).iloc[0]
    q10, q50, q90 = np.quantile(s[:, 0], [0.1, 0.5, 0.9], method="inverted_cdf")
    return TotalScore(
        observed=float(observed),
        mean=float(s.mean()),
        q10=int(q10),
        q50=int(q50),
        q90=int(q90),
        crps=float(row["crps"]),
        inside_80=bool(row["coverage_80"] == 1.0),
        pit=float(row["pit"]),
    )
