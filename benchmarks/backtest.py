"""Wall time of rolling-origin backtests: serial against Dask, Prophet's share, many series.

    python benchmarks/backtest.py                       # bundled series + 8 generated
    python benchmarks/backtest.py --generated 1000      # the 1,000-series run
    python benchmarks/backtest.py --workers 4 --no-serial-generated
    python benchmarks/backtest.py --ablation            # only the driver ablation

1. Loads the bundled data into a temporary SQLite database.
2. Backtests ``israel-alerts`` (weekly origins, horizon 28, 1,000 paths) with every
   registered model but Prophet (the ensemble included): serially, then on a Dask
   LocalCluster of ``--workers`` single-threaded worker processes (cluster start-up
   timed apart).
3. The same backtest with Prophet added, serially: Prophet's share of the fit time.
4. The same backtest over ``--generated`` synthetic daily series (every row generated
   here; none is real), one task per chunk of series, serially and on Dask.

``--ablation`` instead backtests NB GLM, INGARCH and Hawkes on ``israel-alerts`` with and
without the ``ret_``/``stm_`` driver columns (keeping ``cal_``), and prints their CRPS.

BLAS runs single-threaded: one process per core is how backtests run in parallel.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cadence.columns import DATE, KIND, PREFIX_CALENDAR, SOURCE, STANCE, TARGET  # noqa: E402
from cadence.experiments.backtest import (  # noqa: E402
    BacktestResult,
    ModelConfig,
    default_origins,
    run_backtest,
)
from cadence.experiments.data import SeriesData, load_series_data  # noqa: E402
from cadence.experiments.executors import (  # noqa: E402
    DaskExecutor,
    Executor,
    SerialExecutor,
)
from cadence.features import SeriesSpec  # noqa: E402
from cadence.models.registry import available_models  # noqa: E402
from cadence.service.bundled import load_bundled  # noqa: E402
from cadence.service.settings import Settings  # noqa: E402
from cadence.store import migrate  # noqa: E402
from cadence.store.engine import make_engine  # noqa: E402

SERIES = "israel-alerts"
HORIZON = 28
EVERY = "7D"
N_PATHS = 1000
PROPHET = "prophet"
GENERATED_DAYS = 240


def configs(with_prophet: bool) -> list[ModelConfig]:
    names = [n for n in available_models() if n != "ensemble" and (with_prophet or n != PROPHET)]
    return [ModelConfig(n) for n in [*names, "ensemble"]]


def fit_seconds(result: BacktestResult) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in result.forecasts:
        out[f.model] = out.get(f.model, 0.0) + f.seconds
    return out


def timed_backtest(
    data: SeriesData, cfgs: Sequence[ModelConfig], executor: Executor
) -> tuple[float, BacktestResult]:
    data.clear_cache()
    origins = default_origins(data, every=EVERY, horizon=HORIZON)
    start = time.perf_counter()
    result = run_backtest(
        data, cfgs, origins=origins, horizon=HORIZON, n_samples=N_PATHS, executor=executor
    )
    return time.perf_counter() - start, result


def generated_series(seed: int) -> SeriesData:
    """A synthetic daily series: Poisson counts around a random level with a slow
    wave, a retaliation about every 3 weeks, a statement about every 10 days."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=GENERATED_DAYS, freq="D")
    level = rng.uniform(0.3, 20.0)
    wave = 1 + 0.5 * np.sin(np.arange(GENERATED_DAYS) / rng.uniform(10, 40))
    n = rng.poisson(level * wave)
    attacks = pd.DataFrame({DATE: np.repeat(dates.to_numpy(), n), KIND: "attack"})
    ret_days = dates[rng.random(GENERATED_DAYS) < 1 / 21]
    ret = pd.DataFrame({DATE: ret_days, KIND: "retaliation"})
    events = pd.concat([attacks, ret], ignore_index=True).sort_values(DATE, kind="stable")
    events[TARGET] = "synthetic target"
    events[SOURCE] = "synthetic"
    events["fatalities"] = 0.0
    events[DATE] = events[DATE].astype("datetime64[s]")
    st_days = dates[rng.random(GENERATED_DAYS) < 1 / 10]
    statements = pd.DataFrame(
        {
            DATE: st_days.astype("datetime64[s]"),
            STANCE: rng.choice(["escalation", "neutral", "de-escalation"], size=len(st_days)),
            SOURCE: "synthetic",
        }
    )
    spec = SeriesSpec.from_dict(
        {
            "name": f"generated-{seed}",
            "frequency": "D",
            "target": {"events": {"kind": "attack"}},
            "drivers": {"retaliation": {"kind": "retaliation"}, "statements": {}},
        }
    )
    return SeriesData(spec, events.reset_index(drop=True), statements, None)


def backtest_generated(
    _shared: object, seeds: Sequence[int], cfgs: Sequence[ModelConfig]
) -> tuple[int, int]:
    """Backtest each generated series serially; (series done, failures)."""
    failures = 0
    for s in seeds:
        data = generated_series(s)
        origins = default_origins(data, every=EVERY, horizon=HORIZON)
        r = run_backtest(data, cfgs, origins=origins, horizon=HORIZON, n_samples=N_PATHS)
        failures += len(r.failures)
    return len(seeds), failures


def run_generated(n: int, cfgs: Sequence[ModelConfig], executor: Executor) -> float:
    chunk = max(1, math.ceil(n / (4 * executor.workers)))
    tasks = [(list(range(i, min(n, i + chunk))), cfgs) for i in range(0, n, chunk)]
    start = time.perf_counter()
    done = failures = 0
    for k, f in executor.run(backtest_generated, None, tasks):
        done, failures = done + k, failures + f
    wall = time.perf_counter() - start
    print(
        f"  {done} series, {failures} model failures, {wall:.1f} s ({wall / done:.2f} s/series"
        f"; 1,000 series at this rate: {1000 * wall / done / 60:.0f} min)"
    )
    return wall


def ablation_configs(data: SeriesData) -> list[ModelConfig]:
    """Each driver-using family with its defaults and with calendar columns only."""
    cal = [c for c in data.full_panel.frame.columns if str(c).startswith(PREFIX_CALENDAR)]
    return [
        ModelConfig("negbin_glm"),
        ModelConfig("negbin_glm", {"include": cal}, alias="negbin_glm[no drivers]"),
        ModelConfig("ingarch"),
        ModelConfig("ingarch", {"exog_prefixes": (PREFIX_CALENDAR,)}, alias="ingarch[no drivers]"),
        ModelConfig("hawkes"),
        ModelConfig(
            "hawkes",
            {"driver_families": (), "covariates": cal},
            alias="hawkes[no drivers]",
        ),
    ]


def run_ablation(data: SeriesData) -> None:
    _, r = timed_backtest(data, ablation_configs(data), SerialExecutor())
    rows = r.scores[r.scores["horizon"] == "all"].set_index("model")
    skill = r.skill_vs_climatology()
    print(f"{'model':24s} {'CRPS':>8s} {'skill':>7s} {'cov80':>6s} {'failed':>6s}")
    for key in r.models:
        n_fail = sum(1 for m, _, _ in r.failures if m == key)
        crps = rows.loc[key, "crps"] if key in rows.index else float("nan")
        cov = rows.loc[key, "coverage_80"] if key in rows.index else float("nan")
        print(f"{key:24s} {crps:8.2f} {skill.get(key, float('nan')):7.3f} {cov:6.2f} {n_fail:6d}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2, help="Dask workers (default 2)")
    p.add_argument("--generated", type=int, default=8, help="generated series (default 8)")
    p.add_argument("--no-serial-generated", action="store_true", help="only Dask for those")
    p.add_argument("--no-prophet", action="store_true", help="skip the Prophet backtest")
    p.add_argument("--ablation", action="store_true", help="only the driver ablation")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="cadence-bench-") as tmp:
        work = Path(tmp)
        engine = make_engine(f"sqlite:///{work / 'cadence.db'}")
        migrate.upgrade(engine)
        t0 = time.perf_counter()
        load_bundled(engine, Settings().data_dir, work)
        data = load_series_data(engine, SERIES)
        n_origins = len(default_origins(data, every=EVERY, horizon=HORIZON))
        print(f"bundled data loaded in {time.perf_counter() - t0:.1f} s")
        print(f"{SERIES}: {n_origins} weekly origins, horizon {HORIZON}, {N_PATHS} paths")
        if args.ablation:
            run_ablation(data)
            return

        base = configs(with_prophet=False)
        print(f"models: {', '.join(c.key for c in base)} (+ climatology reference)")
        # warm-up: imports and first calls (statsmodels, Stan) are not backtest time
        warm = default_origins(data, every=EVERY, horizon=HORIZON)[:1]
        run_backtest(
            data,
            configs(with_prophet=not args.no_prophet),
            origins=warm,
            horizon=HORIZON,
            n_samples=N_PATHS,
        )
        wall_serial, res = timed_backtest(data, base, SerialExecutor())
        print(f"serial: {wall_serial:.1f} s")
        for key, secs in sorted(fit_seconds(res).items(), key=lambda kv: -kv[1]):
            print(f"  {key:12s} {secs:6.2f} s")

        t0 = time.perf_counter()
        with DaskExecutor(workers=args.workers, local_directory=work / "dask") as ex:
            start_up = time.perf_counter() - t0
            timed_backtest(data, base, ex)  # warm-up: imports in the workers
            wall_dask, res_dask = timed_backtest(data, base, ex)
        same = res.per_origin.equals(res_dask.per_origin)
        print(
            f"dask ({args.workers} workers): {wall_dask:.1f} s after a {start_up:.1f} s "
            f"cluster start and one warm-up run; speed-up {wall_serial / wall_dask:.2f}x; "
            f"same scores as serial: {same}"
        )

        if not args.no_prophet:
            full = configs(with_prophet=True)
            wall_p, res_p = timed_backtest(data, full, SerialExecutor())
            secs = fit_seconds(res_p)
            share = secs.get(PROPHET, 0.0) / sum(secs.values())
            print(
                f"with prophet, serial: {wall_p:.1f} s; prophet {secs.get(PROPHET, 0.0):.1f} s "
                f"= {share:.0%} of the fit time of that run"
            )

    n = args.generated
    print(f"generated: {n} synthetic daily series of {GENERATED_DAYS} days, same models")
    if not args.no_serial_generated:
        print(" serial:")
        run_generated(n, base, SerialExecutor())
    with (
        tempfile.TemporaryDirectory(prefix="cadence-bench-dask-") as tmp,
        DaskExecutor(workers=args.workers, local_directory=tmp) as ex,
    ):
        print(f" dask ({args.workers} workers):")
        run_generated(n, base, ex)


if __name__ == "__main__":
    main()
