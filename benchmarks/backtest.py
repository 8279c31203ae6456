"""Wall time of rolling-origin backtests: serial against Dask, Prophet's share, many series.

    python benchmarks/backtest.py                       # bundled series + 20 generated
    python benchmarks/backtest.py --generated 1000      # the 1,000-series run
    python benchmarks/backtest.py --generated 20 --sample 4 --workers 4
    python benchmarks/backtest.py --ablation            # only the driver ablation

1. Loads the bundled data into a temporary SQLite database.
2. Backtests ``israel-alerts`` (weekly origins, horizon 28, 1,000 paths) with every
   registered model but Prophet (the ensemble included): serially, then on a Dask
   LocalCluster of ``--workers`` single-threaded worker processes (cluster start-up
   timed apart).
3. The same backtest with Prophet added, serially: Prophet's share of the fit time.
4. The same backtest (models, weekly origins, horizon 28) over ``--generated``
   synthetic daily series as long as ``israel-alerts`` (negative-binomial counts with
   a self-exciting term; every row generated here, none is real), ``--chunk`` series
   per Dask task, on Dask without Prophet. Then the first ``--sample`` of them
   serially, without and with Prophet: the Dask speed-up and Prophet's share, which is
   extrapolated to all the series and labelled so (Prophet on every series would
   take hours on two cores).

``--ablation`` instead backtests NB GLM, INGARCH and Hawkes on ``israel-alerts`` with and
without the ``ret_``/``stm_`` driver columns (keeping ``cal_``), and prints their CRPS.

BLAS runs single-threaded: one process per core is how backtests run in parallel.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cadence.columns import (  # noqa: E402
    COUNT,
    DATE,
    END,
    KIND,
    PREFIX_CALENDAR,
    SOURCE,
    STANCE,
    START,
    TARGET,
)
from cadence.columns import SERIES as SERIES_COL  # noqa: E402
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
from cadence.models.lookup import available_models  # noqa: E402
from cadence.service.bundled import load_bundled  # noqa: E402
from cadence.service.settings import Settings  # noqa: E402
from cadence.store import migrate  # noqa: E402
from cadence.store.engine import make_engine  # noqa: E402

SERIES = "israel-alerts"
HORIZON = 28
EVERY = "7D"
N_PATHS = 1000
PROPHET = "prophet"


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


def generated_series(seed: int, days: int) -> SeriesData:
    """A synthetic daily count series of ``days`` days; every number is drawn here, none
    is real. Counts are negative binomial (size 1..10) around a mean that is a
    background level (log-uniform 2..200 a day, a weekly pattern, a slow wave, raised for
    a few days after each retaliation) plus a self-exciting term: every count raises the
    following days' mean, decaying geometrically, with a branching ratio below 1.
    Retaliations come about every 3 weeks, statements about every 10 days. Stored like
    ``israel-alerts``: daily observations plus retaliation events and statements."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    t = np.arange(days)
    level = float(np.exp(rng.uniform(np.log(2.0), np.log(200.0))))
    weekly = 1 + 0.3 * np.sin(2 * np.pi * t / 7 + rng.uniform(0, 2 * np.pi))
    wave = 1 + 0.5 * np.sin(t / rng.uniform(10, 40))
    retaliation = rng.random(days) < 1 / 21
    branching, decay, size = rng.uniform(0.2, 0.7), rng.uniform(0.3, 0.8), rng.uniform(1, 10)
    counts = np.zeros(days, dtype=np.int64)
    after_ret = 0.0
    excitation = level / (1 - decay)  # the stationary value of the decayed past counts
    for i in range(days):
        if i:
            after_ret = 0.7 * after_ret + float(retaliation[i - 1])
            excitation = decay * excitation + counts[i - 1]
        base = level * weekly[i] * wave[i] * (1 + 0.5 * after_ret)
        mean = (1 - branching) * base + branching * (1 - decay) * excitation
        counts[i] = rng.negative_binomial(size, size / (size + mean))
    name = f"generated-{seed}"
    start = dates.astype("datetime64[s]")
    observations = pd.DataFrame(
        {
            SERIES_COL: name,
            START: start,
            END: start + pd.Timedelta(days=1),
            COUNT: counts,
            SOURCE: "synthetic",
        }
    )
    ret_days = dates[retaliation].astype("datetime64[s]")
    events = pd.DataFrame(
        {
            DATE: ret_days,
            KIND: "retaliation",
            TARGET: "synthetic target",
            SOURCE: "synthetic",
            "fatalities": rng.poisson(2.0, size=len(ret_days)).astype(float),
        }
    )
    st_days = dates[rng.random(days) < 1 / 10].astype("datetime64[s]")
    statements = pd.DataFrame(
        {
            DATE: st_days,
            STANCE: rng.choice(["escalation", "neutral", "de-escalation"], size=len(st_days)),
            SOURCE: "synthetic",
        }
    )
    spec = SeriesSpec.from_dict(
        {
            "name": name,
            "frequency": "D",
            "target": {"observations": True},
            "drivers": {"retaliation": {"kind": "retaliation"}, "statements": {}},
        }
    )
    return SeriesData(spec, events, statements, observations)


@dataclass
class Tally:
    """A run over generated series: series done, failed (model, origin) fits, the
    summed wall and CPU seconds of the series' backtests (CPU: of the process that ran
    them, so other load on the machine does not count) and fit seconds per model."""

    series: int = 0
    failures: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    fits: dict[str, float] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.series += other.series
        self.failures += other.failures
        self.seconds += other.seconds
        self.cpu += other.cpu
        for key, secs in other.fits.items():
            self.fits[key] = self.fits.get(key, 0.0) + secs


def backtest_generated(
    _shared: object, seeds: Sequence[int], days: int, cfgs: Sequence[ModelConfig]
) -> Tally:
    """One task: generate and backtest each series of ``seeds`` in turn, in this
    process (several series per task keep scheduling out of the figures)."""
    out = Tally()
    for s in seeds:
        t0, c0 = time.perf_counter(), time.process_time()
        data = generated_series(s, days)
        origins = default_origins(data, every=EVERY, horizon=HORIZON)
        r = run_backtest(data, cfgs, origins=origins, horizon=HORIZON, n_samples=N_PATHS)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        out.add(Tally(1, len(r.failures), wall, cpu, fit_seconds(r)))
    return out


def run_generated(
    seeds: Sequence[int],
    days: int,
    cfgs: Sequence[ModelConfig],
    executor: Executor,
    chunk: int,
    *,
    progress: bool = False,
) -> tuple[float, Tally]:
    """Wall seconds and tally of backtesting ``seeds`` in tasks of ``chunk`` series;
    ``progress`` prints a line at every tenth of the series."""
    tasks = [(list(seeds[i : i + chunk]), days, cfgs) for i in range(0, len(seeds), chunk)]
    start = time.perf_counter()
    total = Tally()
    step = max(1, len(seeds) // 10)
    for part in executor.run(backtest_generated, None, tasks):
        before = total.series
        total.add(part)
        if progress and total.series // step > before // step:
            elapsed = time.perf_counter() - start
            print(f"    {total.series}/{len(seeds)} series after {elapsed:.0f} s", flush=True)
    return time.perf_counter() - start, total


def report_generated(label: str, wall: float, t: Tally, workers: int) -> None:
    n = max(t.series, 1)
    print(
        f"  {label}: {t.series} series, {t.failures} failed fits, {wall:.1f} s wall "
        f"({wall / n:.2f} s/series; workers busy {t.seconds / (wall * workers):.0%} of the "
        f"time, on the CPU {t.cpu / t.seconds:.0%} of that)"
    )
    print(
        f"    CPU {t.cpu / n:.2f} s/series: on {workers} otherwise idle core(s) the run would "
        f"take about {t.cpu / workers / 60:.1f} min (estimate, not measured)"
    )
    fit_total = sum(t.fits.values()) or 1.0
    shares = ", ".join(
        f"{k} {v / fit_total:.0%}" for k, v in sorted(t.fits.items(), key=lambda kv: -kv[1])
    )
    print(f"    fit time by model: {shares}")


def run_generated_section(args: argparse.Namespace, days: int) -> None:
    """The backtest over ``args.generated`` synthetic series on Dask, then serially on a
    sample without and with Prophet (Prophet's share is extrapolated from that sample)."""
    n, workers = args.generated, args.workers
    base = configs(with_prophet=False)
    seeds = list(range(n))
    print(
        f"generated: {n} synthetic daily series of {days} days (the length of {SERIES}; "
        "every count drawn by code, none real), same models, origins and horizon"
    )
    with (
        tempfile.TemporaryDirectory(prefix="cadence-bench-dask-") as tmp,
        DaskExecutor(workers=workers, local_directory=tmp) as ex,
    ):
        # warm-up: imports and first calls (numba compiles the scoring functions) in
        # every worker are not backtest time
        ex.client.gather(
            [
                ex.client.submit(backtest_generated, None, [0], days, base, workers=[w], pure=False)
                for w in ex.client.scheduler_info(n_workers=-1)["workers"]
            ]
        )
        # a few tasks per worker at least, so that small runs spread too
        chunk = max(1, min(args.chunk, n // (4 * workers)))
        wall, tally = run_generated(seeds, days, base, ex, chunk, progress=True)
    report_generated(f"dask ({workers} workers, {chunk} series a task)", wall, tally, workers)
    if n != 1000:
        print(f"    1,000 series at this rate: {1000 * wall / n / 60:.1f} min")
    k = min(args.sample, n)
    if k == 0:
        return
    sample = seeds[:k]
    wall_s, tally_s = run_generated(sample, days, base, SerialExecutor(), k)
    report_generated(f"serial, the first {k} of them", wall_s, tally_s, 1)
    print(f"    dask speed-up over serial: {(wall_s / k) / (wall / n):.2f}x")
    if args.no_prophet:
        return
    full = configs(with_prophet=True)
    wall_p, tally_p = run_generated(sample, days, full, SerialExecutor(), k)
    report_generated(f"serial with prophet, the same {k}", wall_p, tally_p, 1)
    prophet = tally_p.fits.get(PROPHET, 0.0)
    ratio = wall_p / wall_s
    print(
        f"    prophet: {prophet / k:.2f} s/series = {prophet / wall_p:.0%} of the wall time "
        f"of that run; adding it multiplies the wall time by {ratio:.2f}"
    )
    print(
        f"  extrapolated from those {k} series (not measured): {n} series with prophet on "
        f"dask ({workers} workers) ~ {wall * ratio / 60:.1f} min, "
        f"prophet ~ {1 - 1 / ratio:.0%} of it"
    )


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
    p.add_argument("--generated", type=int, default=20, help="generated series (default 20)")
    p.add_argument("--chunk", type=int, default=5, help="generated series per Dask task")
    p.add_argument(
        "--sample", type=int, default=10, help="generated series also run serially (default 10)"
    )
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
        days = len(data.full_panel.frame)
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
        print(f"serial: {wall_serial:.1f} s (wall time of the whole backtest, scoring included)")
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
            by_model = fit_seconds(res_p)
            prophet = by_model.get(PROPHET, 0.0)
            print(
                f"with prophet, serial: {wall_p:.1f} s; prophet {prophet:.1f} s "
                f"= {prophet / sum(by_model.values()):.0%} of the fit time, "
                f"{prophet / wall_p:.0%} of the wall time of that run"
            )

    run_generated_section(args, days)


if __name__ == "__main__":
    main()
