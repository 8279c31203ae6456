"""Simulated driver futures: which driver process fits, and what it does to the scores.

    python benchmarks/driver_futures.py                  # both parts
    python benchmarks/driver_futures.py --fit-only       # only the driver process fit
    python benchmarks/driver_futures.py --paths 50 --process self_exciting

1. Loads the bundled data into a temporary SQLite database.
2. Driver process fit: at the weekly origins of every bundled series with drivers, fits
   each stream (retaliations, statements) with the ``rate`` and the ``self_exciting``
   process on what was known at the origin and scores the daily driver counts of the
   next 28 days by their log predictive density (``predictive_log_score``; higher is
   better). Prints the totals per series and stream, and the fit at the last origin.
3. Backtests ``israel-alerts`` (weekly origins, horizon 28, 1,000 paths) with every
   driver-using configuration, deterministic against simulated driver futures on the
   same origins: daily CRPS, 7-day-total CRPS and wall time.

BLAS runs single-threaded: one process per core is how backtests run in parallel.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cadence.columns import COUNT  # noqa: E402
from cadence.experiments.backtest import ModelConfig, default_origins, run_backtest  # noqa: E402
from cadence.experiments.data import SeriesData, load_series_data, period_end  # noqa: E402
from cadence.experiments.driver_futures import DriverFuturesConfig  # noqa: E402
from cadence.features.driver_process import (  # noqa: E402
    PROCESSES,
    fit_driver_process,
    predictive_log_score,
)
from cadence.features.panel import driver_marks  # noqa: E402
from cadence.features.periods import day_of  # noqa: E402
from cadence.service.bundled import load_bundled  # noqa: E402
from cadence.service.settings import Settings  # noqa: E402
from cadence.store import migrate  # noqa: E402
from cadence.store.engine import make_engine  # noqa: E402
from cadence.store.series_repo import list_series  # noqa: E402

SERIES = "israel-alerts"
HORIZON = 28
EVERY = "7D"
N_PATHS = 1000
# every family whose fit may read ret_/stm_ columns, with drivers on
CONFIGS = (
    ModelConfig("negbin_glm"),
    ModelConfig("ingarch"),
    ModelConfig("hawkes"),
    ModelConfig("prophet"),
    ModelConfig("local_level", {"drivers": True}),
    ModelConfig("regime_nb", {"transition_drivers": True}),
)


def process_fit(data: SeriesData) -> None:
    """Held-out log score of each driver process per stream, summed over origins."""
    origins = default_origins(data, every=EVERY, horizon=HORIZON)
    spec = data.spec
    totals: dict[tuple[str, str], float] = {}
    last = None
    for o in origins:
        end = period_end(o, data.frequency)
        known = day_of(end, "origin")
        ev, st, _ = data.known_on(end)
        ret, stm = driver_marks(spec, ev, st, known)
        all_ret, all_stm = driver_marks(spec, data.events, data.statements, known + HORIZON)
        target = data.panel(end).frame[COUNT].to_numpy(dtype=float)
        for process in PROCESSES:
            fitted = fit_driver_process(
                ret if spec.retaliation is not None else None,
                stm if spec.statements is not None else None,
                known,
                process=process,
                target=target,
                horizon_days=HORIZON,
            )
            for name, fit, marks in (
                ("retaliation", fitted.retaliation, all_ret),
                ("statements", fitted.statements, all_stm),
            ):
                if fit is None:
                    continue
                actual = np.bincount(marks.days[marks.days > known] - known - 1, minlength=HORIZON)[
                    :HORIZON
                ]
                key = (name, process)
                totals[key] = totals.get(key, 0.0) + predictive_log_score(fit, actual)
            if o == origins[-1]:
                last = last or {}
                last[process] = fitted.summary()
    print(f"\n{spec.name}: {len(origins)} origins, next {HORIZON} days' driver counts")
    print(f"  {'stream':12s} " + " ".join(f"{p:>14s}" for p in PROCESSES))
    for name in ("retaliation", "statements"):
        if (name, PROCESSES[0]) in totals:
            cells = " ".join(f"{totals[(name, p)]:14.1f}" for p in PROCESSES)
            print(f"  {name:12s} {cells}")
    print(f"  fit at the last origin {origins[-1]:%Y-%m-%d}:")
    for process, summary in (last or {}).items():
        print(f"    {process}: {summary}")


def scores(result: object, key: str) -> tuple[float, float]:
    per_day = result.scores  # type: ignore[attr-defined]
    week = result.total_scores[7]  # type: ignore[attr-defined]

    def crps(frame: pd.DataFrame) -> float:
        row = frame[(frame["model"] == key) & (frame["horizon"].astype(str) == "all")]
        return float(row["crps"].iloc[0]) if len(row) else float("nan")

    return crps(per_day), crps(week)


def backtests(data: SeriesData, paths: int, process: str) -> None:
    origins = default_origins(data, every=EVERY, horizon=HORIZON)
    print(
        f"\n{data.spec.name}: {len(origins)} origins {origins[0]:%Y-%m-%d} .. "
        f"{origins[-1]:%Y-%m-%d}, horizon {HORIZON}, {N_PATHS} paths; simulated: "
        f"{paths} driver futures, {process}"
    )
    print(
        f"  {'model':34s} {'CRPS none':>10s} {'CRPS sim':>10s} {'7d none':>9s} "
        f"{'7d sim':>9s} {'s none':>7s} {'s sim':>7s}"
    )
    for config in CONFIGS:
        row = []
        for drivers in (
            DriverFuturesConfig(),
            DriverFuturesConfig("simulated", paths=paths, process=process),  # type: ignore[arg-type]
        ):
            t0 = time.perf_counter()
            r = run_backtest(
                data, [config], origins=origins, horizon=HORIZON, n_samples=N_PATHS, drivers=drivers
            )
            row.append((*scores(r, config.key), time.perf_counter() - t0))
        (a, a7, ta), (b, b7, tb) = row
        print(f"  {config.key:34s} {a:10.3f} {b:10.3f} {a7:9.2f} {b7:9.2f} {ta:7.1f} {tb:7.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fit-only", action="store_true", help="only the driver process fit")
    p.add_argument("--paths", type=int, default=20, help="simulated driver futures (20)")
    p.add_argument("--process", choices=PROCESSES, default="rate", help="driver process (rate)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="cadence-bench-") as tmp:
        work = Path(tmp)
        engine = make_engine(f"sqlite:///{work / 'cadence.db'}")
        migrate.upgrade(engine)
        load_bundled(engine, Settings().data_dir, work)
        for s in list_series(engine):
            data = load_series_data(engine, s.name)
            if data.spec.retaliation is not None or data.spec.statements is not None:
                process_fit(data)
        if not args.fit_only:
            backtests(load_series_data(engine, SERIES), args.paths, args.process)


if __name__ == "__main__":
    main()
