"""Backtests of many series: batches of series per task, one failing series reported.

Work is split by series: each task backtests a batch of whole series serially inside one
worker (``run_backtest`` with the serial executor), so a Dask cluster or process pool
gets a few tasks per worker instead of thousands of tiny (model, origin) fits, and a
series' panels are built once per origin and shared by its models. Batches are sized
for the executor (``series_batches``). A series whose data, origins or backtest raise is
recorded with its reason and the others go on. Results are deterministic: each (model,
origin) draw is seeded from the base seed, the model and the origin only, so any
executor and any batching give the same scores.

Results keep the scores, per-origin scores and failures but not the sample paths
(``keep_forecasts=False``): paths of thousands of series would not fit in memory.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cadence.experiments.backtest import BacktestResult, ModelConfig, default_origins, run_backtest
from cadence.experiments.data import SeriesData
from cadence.experiments.executors import Executor, SerialExecutor
from cadence.experiments.many.panels import prebuild
from cadence.experiments.many.summary import skill_summary

__all__ = [
    "ManyResult",
    "ManySettings",
    "SeriesBacktest",
    "backtest_series_batch",
    "run_many",
    "series_batches",
]


@dataclass(frozen=True)
class ManySettings:
    """What every series' backtest shares: models, origin rule (``default_origins``'s
    ``start``, ``end``, ``every``), horizon, paths and seed. ``prebuild_panels``: build
    the panels of a batch's eligible series in one vectorized pass
    (``experiments.many.panels``); the results are the same either way."""

    configs: tuple[ModelConfig, ...]
    horizon: int
    every: str | int | None = None
    start: object = None
    end: object = None
    n_samples: int = 1000
    seed: int = 0
    keep_forecasts: bool = False
    prebuild_panels: bool = True


@dataclass
class SeriesBacktest:
    """One series: its ``result``, or ``error`` (why it has none); wall ``seconds``."""

    series: str
    result: BacktestResult | None
    error: str | None
    seconds: float = 0.0


def _one(data: SeriesData, s: ManySettings) -> SeriesBacktest:
    t0 = time.perf_counter()
    name = data.spec.name
    try:
        origins = default_origins(data, start=s.start, end=s.end, every=s.every, horizon=s.horizon)
        result = run_backtest(
            data,
            list(s.configs),
            origins=origins,
            horizon=s.horizon,
            n_samples=s.n_samples,
            seed=s.seed,
        )
        if not s.keep_forecasts:
            result = dataclasses.replace(result, forecasts=[])
        return SeriesBacktest(name, result, None, time.perf_counter() - t0)
    except Exception as exc:  # one series failing must not stop the others
        return SeriesBacktest(name, None, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
    finally:
        data.clear_cache()  # panels of every origin: freed before the next series


def backtest_series_batch(
    settings: ManySettings, datas: Sequence[SeriesData]
) -> list[SeriesBacktest]:
    """Backtest each series of ``datas`` in turn (a task of ``run_many``)."""
    if settings.prebuild_panels:
        built = prebuild({d.spec.name: d for d in datas})
        datas = [built[d.spec.name] for d in datas]
    return [_one(d, settings) for d in datas]


def series_batches(n: int, workers: int, *, per_worker: int = 4, most: int = 25) -> list[range]:
    """Index ranges splitting ``n`` series into batches: one batch for a single worker,
    else about ``per_worker`` batches per worker (load balance as batches finish
    unevenly) of at most ``most`` series (progress and memory per task)."""
    if n <= 0:
        return []
    if workers <= 1:
        size = min(n, most)
    else:
        size = max(1, min(most, math.ceil(n / (per_worker * workers))))
    return [range(i, min(n, i + size)) for i in range(0, n, size)]


@dataclass
class ManyResult:
    """Backtests of many series, in the order they were asked for."""

    items: list[SeriesBacktest]
    settings: ManySettings
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def results(self) -> list[BacktestResult]:
        return [i.result for i in self.items if i.result is not None]

    @property
    def failed(self) -> dict[str, str]:
        return {i.series: str(i.error) for i in self.items if i.result is None}

    def summary(self) -> dict[str, Any]:
        """``skill_summary`` over the series with a result, plus the failed ones."""
        skills = {r.series: r.skill_vs_climatology() for r in self.results}
        out = skill_summary(skills, failed=self.failed)
        out["failed"] = [{"series": k, "error": v} for k, v in self.failed.items()]
        return out

    def to_json(self, run_ids: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
        """``{"series": [...], "summary": {...}}``: each series in the single-series shape
        (``BacktestResult.to_json``), a failed one as ``{"series", "error"}``."""
        ids = run_ids or {}
        rows: list[dict[str, Any]] = []
        for i in self.items:
            if i.result is None:
                rows.append({"series": i.series, "error": i.error})
            else:
                rows.append(i.result.to_json(ids.get(i.series, {})))
        return {"series": rows, "summary": self.summary()}


def run_many(
    datas: Mapping[str, SeriesData],
    settings: ManySettings,
    *,
    executor: Executor | None = None,
    load_errors: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ManyResult:
    """Backtest every series of ``datas`` on ``executor`` (serial by default), in batches
    of whole series. ``load_errors``: series that could not even be read, reported as
    failed. ``order``: the order of the result (default: ``datas`` then the load
    errors). ``progress(done, total)`` counts series as batches complete."""
    t0 = time.perf_counter()
    errors = dict(load_errors or {})
    names = list(datas)
    ex = executor if executor is not None else SerialExecutor()
    tasks = [([datas[names[i]] for i in r],) for r in series_batches(len(names), ex.workers)]
    done: dict[str, SeriesBacktest] = {k: SeriesBacktest(k, None, v) for k, v in errors.items()}
    total = len(names) + len(errors)
    if progress is not None:
        progress(len(done), total)
    for batch in ex.run(backtest_series_batch, settings, tasks):
        for item in batch:
            done[item.series] = item
        if progress is not None:
            progress(len(done), total)
    wanted = list(order) if order is not None else [*names, *errors]
    items = [done[k] for k in wanted if k in done]
    return ManyResult(items=items, settings=settings, seconds=time.perf_counter() - t0)
