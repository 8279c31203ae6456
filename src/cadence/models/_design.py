"""Shared building blocks of the count models: panel checks, exogenous columns, interval
coverage, the negative-binomial (NB2) likelihood and sampler, horizon labels.

Conventions (see ``cadence.models.base``): a panel is indexed by period start, oldest
first, with a regular frequency; ``count`` is float with NaN where a period is unobserved
or only known inside an interval total. NB2 means mean ``mu`` and variance
``mu + alpha * mu**2`` (``size = 1 / alpha``); ``alpha == 0`` is the Poisson limit.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from cadence.columns import COUNT, END, EXOGENOUS_PREFIXES, PANDAS_FREQ, PREFIX_CALENDAR, START
from cadence.models.errors import (
    FutureFrameError,
    IntervalsError,
    IntervalsUnsupportedError,
    PanelError,
    ShortHistoryWarning,
)
from cadence.models.forecast import CountForecast

_T = TypeVar("_T")
# Default look-backs per pandas frequency string, so that a weekly or monthly series gets
# windows of a comparable span of time rather than the same number of rows.
_FREQ_KEY = {v: k for k, v in PANDAS_FREQ.items()}


def frequency_key(freq: str) -> str:
    """``"D"``, ``"W"`` or ``"M"`` for a pandas frequency string (``D``, ``W-MON``, ``MS``)."""
    key = _FREQ_KEY.get(freq)
    if key is None:
        raise PanelError(f"panel frequency must be one of {sorted(_FREQ_KEY)}, got {freq!r}")
    return key


def by_frequency(freq: str, daily: _T, weekly: _T, monthly: _T) -> _T:
    """Pick a value (a look-back length in periods, say) for the panel's frequency."""
    return {"D": daily, "W": weekly, "M": monthly}[frequency_key(freq)]


@dataclass(frozen=True)
class Series:
    """The target of a panel as arrays.

    ``y`` is float, shape ``(T,)``, NaN where unobserved; ``index`` the period starts;
    ``freq`` the pandas frequency string.
    """

    y: np.ndarray
    index: pd.DatetimeIndex
    freq: str

    @property
    def origin(self) -> pd.Timestamp:
        return pd.Timestamp(self.index[-1])


def read_series(panel: pd.DataFrame, target: str = COUNT) -> Series:
    """Check the panel and return its target. Raises ``PanelError``."""
    if not isinstance(panel, pd.DataFrame):
        raise PanelError(f"panel must be a DataFrame, got {type(panel).__name__}")
    if target not in panel.columns:
        raise PanelError(f"panel has no target column {target!r}; columns: {list(panel.columns)}")
    idx = panel.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise PanelError(f"panel index must be a DatetimeIndex, got {type(idx).__name__}")
    if len(idx) == 0:
        raise PanelError("panel is empty")
    if not idx.is_monotonic_increasing or idx.has_duplicates:
        raise PanelError("panel index must be strictly increasing (oldest first)")
    freq = idx.freqstr if idx.freq is not None else _match_frequency(idx)
    if freq is None:
        raise PanelError("panel index needs a regular frequency (D, W-MON or MS); set index.freq")
    frequency_key(freq)
    y = pd.to_numeric(panel[target], errors="coerce").to_numpy(dtype=float)
    for what, bad in (("negative", y < 0), ("infinite", np.isinf(y))):
        if bad.any():
            at = ", ".join(f"{d:%Y-%m-%d}" for d in idx[bad][:3])
            more = f" and {int(bad.sum()) - 3} more" if bad.sum() > 3 else ""
            raise PanelError(
                f"target {target!r} has {what} counts on {at}{more}: expected counts >= 0, "
                "or NaN for a period without an observation"
            )
    return Series(y=y, index=pd.DatetimeIndex(idx, freq=freq), freq=freq)


def _match_frequency(idx: pd.DatetimeIndex) -> str | None:
    """The supported frequency whose regular range reproduces ``idx``, if any."""
    for freq in PANDAS_FREQ.values():
        if pd.date_range(idx[0], periods=len(idx), freq=freq).equals(idx):
            return freq
    return None


def check_forecast_size(horizon: object, n_samples: object) -> None:
    """``ValueError`` unless ``horizon`` and ``n_samples`` are integers >= 1 (bools are
    not): the one check of every family's ``forecast`` arguments."""
    for name, value in (("horizon", horizon), ("n_samples", n_samples)):
        integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        if not integer or value < 1:  # type: ignore[operator]
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def horizon_index(
    origin: pd.Timestamp, horizon: int, freq: str, *, n_samples: int = 1
) -> pd.DatetimeIndex:
    """Period labels of the ``horizon`` periods after ``origin``, for a forecast of
    ``n_samples`` paths: every family's ``forecast`` comes here with its ``n_samples``,
    so both are checked (``check_forecast_size``)."""
    check_forecast_size(horizon, n_samples)
    return pd.date_range(origin, periods=horizon + 1, freq=freq)[1:]


def exogenous_columns(panel: pd.DataFrame, rows: np.ndarray | None = None) -> list[str]:
    """Numeric exogenous columns (prefixes ``ret_``, ``stm_``, ``cal_``) that vary.

    Columns that are all-NaN or constant over ``rows`` (a boolean mask, default all rows)
    carry no information and are dropped. Order follows the panel.
    """
    candidates = [
        c for c in panel.columns if isinstance(c, str) and c.startswith(EXOGENOUS_PREFIXES)
    ]
    if not candidates:
        return []
    x = columns_as_float(panel, candidates)
    if rows is not None:
        x = x[rows]
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(x)
        hi = np.where(finite, x, -np.inf).max(axis=0, initial=-np.inf)
        lo = np.where(finite, x, np.inf).min(axis=0, initial=np.inf)
    varies = finite.any(axis=0) & (hi > lo)
    return [c for c, v in zip(candidates, varies, strict=True) if v]


def named_columns(model: str, panel: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """``names`` as a list after checking each is a column of ``panel``; raises
    ``PanelError`` naming the missing ones and the exogenous columns there are."""
    missing = [c for c in names if c not in panel.columns]
    if missing:
        have = [c for c in panel.columns if isinstance(c, str) and c.startswith(EXOGENOUS_PREFIXES)]
        who = f"{model}: " if model else ""
        raise PanelError(
            f"{who}covariates {missing} are not in the panel; its exogenous columns: {have}"
        )
    return list(names)


def ignored_columns(panel: pd.DataFrame, target: str, used: Iterable[str]) -> list[str]:
    """Columns of ``panel`` other than ``target`` that a fit did not use, in panel order
    (what ``ignored_columns_`` reports, so that nothing is left out silently)."""
    taken = {*used, target}
    return [c for c in panel.columns if isinstance(c, str) and c not in taken]


def repeating_calendar(
    panel: pd.DataFrame, columns: list[str], rows: np.ndarray, min_cycles: int = 2
) -> list[str]:
    """``columns`` without the calendar (``cal_``) ones that do not go through
    ``min_cycles`` cycles over ``rows`` (a boolean mask): a column crossing its mean fewer
    than ``2 * min_cycles`` times there, such as an annual Fourier term on less than two
    years, cannot be told apart from a change of level and extrapolates it as a trend.
    Day-of-week dummies cross every week and stay. Other columns are kept."""
    cal = [c for c in columns if c.startswith(PREFIX_CALENDAR)]
    if not cal:
        return list(columns)
    x = columns_as_float(panel, cal)[rows]
    short = set()
    for j, c in enumerate(cal):
        v = x[:, j][np.isfinite(x[:, j])]
        side = np.sign(v - v.mean()) if v.size else np.zeros(0)
        side = side[side != 0]
        if int(np.sum(side[1:] != side[:-1])) < 2 * min_cycles:
            short.add(c)
    return [c for c in columns if c not in short]


def exogenous_range(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest value of each column of ``x`` (n, k), shapes ``(k,)``."""
    if not x.size:
        return np.zeros(x.shape[1]), np.zeros(x.shape[1])
    return x.min(axis=0), x.max(axis=0)


def exogenous_matrix(panel: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """``panel[columns]`` as float, shape ``(T, k)``; NaN becomes 0 (no signal)."""
    if not columns:
        return np.zeros((len(panel), 0))
    x = columns_as_float(panel, columns)
    return np.where(np.isfinite(x), x, 0.0)


def columns_as_float(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """``frame[columns]`` as a float array, shape ``(len(frame), len(columns))``;
    non-numeric entries become NaN. Converts the whole (numeric) frame at once and picks
    columns by position: selecting a column list by label costs far more in pandas."""
    position = {c: i for i, c in enumerate(frame.columns)}
    idx = [position[c] for c in columns]
    try:
        return np.asarray(frame.to_numpy(dtype=float, na_value=np.nan)[:, idx])
    except (TypeError, ValueError):
        sub = frame.iloc[:, idx].apply(pd.to_numeric, errors="coerce")
        return np.asarray(sub.to_numpy(dtype=float))


def future_matrix(
    future: pd.DataFrame | None, columns: list[str], index: pd.DatetimeIndex
) -> np.ndarray:
    """Exogenous values for the horizon periods ``index``, shape ``(len(index), k)``.

    ``future`` must be indexed by period start and hold every column for every period
    (extra rows and columns are ignored). Raises ``FutureFrameError``.
    """
    if not columns:
        return np.zeros((len(index), 0))
    if future is None:
        raise FutureFrameError(
            f"the model uses exogenous columns {columns}; pass future= with them for the "
            f"{len(index)} periods {index[0].date()}..{index[-1].date()}"
        )
    missing_cols = [c for c in columns if c not in future.columns]
    if missing_cols:
        raise FutureFrameError(f"future lacks exogenous columns {missing_cols}")
    values = columns_as_float(future, columns)
    given = pd.DatetimeIndex(future.index)
    if not given.equals(index):
        rows = given.get_indexer(index)  # -1 where a horizon period is missing
        values = np.where((rows >= 0)[:, None], values[np.maximum(rows, 0)], np.nan)
    bad = index[~np.isfinite(values).all(axis=1)]
    if len(bad):
        raise FutureFrameError(
            f"future lacks values for {len(bad)} horizon period(s), first {bad[0].date()}; "
            f"expected rows {index[0].date()}..{index[-1].date()} with columns {columns}"
        )
    return values


# --- interval observations ---------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Interval totals mapped onto panel periods.

    ``weights[j, t]`` is the share of period ``t`` that interval ``j`` covers (1.0 for a
    whole period), shape ``(J, T)``; ``totals`` shape ``(J,)``. The expectation of
    interval ``j``'s total is ``weights[j] @ mu`` where ``mu`` are per-period means.
    """

    weights: np.ndarray
    totals: np.ndarray

    @property
    def exposure(self) -> np.ndarray:
        """Periods covered by each interval, shape ``(J,)``."""
        return np.asarray(self.weights.sum(axis=1))

    @property
    def covered(self) -> np.ndarray:
        """Boolean mask of periods touched by any interval, shape ``(T,)``."""
        return np.asarray(self.weights.sum(axis=0) > 0)

    def __len__(self) -> int:
        return int(self.totals.size)


def interval_coverage(intervals: pd.DataFrame, series: Series) -> Coverage:
    """Validate ``intervals`` (columns ``start``, ``end`` exclusive, ``count``) against the
    panel and return their coverage. Raises ``IntervalsError`` when an interval is empty,
    reaches outside the panel's span, overlaps another, or covers a period whose count is
    also given (the same attacks would be counted twice)."""
    for col in (START, END, COUNT):
        if col not in intervals.columns:
            raise IntervalsError(f"intervals need columns start, end, count; missing {col!r}")
    starts = pd.DatetimeIndex(pd.to_datetime(intervals[START]))
    ends = pd.DatetimeIndex(pd.to_datetime(intervals[END]))
    totals = pd.to_numeric(intervals[COUNT], errors="coerce").to_numpy(dtype=float)
    if np.any(~np.isfinite(totals)) or np.any(totals < 0):
        raise IntervalsError("interval counts must be finite and >= 0")
    if np.any(ends <= starts):
        j = int(np.argmax(np.asarray(ends <= starts)))
        raise IntervalsError(f"interval {j}: end {ends[j].date()} is not after start")
    period_start = series.index
    period_end = pd.date_range(series.index[0], periods=len(series.index) + 1, freq=series.freq)[1:]
    span_start, span_end = period_start[0], period_end[-1]
    outside = (starts < span_start) | (ends > span_end)
    if outside.any():
        j = int(np.argmax(np.asarray(outside)))
        raise IntervalsError(
            f"interval {j} [{starts[j].date()}, {ends[j].date()}) reaches outside the panel "
            f"[{span_start.date()}, {span_end.date()}); drop it or extend the panel"
        )
    ps = period_start.to_numpy().astype("datetime64[s]").astype(np.int64)[None, :]
    pe = period_end.to_numpy().astype("datetime64[s]").astype(np.int64)[None, :]
    s = starts.to_numpy().astype("datetime64[s]").astype(np.int64)[:, None]
    e = ends.to_numpy().astype("datetime64[s]").astype(np.int64)[:, None]
    overlap = np.clip(np.minimum(e, pe) - np.maximum(s, ps), 0, None)
    weights = overlap / (pe - ps)
    per_period = weights.sum(axis=0)
    if np.any(per_period > 1 + 1e-9):
        t = int(np.argmax(per_period))
        raise IntervalsError(f"intervals overlap in the period {period_start[t].date()}")
    clash = (per_period > 0) & np.isfinite(series.y)
    if clash.any():
        t = int(np.argmax(clash))
        raise IntervalsError(
            f"period {period_start[t].date()} has a count and is also inside an interval; "
            "set the count to NaN there (the interval total already holds it)"
        )
    return Coverage(weights=weights, totals=totals)


def reject_intervals(name: str, intervals: pd.DataFrame | None) -> None:
    """Raise ``IntervalsUnsupportedError`` for a family that cannot fit interval totals."""
    if intervals is not None and len(intervals):
        raise IntervalsUnsupportedError(
            f"model {name!r} cannot fit interval observations (totals over [start, end)); "
            "use 'climatology', 'recent_rate' or 'negbin_glm' for this series"
        )


def warn_short_history(name: str, reason: str) -> None:
    """Emit the ``ShortHistoryWarning`` a family gives when it falls back to Climatology."""
    warnings.warn(
        f"{name}: {reason}; forecasting with climatology instead",
        ShortHistoryWarning,
        stacklevel=3,
    )


# --- negative binomial -------------------------------------------------------------------


def nb2_logpmf(y: np.ndarray, mu: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    """The package's one NB2 log-pmf: counts ``y`` with mean ``mu`` (> 0) and size
    ``size = 1 / alpha`` (variance ``mu + alpha * mu**2``), elementwise with
    broadcasting. Every family's likelihood calls it (Cameron & Trivedi, *Regression
    Analysis of Count Data*, 2nd ed. 2013, eq. 3.26; statsmodels' ``NegativeBinomial``
    with ``loglike_method="nb2"``)."""
    rm = size + mu
    return np.asarray(
        gammaln(y + size)
        - gammaln(size)
        - gammaln(y + 1.0)
        + size * np.log(size / rm)
        + y * np.log(mu / rm)
    )


def nb2_loglik(
    y: np.ndarray, mu: np.ndarray, size: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``nb2_logpmf`` with its partial derivatives ``d/dmu`` and ``d/dsize``."""
    r = np.asarray(size, dtype=float)
    rm = r + mu
    ll = nb2_logpmf(y, mu, r)
    d_mu = y / mu - (y + r) / rm
    d_size = digamma(y + r) - digamma(r) + np.log(r / rm) + (mu - y) / rm
    return ll, d_mu, d_size


def sample_nb(rng: np.random.Generator, mu: np.ndarray, alpha: float) -> np.ndarray:
    """Draw NB2 counts with means ``mu`` (any shape) as a gamma-Poisson mixture; int64.

    ``alpha == 0`` draws Poisson. The gamma draw comes first so that a given ``rng`` state
    always yields the same counts.
    """
    mu = np.asarray(mu, dtype=float)
    lam = rng.gamma(shape=1.0 / alpha, scale=alpha * mu) if alpha > 0 else mu
    return rng.poisson(lam).astype(np.int64)


def fallback_forecast(
    model: Any, horizon: int, n_samples: int, rng: np.random.Generator
) -> CountForecast | None:
    """The forecast of ``model.fallback_`` (the Climatology a family fell back to) under
    the family's own name, ``meta["fallback"]`` and ``meta["fallback_reason"]`` saying
    so; None when the family was fitted itself."""
    fallback = getattr(model, "fallback_", None)
    if fallback is None:
        return None
    fc = fallback.forecast(horizon, n_samples=n_samples, rng=rng)
    reason = getattr(model, "fallback_reason_", None)
    return relabel(fc, model.name, fallback=fallback.name, fallback_reason=reason)


def relabel(forecast: CountForecast, name: str, **meta: object) -> CountForecast:
    """The same paths under another model name (a family that fell back reports itself,
    with ``meta["fallback"]`` naming the model that produced the paths)."""
    return CountForecast(
        origin=forecast.origin,
        samples=forecast.samples,
        index=forecast.index,
        model=name,
        meta={**forecast.meta, **meta},
    )
