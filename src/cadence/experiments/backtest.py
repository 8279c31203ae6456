"""Rolling-origin backtests: refit every model at every origin, score what followed.

Time convention: an *origin* is the label (first day) of the last period a model sees.
At each origin the model is fitted on ``SeriesData.panel(as_of=last day of the origin
period)`` and forecasts with ``SeriesData.future(origin, horizon)``; both read only rows
dated on or before that day (``fit_and_forecast`` is the one place this happens). When
the panel ends before the origin (observations reported with a lag), the model
forecasts from the panel's last period and the periods up to the origin are dropped,
so column ``h`` of every forecast is always period ``origin + h``.

Determinism: the generator of a (model, origin) pair is seeded from ``(seed, model key,
origin)`` alone, so the result does not depend on the executor, the batching or the
order tasks finish in.

Interval observations: a series whose counts are partly known only as totals over
several days (official tallies) is fitted only by models with ``supports_intervals``;
the others are skipped (``BacktestResult.skipped`` says why). Days known only through
an interval have NaN truth. When no period after any origin has a known count (a
series known only through tallies), the forecasts are scored on the interval totals
instead: each interval lying wholly inside a horizon is scored on the sum of the sampled
periods it covers, ``horizon`` being the periods from the origin to the interval's end.

Ensemble: an ``ensemble`` model in a backtest is the linear pool of the other models'
forecasts at the same origin (``cadence.models.ensemble.mix_paths``, the mixture
``Ensemble`` draws too), with the weights that minimise the pool's CRPS over the periods
of earlier forecasts already observed at the current origin, shrunk toward equal, and
no weight for a member whose CRPS there is worse than Climatology's
(``PoolScores.weights``; equal weights before anything is observed), so the weights use
no future data. Members failing at an origin are left out of that origin's pool.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd

from cadence.columns import COUNT, Frequency
from cadence.experiments.bootstrap import block_ratio, overlap_block
from cadence.experiments.data import (
    SeriesData,
    period_end,
    period_label,
    periods_between,
    shift_periods,
)
from cadence.experiments.driver_futures import (
    DETERMINISTIC,
    DriverFuturesConfig,
    forecast_over_drivers,
)
from cadence.experiments.errors import BacktestConfigError, NoOriginsError
from cadence.experiments.executors import Executor, SerialExecutor
from cadence.experiments.numbers import finite_or_none
from cadence.experiments.score_cache import CachedScore, frames_of
from cadence.experiments.scoring import METRICS, WINDOW_DAYS, score_paths, summarize, window_totals
from cadence.features.errors import SpecError
from cadence.features.periods import default_stride, stride_periods
from cadence.models import lookup as registry
from cadence.models.base import CountModel
from cadence.models.ensemble import PoolScores, energy_terms, mix_paths
from cadence.models.forecast import CountForecast

__all__ = [
    "CLIMATOLOGY",
    "MAX_GAP",
    "BacktestResult",
    "ModelConfig",
    "OriginForecast",
    "Precomputed",
    "check_reach",
    "default_origins",
    "fit_and_forecast",
    "horizon_block",
    "origin_seed",
    "run_backtest",
    "skill_against_climatology",
    "stride_for",
]

CLIMATOLOGY = "climatology"
# fits made elsewhere (a batched fit of many series): (model key, origin) -> (fitted
# model, forecast, seconds)
Precomputed = dict[tuple[str, pd.Timestamp], tuple[CountModel, CountForecast, float]]
ENSEMBLE = "ensemble"
# Window totals scored on daily series (days); 7 first: its PIT draws come first.
TOTAL_DAYS = (WINDOW_DAYS, 14, 28)
# How far past the last period of the data a forecast may start (about five years):
# the model simulates through the gap, so its paths grow with it.
MAX_GAP: dict[str, int] = {"D": 1830, "W": 261, "M": 60}
# warnings filters are process-global: fits in threads of one process (a Dask cluster
# with processes=False) take turns so one fit's capture cannot end another's
_WARNINGS_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelConfig:
    """A registry model with constructor ``params`` (registry defaults when empty).

    ``alias`` names the configuration in results (default: ``key`` built from the name
    and sorted params). For ``ensemble``, ``params`` may hold ``members`` (registry
    names, or model keys of the same backtest).
    """

    name: str
    params: Mapping[str, object] = field(default_factory=dict)
    alias: str | None = None

    @property
    def key(self) -> str:
        """Unique alias, e.g. ``negbin_glm`` or ``negbin_glm[lags=3]``."""
        if self.alias:
            return self.alias
        if not self.params:
            return self.name
        inner = ",".join(f"{k}={self.params[k]!r}" for k in sorted(self.params))
        return f"{self.name}[{inner}]"


@dataclass(frozen=True)
class OriginForecast:
    """One model at one origin: the forecast (None when it failed, ``error`` says why),
    the observed ``truth`` (float ``(horizon,)``, NaN unknown) and the fit + forecast
    wall time in seconds."""

    model: str
    origin: pd.Timestamp
    forecast: CountForecast | None
    truth: np.ndarray
    error: str | None
    seconds: float = 0.0


@dataclass
class BacktestResult:
    """Forecasts and scores of one backtest.

    ``scores``: ``model, horizon`` (int or ``"all"``), ``METRICS``, ``n``.
    ``per_origin``: one row per model x origin x horizon: ``model, origin, horizon,
    METRICS, pit``. ``window_scores`` / ``window_per_origin`` (daily series): the same
    for totals over non-overlapping 7-day windows, ``horizon`` = window number (1 = days
    1-7). ``total_scores`` / ``total_per_origin``: the same per window length in days (7, 14
    and 28 where the horizon reaches; 7 is ``window_scores`` again). ``failures``: (model,
    origin, reason). ``skipped``: model -> reason it was not run at all.
    """

    series: str
    frequency: str
    horizon: int
    origins: list[pd.Timestamp]
    forecasts: list[OriginForecast]
    scores: pd.DataFrame
    per_origin: pd.DataFrame
    failures: list[tuple[str, pd.Timestamp, str]]
    window_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    window_per_origin: pd.DataFrame = field(default_factory=pd.DataFrame)
    total_scores: dict[int, pd.DataFrame] = field(default_factory=dict)
    total_per_origin: dict[int, pd.DataFrame] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    # skill_vs_climatology, computed once: a many-series retrain asks for it per model
    _skill: dict[str, float] | None = field(default=None, init=False, repr=False, compare=False)

    def _all_rows(self) -> pd.DataFrame:
        return self.scores[self.scores["horizon"].astype(str) == "all"].set_index("model")

    def skill_vs_climatology(self) -> dict[str, float]:
        """``1 - CRPS_model / CRPS_climatology`` over every (origin, horizon) both
        scored; NaN when climatology was not run or scored nothing in common."""
        if self._skill is None:
            self._skill = self._skill_vs_climatology()
        return dict(self._skill)

    def _skill_vs_climatology(self) -> dict[str, float]:
        return skill_against_climatology(self.per_origin, self.models)

    def origin_crps(self, model: str) -> pd.Series:
        """Mean CRPS over horizons per origin (origins with at least one scored period)."""
        po = self.per_origin
        return cast(pd.Series, po[po["model"] == model].groupby("origin")["crps"].mean().dropna())

    def crps_difference(
        self, a: str, b: str, *, n_boot: int = 1000, seed: int = 0, block: int | None = None
    ) -> tuple[float, float, float]:
        """Mean over common origins of (CRPS of ``a`` - CRPS of ``b``), each origin's
        CRPS averaged over horizons, and a 95% bootstrap interval (moving blocks of
        ``block`` consecutive origins, circular; default: as many origins as one
        horizon spans, since overlapping horizons make neighbouring origins dependent).
        Negative: ``a`` is better. NaNs when the models share no scored origin."""
        d = (self.origin_crps(a) - self.origin_crps(b)).dropna().to_numpy()
        if block is None:
            block = self._default_block()
        return block_ratio(d, block=block, n_boot=n_boot, seed=seed)

    def _default_block(self) -> int:
        return horizon_block(self.origins, self.horizon, self.frequency)

    def to_json(self, mlflow_run_ids: Mapping[str, str]) -> dict[str, object]:
        """The backtest in the fixed JSON shape (NaN becomes null). ``totals`` maps a
        window length in days to the scores of window totals (``horizon`` = window
        number or ``"all"``)."""
        return {
            "series": self.series,
            "frequency": self.frequency,
            "origins": [o.date().isoformat() for o in self.origins],
            "horizon": int(self.horizon),
            "scores": _score_rows(self.scores),
            "skill_vs_climatology": {
                k: finite_or_none(v) for k, v in self.skill_vs_climatology().items()
            },
            "mlflow_run_ids": {str(k): str(v) for k, v in mlflow_run_ids.items()},
            "totals": {str(d): _score_rows(t) for d, t in self.total_scores.items() if not t.empty},
        }


def skill_against_climatology(per_origin: pd.DataFrame, models: Sequence[str]) -> dict[str, float]:
    """``1 - CRPS_model / CRPS_climatology`` of each of ``models`` over the (origin,
    horizon) rows of ``per_origin`` both scored (periods, or window totals); NaN when
    climatology was not run or scored nothing in common."""
    po = per_origin
    if po.empty or CLIMATOLOGY not in set(po["model"]):
        return {m: float("nan") for m in models}
    names = po["model"].to_numpy()
    origins = pd.DatetimeIndex(po["origin"]).asi8.tolist()
    cells = list(zip(origins, po["horizon"].tolist(), strict=True))
    crps = po["crps"].to_numpy(dtype=float)
    ref = {cells[i]: crps[i] for i in np.flatnonzero(names == CLIMATOLOGY)}
    out: dict[str, float] = {}
    for m in models:
        pairs = [(crps[i], ref.get(cells[i], np.nan)) for i in np.flatnonzero(names == m)]
        both = np.array([p for p in pairs if np.isfinite(p[0]) and np.isfinite(p[1])])
        den = float(both[:, 1].mean()) if len(both) else float("nan")
        out[m] = 1.0 - float(both[:, 0].mean()) / den if den and den > 0 else float("nan")
    return out


def _score_rows(scores: pd.DataFrame) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for r in scores.to_dict("records"):
        h = r["horizon"]
        rows.append(
            {
                "model": str(r["model"]),
                "horizon": h if h == "all" else int(h),
                **{m: finite_or_none(r[m]) for m in METRICS},
                "n": int(r["n"]),
            }
        )
    return rows


# --- origins --------------------------------------------------------------------------------


def stride_for(data: SeriesData, every: str | int | None) -> int:
    """Periods between origins of ``data``'s series for ``every`` (a count of periods or a
    calendar length such as ``1W``, ``1M``, ``3M``; None: a week, a month for monthly
    series), matched to the series' frequency; ``BacktestConfigError`` naming the series
    and its frequency when it does not fit (``7D`` on a monthly series)."""
    try:
        if every is None:
            return default_stride(data.frequency)
        return stride_periods(every, data.frequency)
    except SpecError as exc:
        raise BacktestConfigError(f"series {data.spec.name!r}: {exc}") from exc


def default_origins(
    data: SeriesData,
    *,
    start: object = None,
    end: object = None,
    every: str | int | None = None,
    horizon: int,
    min_history: int | None = None,
) -> list[pd.Timestamp]:
    """Origins (period labels) every ``every`` (``stride_for``: a number of periods or a
    length like ``1W``, ``1M``, ``3M``) counted back from the latest admissible one,
    oldest first.

    Admissible: at least ``min_history`` periods of panel before it (default 8 weeks,
    26 weeks or 12 months by frequency), on or after ``start``, on or before ``end``
    and, by default, early enough for the whole horizon to be observed. Raises
    ``NoOriginsError`` when none is left.
    """
    if horizon < 1:
        raise BacktestConfigError(f"horizon: expected an integer >= 1, got {horizon}")
    freq = data.frequency
    if min_history is None:
        min_history = {"D": 56, "W": 26, "M": 12}[freq]
    lo = shift_periods(data.first_period, min_history - 1, freq)
    # a sampled view runs the panel past the last report: no later truth to score there
    hi = shift_periods(data.last_reported_period, -horizon, freq)
    if start is not None:
        lo = max(lo, period_label(start, freq))
    if end is not None:
        hi = min(period_label(end, freq), data.last_period)
    step = stride_for(data, every)
    out: list[pd.Timestamp] = []
    o = hi
    while o >= lo:
        out.append(o)
        o = shift_periods(o, -step, freq)
    if not out:
        raise NoOriginsError(
            f"series {data.spec.name!r}: no origin between {lo:%Y-%m-%d} and {hi:%Y-%m-%d} "
            f"(data {data.first_period:%Y-%m-%d} .. {data.last_period:%Y-%m-%d}, "
            f"horizon {horizon}, min_history {min_history})"
        )
    return out[::-1]


# --- one fit ----------------------------------------------------------------------------------


def origin_seed(seed: int, key: str, origin: pd.Timestamp) -> int:
    """The seed of one (model, origin) pair: stable across processes and runs."""
    ss = np.random.SeedSequence([seed, zlib.crc32(key.encode()), origin.toordinal()])
    return int(ss.generate_state(1, dtype=np.uint64)[0])


def build_model(config: ModelConfig) -> CountModel:
    """A new, unfitted model of ``config`` (an ensemble builds its members by name)."""
    if config.name != ENSEMBLE:
        return registry.make_model(config.name, **dict(config.params))
    params = dict(config.params)
    members = params.pop("members", None)
    if members is not None:
        params["members"] = [registry.make_model(str(m)) for m in cast(Sequence[str], members)]
    return registry.make_model(ENSEMBLE, **params)


def fit_and_forecast(
    data: SeriesData,
    config: ModelConfig,
    origin: object,
    horizon: int,
    *,
    n_samples: int,
    seed: int,
    drivers: DriverFuturesConfig = DETERMINISTIC,
) -> tuple[CountModel, CountForecast]:
    """Fit ``config`` on the panel as of the last day of period ``origin`` and forecast
    the ``horizon`` periods after it (``CountForecast`` with ``origin`` = ``origin``,
    ``model`` = ``config.key``). The generator is seeded by ``origin_seed(seed,
    config.key, origin)``, so a refit at the same origin draws the same paths as the
    backtest did. Warnings raised while fitting are collected in
    ``forecast.meta["warnings"]`` instead of being shown once per origin. ``drivers``:
    the forecast period's drivers, deterministic (default) or simulated
    (``cadence.experiments.driver_futures``)."""
    freq = data.frequency
    label = pd.Timestamp(origin)
    if period_label(label, freq) != label:
        raise BacktestConfigError(
            f"origin: expected the first day of a period ({freq}), got {label:%Y-%m-%d}"
        )
    check_reach(data, label)
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = data.panel(period_end(label, freq))
        gap = len(pd.date_range(panel.origin, label, freq=panel.frame.index.freq)) - 1
        model = build_model(config)
        intervals = None if panel.intervals.empty else panel.intervals
        # copies: panels are shared by every model fitted at this origin
        model.fit(panel.frame.copy(), COUNT, intervals)
        fc = forecast_over_drivers(
            model,
            data,
            panel.origin,
            horizon + gap,
            n_samples=n_samples,
            seed=origin_seed(seed, config.key, label),
            config=drivers,
        )
    meta = dict(fc.meta)
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if notes:
        meta["warnings"] = notes
    if gap:
        meta["origin_gap"] = gap
    return model, CountForecast(
        origin=label,
        samples=fc.samples[:, gap:],
        index=fc.index[gap:],
        model=config.key,
        meta=meta,
    )


def horizon_block(origins: Sequence[pd.Timestamp], horizon: int, frequency: str) -> int:
    """Consecutive origins one horizon reaches over (1 when horizons do not overlap): the
    block length of bootstrap intervals over origins (``bootstrap.overlap_block``)."""
    if len(origins) < 2:
        return 1
    span = shift_periods(origins[0], horizon, cast(Frequency, frequency)) - origins[0]
    return overlap_block(origins, span)


def check_reach(data: SeriesData, origin: pd.Timestamp, *, name: str = "origin") -> None:
    """``BacktestConfigError`` (naming the value ``name``) when ``origin`` lies more
    than ``MAX_GAP`` periods after
    the last period of the data: a model forecasts through such a gap day by day, and
    an as-of date decades ahead would draw paths of that length (memory and time grow
    with it) for an answer no data support."""
    freq = data.frequency
    gap = periods_between(data.last_period, origin, freq)
    if gap > MAX_GAP[freq]:
        unit = {"D": "days", "W": "weeks", "M": "months"}[freq]
        raise BacktestConfigError(
            f"{name} {origin:%Y-%m-%d} lies {gap:,} {unit} after the last period of the "
            f"data ({data.last_period:%Y-%m-%d}): expected at most {MAX_GAP[freq]:,} "
            f"{unit} (about five years) past the data"
        )


def _run_batch(
    data: SeriesData,
    config: ModelConfig,
    origins: Sequence[pd.Timestamp],
    horizon: int,
    n_samples: int,
    seed: int,
    drivers: DriverFuturesConfig = DETERMINISTIC,
) -> list[tuple[str, pd.Timestamp, CountForecast | None, str | None, float]]:
    """Fit ``config`` at each origin; a failure is returned with its reason, not raised
    (an origin where a model cannot fit must not hide the others)."""
    out: list[tuple[str, pd.Timestamp, CountForecast | None, str | None, float]] = []
    for o in origins:
        t0 = time.perf_counter()
        try:
            _, fc = fit_and_forecast(
                data, config, o, horizon, n_samples=n_samples, seed=seed, drivers=drivers
            )
            out.append((config.key, o, fc, None, time.perf_counter() - t0))
        except Exception as exc:  # any model error is a result of the backtest
            reason = f"{type(exc).__name__}: {exc}"
            out.append((config.key, o, None, reason, time.perf_counter() - t0))
    return out


# --- the backtest --------------------------------------------------------------------------------


def _batches(
    configs: Sequence[ModelConfig], origins: Sequence[pd.Timestamp], workers: int
) -> list[tuple[ModelConfig, list[pd.Timestamp]]]:
    # a few tasks per worker balances load; one origin per task would drown small fits
    # in scheduling overhead
    per_model = 1 if workers <= 1 else max(1, math.ceil(3 * workers / max(1, len(configs))))
    size = max(1, math.ceil(len(origins) / per_model))
    return [(c, list(origins[i : i + size])) for c in configs for i in range(0, len(origins), size)]


def run_backtest(
    data: SeriesData,
    models: Sequence[ModelConfig],
    *,
    origins: Sequence[object],
    horizon: int,
    n_samples: int = 1000,
    seed: int = 0,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    precomputed: Precomputed | None = None,
    drivers: DriverFuturesConfig = DETERMINISTIC,
    cached: Mapping[tuple[str, pd.Timestamp], CachedScore] | None = None,
) -> BacktestResult:
    """Backtest ``models`` on ``data`` at every origin (period labels) for horizons
    ``1..horizon``. Climatology is added when missing (the reference of skill).
    ``progress(done, total)`` is called as (model, origin) fits complete.
    ``precomputed``: forecasts already made for some (model key, origin) pairs (seeded
    by ``origin_seed`` like the rest); only the other pairs are fitted here.
    ``drivers``: deterministic (default) or simulated driver futures for every fit
    (``cadence.experiments.driver_futures``; models without driver columns are
    unaffected). ``cached``: scores of (model key, origin) pairs kept from an earlier
    run on the same data (``score_cache``); those pairs are not fitted, and the scores
    come out as a run without them gives them (ignored with an ensemble or interval
    totals)."""
    if horizon < 1:
        raise BacktestConfigError(f"horizon: expected an integer >= 1, got {horizon}")
    if n_samples < 1:
        raise BacktestConfigError(f"n_samples: expected an integer >= 1, got {n_samples}")
    if not origins:
        raise NoOriginsError("no origins given")
    configs = list(models)
    if not any(c.name == CLIMATOLOGY for c in configs):
        configs.insert(0, ModelConfig(CLIMATOLOGY))
    keys = [c.key for c in configs]
    if len(set(keys)) != len(keys):
        raise BacktestConfigError(f"model keys must be unique, got {keys}")
    origin_list = sorted({pd.Timestamp(o) for o in origins})
    skipped: dict[str, str] = {}
    base: list[ModelConfig] = []
    ensembles: list[ModelConfig] = []
    for c in configs:
        if c.name == ENSEMBLE:
            ensembles.append(c)
            continue
        try:
            cls = registry.model_class(c.name)
        except Exception as exc:  # unknown or unimportable: reported, the rest still run
            skipped[c.key] = f"{type(exc).__name__}: {exc}"
            continue
        if data.has_intervals and not getattr(cls, "supports_intervals", False):
            skipped[c.key] = (
                f"{c.name} cannot fit interval observations; series {data.spec.name!r} "
                "has counts known only as totals over several days"
            )
            continue
        base.append(c)

    truths = {o: data.truth(o, horizon) for o in origin_list}
    results: dict[tuple[str, pd.Timestamp], OriginForecast] = {}
    total = len(origin_list) * (len(base) + len(ensembles))
    done = 0
    ex = executor if executor is not None else SerialExecutor()
    reused = {} if ensembles or data.has_intervals else dict(cached or {})
    base_set = {c.key for c in base}
    reused = {(k, o): c for (k, o), c in reused.items() if k in base_set and o in truths}
    for (key, o), entry in reused.items():
        results[(key, o)] = OriginForecast(key, o, None, truths[o], entry.error, entry.seconds)
        done += 1
    given = precomputed or {}
    for (key, o), (_, fc, secs) in given.items():
        if (key, o) in results:
            continue
        if key in {c.key for c in base} and o in truths:
            results[(key, o)] = OriginForecast(key, o, fc, truths[o], None, secs)
            done += 1
    tasks = [
        (c, [o for o in batch if (c.key, o) not in results], horizon, n_samples, seed, drivers)
        for c, batch in _batches(base, origin_list, ex.workers)
    ]
    tasks = [t for t in tasks if t[1]]
    for batch_out in ex.run(_run_batch, data, tasks):
        for key, o, fc, err, secs in batch_out:
            results[(key, o)] = OriginForecast(key, o, fc, truths[o], err, secs)
        done += len(batch_out)
        if progress is not None:
            progress(done, total)

    base_keys = [c.key for c in base]
    per_origin, totals_po = _score_all(
        data, results, [results[(k, o)] for k in base_keys for o in origin_list], seed
    )
    if reused:
        per_origin, totals_po = _with_reused(per_origin, totals_po, reused, base_keys)
    pool_terms: dict[tuple[pd.Timestamp, tuple[str, ...]], tuple[np.ndarray, np.ndarray]] = {}
    for ec in ensembles:
        members = [str(m) for m in cast(Sequence[str], ec.params.get("members", base_keys))]
        for o in origin_list:
            results[(ec.key, o)] = _mixture(
                ec.key, o, members, results, pool_terms, truths[o], data, n_samples, seed
            )
            done += 1
            if progress is not None:
                progress(done, total)
        e_po, e_tpo = _score_all(data, results, [results[(ec.key, o)] for o in origin_list], seed)
        per_origin = pd.concat([per_origin, e_po], ignore_index=True)
        totals_po = {d: pd.concat([totals_po[d], e_tpo[d]], ignore_index=True) for d in totals_po}

    run_keys = [*base_keys, *(c.key for c in ensembles)]
    forecasts = [results[(k, o)] for k in run_keys for o in origin_list]
    total_scores = {d: summarize(po) if not po.empty else po for d, po in totals_po.items()}
    failures = [(f.model, f.origin, f.error) for f in forecasts if f.error is not None]
    return BacktestResult(
        series=data.spec.name,
        frequency=data.frequency,
        horizon=horizon,
        origins=origin_list,
        forecasts=forecasts,
        scores=summarize(per_origin),
        per_origin=per_origin,
        failures=[(m, o, str(e)) for m, o, e in failures],
        window_scores=total_scores[WINDOW_DAYS],
        window_per_origin=totals_po[WINDOW_DAYS],
        total_scores=total_scores,
        total_per_origin=totals_po,
        skipped=skipped,
        models=run_keys,
    )


def _with_reused(
    per_origin: pd.DataFrame,
    totals: dict[int, pd.DataFrame],
    reused: Mapping[tuple[str, pd.Timestamp], CachedScore],
    keys: Sequence[str],
) -> tuple[pd.DataFrame, dict[int, pd.DataFrame]]:
    """Scores of the fitted pairs and of the ``reused`` ones in the order a run that
    fitted them all gives (model as in ``keys``, then origin)."""
    rank = {k: i for i, k in enumerate(keys)}
    like = per_origin if len(per_origin.columns) else pd.DataFrame(columns=["model", "origin"])
    old_rows, old_totals = frames_of(reused, like)

    def merged(frame: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
        if extra.empty:
            return frame
        out = pd.concat([frame, extra], ignore_index=True) if not frame.empty else extra
        order = np.lexsort(
            (
                pd.DatetimeIndex(out["origin"]).asi8,
                out["model"].map(rank).to_numpy(dtype=np.int64),
            )
        )
        return out.iloc[order].reset_index(drop=True)

    out_totals = {
        d: merged(frame, old_totals[d]) if d in old_totals else frame for d, frame in totals.items()
    }
    return merged(per_origin, old_rows), out_totals


def _score_all(
    data: SeriesData,
    results: Mapping[tuple[str, pd.Timestamp], OriginForecast],
    items: Sequence[OriginForecast],
    seed: int,
) -> tuple[pd.DataFrame, dict[int, pd.DataFrame]]:
    """Per-origin scores of ``items``: per period, and (daily series) per window total
    of each length in ``TOTAL_DAYS`` (empty frames for lengths beyond the horizon)."""
    daily = data.frequency == "D"
    frames: list[pd.DataFrame] = []
    wframes: dict[int, list[pd.DataFrame]] = {d: [] for d in TOTAL_DAYS}
    for f in items:
        if f.forecast is None:
            continue
        # PIT randomization seeded like the forecast: identical under any executor
        rng = np.random.default_rng(origin_seed(seed + 1, f.model, f.origin))
        s = score_paths(f.forecast.samples, f.truth, rng=rng, daily=daily)
        s.insert(0, "origin", f.origin)
        s.insert(0, "model", f.model)
        frames.append(s)
        for days in TOTAL_DAYS:
            if not daily or f.forecast.horizon < days:
                continue
            ws, wt = window_totals(f.forecast.samples, f.truth, days)
            w = score_paths(ws, wt, rng=rng, daily=False)
            w.insert(0, "origin", f.origin)
            w.insert(0, "model", f.model)
            wframes[days].append(w)
    cols = ["model", "origin", "horizon", *METRICS, "pit"]
    po = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    totals = {
        d: pd.concat(fs, ignore_index=True) if fs else pd.DataFrame(columns=cols)
        for d, fs in wframes.items()
    }
    if data.has_intervals and not np.isfinite(po["crps"].to_numpy(dtype=float)).any():
        ipo = _score_intervals(data, items, seed)
        if not ipo.empty:
            po = ipo
    return po, totals


def _score_intervals(data: SeriesData, items: Sequence[OriginForecast], seed: int) -> pd.DataFrame:
    """Scores of interval totals: for each forecast, every stored interval lying wholly
    inside its horizon is scored on the sum of the sampled periods it covers. One row per
    (model, origin, interval); ``horizon`` = periods from the origin to the interval's
    last period, plus ``start`` and ``end`` (exclusive) of the interval."""
    intervals = data.full_panel.intervals
    freq = data.frequency
    frames = []
    for f in items:
        if f.forecast is None:
            continue
        first = shift_periods(f.origin, 1, freq)
        labels = pd.DatetimeIndex(f.forecast.index)
        stop = shift_periods(labels[-1], 1, freq)  # exclusive end of the horizon
        inside = intervals[
            (pd.DatetimeIndex(intervals["start"]) >= first)
            & (pd.DatetimeIndex(intervals["end"]) <= stop)
        ]
        if inside.empty:
            continue
        cols, truth, last = [], [], []
        for r in inside.itertuples(index=False):
            mask = (labels >= pd.Timestamp(r.start)) & (labels < pd.Timestamp(r.end))
            cols.append(f.forecast.samples[:, mask].sum(axis=1))
            truth.append(float(r.count))
            last.append(int(np.flatnonzero(mask)[-1]) + 1)
        rng = np.random.default_rng(origin_seed(seed + 2, f.model, f.origin))
        sc = score_paths(np.column_stack(cols), np.asarray(truth), rng=rng, daily=False)
        sc["horizon"] = last
        sc.insert(0, "origin", f.origin)
        sc.insert(0, "model", f.model)
        sc["start"] = pd.DatetimeIndex(inside["start"]).to_numpy()
        sc["end"] = pd.DatetimeIndex(inside["end"]).to_numpy()
        frames.append(sc)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _mixture(
    key: str,
    origin: pd.Timestamp,
    members: Sequence[str],
    results: Mapping[tuple[str, pd.Timestamp], OriginForecast],
    terms: dict[tuple[pd.Timestamp, tuple[str, ...]], tuple[np.ndarray, np.ndarray]],
    truth: np.ndarray,
    data: SeriesData,
    n_samples: int,
    seed: int,
) -> OriginForecast:
    """The pool of ``members`` at ``origin``: weights from the periods of earlier
    forecasts already observed by ``origin`` (``PoolScores``; equal weights before any),
    Climatology as the reference a member must beat; ``terms`` caches each earlier
    forecast's CRPS terms."""
    t0 = time.perf_counter()
    ok = tuple(
        m for m in members if (m, origin) in results and results[(m, origin)].forecast is not None
    )
    if not ok:
        return OriginForecast(key, origin, None, truth, "no member forecast at this origin", 0.0)
    seen = period_end(origin, data.frequency)
    past = []
    for o in sorted({o for (_, o) in results if o < origin}):
        fcs = [results.get((m, o)) for m in ok]
        if any(f is None or f.forecast is None for f in fcs):
            continue
        if (o, ok) not in terms:
            paths = [cast(CountForecast, f.forecast).samples for f in fcs if f is not None]
            terms[(o, ok)] = energy_terms(paths, cast(OriginForecast, fcs[0]).truth)
        a, b = terms[(o, ok)]
        past_fc = cast(OriginForecast, fcs[0]).forecast
        ends = [period_end(d, data.frequency) for d in cast(CountForecast, past_fc).index]
        mask = np.array([e <= seen for e in ends])
        past.append((np.where(mask[:, None], a, np.nan), np.where(mask[:, None, None], b, np.nan)))
    try:
        pool = PoolScores.of(past)
        ref = ok.index(CLIMATOLOGY) if CLIMATOLOGY in ok else None
        w = pool.weights(reference=ref)
    except ValueError:  # nothing observed yet
        w = np.full(len(ok), 1.0 / len(ok))
    rng = np.random.default_rng(origin_seed(seed, key, origin))
    samples, counts = mix_paths(
        rng,
        w,
        n_samples,
        lambda i, k: cast(CountForecast, results[(ok[i], origin)].forecast).samples[:k],
    )
    first = cast(CountForecast, results[(ok[0], origin)].forecast)
    fc = CountForecast(
        origin=origin,
        samples=samples,
        index=first.index,
        model=key,
        meta={"members": list(ok), "weights": w.tolist(), "paths": counts.tolist()},
    )
    return OriginForecast(key, origin, fc, truth, None, time.perf_counter() - t0)
