"""Weekly retrain of a family of many series: serial sample against a 2-worker Dask cluster.

    python benchmarks/retrain_many.py                       # 1,000 series, 2 workers
    python benchmarks/retrain_many.py --series 200 --sample 8
    python benchmarks/retrain_many.py --models climatology,negbin_glm,local_level

1. Generates ``--series`` synthetic weekly count series of ``--weeks`` weeks (SYNTHETIC:
   every number is drawn here, none is real; the generator of ``many_series.py``: mean
   0.05 to 60 a week log-uniform, negative-binomial around a weekly autoregression, one
   series in 20 all zero) and ingests them as counts (``cadence ingest counts``) into a
   fresh temporary home (SQLite database, SQLite MLflow store).
2. Retrains ``--sample`` of them serially in this process, in a home of their own, and
   extrapolates to all of them (the figure is labelled EXTRAPOLATED); with ``--second``
   also the next week, as in 4. ``--skip-dask`` stops there.
3. Retrains all of them on a Dask ``LocalCluster`` of ``--workers`` single-threaded
   worker processes (``cadence.jobs.retrain.many``: batches of whole series,
   ``local_level`` batched, one MLflow run per family and model, registry versions only
   for new champions). Cluster start-up is timed apart.
4. With ``--second``, ingests one more week and retrains again: the steady weekly run.
   Most champions stay, so few versions are registered, and the backtest reuses the
   scores the first run stored for (model, origin) pairs whose data did not change
   (``experiments.score_cache``; origins lie on a calendar grid staggered across the
   family, so about one series in ``--every`` gains a new origin to fit each week).
   ``--refit-all`` fits every pair again in the second run, for comparison.

Prints, per run: wall time, the load average of the machine before and after, peak
resident memory (this process; each worker), the wall seconds of each phase and their
shares, the per-series step seconds summed over series (backtest, decide, refit on the
workers; register, serve on the driver) and the outcome statuses. On a machine shared
with other jobs wall time says more about the neighbours than about the code, so each
run also reports the CPU seconds it used (this process and each worker, with the Stan
optimizer processes they started) and ``cpu_bound_wall_seconds``: that total spread
over the ``--workers`` cores, the wall time of the same work on idle cores if the fits
kept every core busy (an ESTIMATE, labelled as such).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from cadence.experiments.executors import DaskExecutor, Executor, SerialExecutor  # noqa: E402
from cadence.jobs.retrain.many import ManyRetrain, retrain_many  # noqa: E402
from cadence.service.candidates import parse_candidates  # noqa: E402
from cadence.store import migrate  # noqa: E402
from cadence.store.engine import make_engine  # noqa: E402
from cadence.store.ingest import ingest_counts  # noqa: E402

FAMILY = "generated-by-region"


def generated_counts(n: int, weeks: int, seed: int) -> np.ndarray:
    """SYNTHETIC counts, shape ``(n, weeks)`` (see the module; ``many_series.py``'s
    generator, one more week drawn at the end for the second run)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, weeks), dtype=np.int64)
    for i in range(n):
        if i % 20 == 7:  # one series in 20 is all zero
            continue
        level = float(np.exp(rng.uniform(np.log(0.05), np.log(60.0))))
        ar, size = rng.uniform(0.0, 0.6), rng.uniform(0.5, 10.0)
        prev = level
        for t in range(weeks):
            mean = (1 - ar) * level + ar * prev
            out[i, t] = rng.negative_binomial(size, size / (size + mean))
            prev = float(out[i, t])
    return out


def names_of(n: int) -> list[str]:
    return [f"{FAMILY}/{i:04d}" for i in range(n)]


def ingest(engine: Engine, names: list[str], counts: np.ndarray, first_week: int) -> None:
    weeks = pd.date_range("2022-01-03", periods=counts.shape[1] + first_week, freq="W-MON")
    days = weeks[first_week:].strftime("%Y-%m-%d")
    frame = pd.DataFrame(
        {
            "series": np.repeat(names, len(days)),
            "date": np.tile(days, len(names)),
            "count": counts.reshape(-1).astype(str),
        }
    )
    ingest_counts(engine, [frame], frequency="W", source="synthetic")


def new_home(names: list[str], counts: np.ndarray) -> tuple[Path, Engine, str]:
    home = Path(tempfile.mkdtemp(prefix="cadence-retrain-many-"))
    engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
    migrate.upgrade(engine)
    ingest(engine, names, counts, 0)
    return home, engine, f"sqlite:///{home / 'mlflow.db'}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and of the child processes it has
    waited for (Prophet's Stan optimizer runs as one)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def add_cpu(row: dict[str, Any], driver: float, workers: dict[str, float], cores: int) -> None:
    """CPU seconds used by a run (``driver`` and ``workers``: seconds used during it)."""
    total = driver + sum(workers.values())
    row["cpu_seconds"] = {
        "driver": round(driver, 1),
        "workers": {w: round(v, 1) for w, v in workers.items()},
        "total": round(total, 1),
        "per_series": round(total / max(1, row["series"]), 3),
    }
    row["ESTIMATE_cpu_bound_wall_seconds"] = round(total / cores, 1)


def report(label: str, run: ManyRetrain, load_before: tuple[float, ...]) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for o in run.outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    total = sum(run.step_seconds.values()) or 1.0
    fit_total = sum(run.fit_seconds.values()) or 1.0
    return {
        "run": label,
        "series": len(run.outcomes),
        "wall_seconds": round(run.seconds, 1),
        "seconds_per_series": round(run.seconds / max(1, len(run.outcomes)), 3),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "phase_seconds": run.step_seconds,
        "phase_shares": {k: round(v / total, 3) for k, v in run.step_seconds.items()},
        "per_series_step_seconds_summed": run.fit_seconds,
        "per_series_step_shares": {k: round(v / fit_total, 3) for k, v in run.fit_seconds.items()},
        "statuses": statuses,
        "backtest_pairs": run.scores,
        "failed": [f"{o.series}: {o.reason}" for o in run.outcomes if o.status == "failed"][:5],
        "driver_peak_rss_mb": round(peak_rss_mb(), 1),
    }


def run_once(
    engine: Engine,
    names: list[str],
    uri: str,
    ex: Executor,
    args: argparse.Namespace,
    reuse: bool = True,
) -> ManyRetrain:
    return retrain_many(
        engine,
        names,
        tracking_uri=uri,
        candidates=parse_candidates(args.models),
        recent_origins=args.origins,
        every=args.every,
        horizon=args.horizon,
        n_samples=args.samples,
        executor=ex,
        reuse_scores=reuse,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--weeks", type=int, default=156)
    ap.add_argument("--sample", type=int, default=10, help="series retrained serially")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--models", default="default")
    ap.add_argument("--horizon", type=int, default=8)
    ap.add_argument("--origins", type=int, default=8)
    ap.add_argument("--every", default="4")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--second", action="store_true", help="ingest a week, retrain again")
    ap.add_argument("--skip-serial", action="store_true")
    ap.add_argument("--skip-dask", action="store_true", help="the serial sample only")
    ap.add_argument("--refit-all", action="store_true", help="second run: reuse no score")
    args = ap.parse_args()
    counts = generated_counts(args.series, args.weeks + 1, args.seed)
    names = names_of(args.series)
    out: list[dict[str, Any]] = []
    print(f"SYNTHETIC data: {args.series} weekly series x {args.weeks} weeks", flush=True)

    if not args.skip_serial:
        k = min(args.sample, args.series)
        _, engine, uri = new_home(names[:k], counts[:k, : args.weeks])
        load, cpu0 = os.getloadavg(), cpu_seconds()
        run = run_once(engine, names[:k], uri, SerialExecutor(), args)
        row = report(f"serial sample of {k}", run, load)
        add_cpu(row, cpu_seconds() - cpu0, {}, 1)
        row["EXTRAPOLATED_serial_seconds_for_all"] = round(run.seconds / k * args.series, 0)
        out.append(row)
        print(json.dumps(row, indent=1), flush=True)
        if args.second:
            ingest(engine, names[:k], counts[:k, args.weeks :], args.weeks)
            load, cpu0 = os.getloadavg(), cpu_seconds()
            run = run_once(engine, names[:k], uri, SerialExecutor(), args, not args.refit_all)
            row = report(f"serial sample of {k}, the next week", run, load)
            add_cpu(row, cpu_seconds() - cpu0, {}, 1)
            row["EXTRAPOLATED_serial_seconds_for_all"] = round(run.seconds / k * args.series, 0)
            out.append(row)
            print(json.dumps(row, indent=1), flush=True)
        engine.dispose()
    if args.skip_dask:
        return

    home, engine, uri = new_home(names, counts[:, : args.weeks])
    t0 = time.perf_counter()
    with DaskExecutor(workers=args.workers, local_directory=home / "dask") as ex:
        startup = time.perf_counter() - t0
        load, cpu0, wcpu0 = os.getloadavg(), cpu_seconds(), ex.client.run(cpu_seconds)
        run = run_once(engine, names, uri, ex, args)
        row = report(f"dask, {args.workers} workers, all {args.series}", run, load)
        used = {w: v - wcpu0.get(w, 0.0) for w, v in ex.client.run(cpu_seconds).items()}
        add_cpu(row, cpu_seconds() - cpu0, used, args.workers)
        row["cluster_startup_seconds"] = round(startup, 1)
        row["worker_peak_rss_mb"] = {w: round(v, 1) for w, v in ex.client.run(peak_rss_mb).items()}
        out.append(row)
        print(json.dumps(row, indent=1), flush=True)
        if args.second:
            ingest(engine, names, counts[:, args.weeks :], args.weeks)
            load, cpu0, wcpu0 = os.getloadavg(), cpu_seconds(), ex.client.run(cpu_seconds)
            run = run_once(engine, names, uri, ex, args, reuse=not args.refit_all)
            row = report("dask, the next week (second retrain)", run, load)
            used = {w: v - wcpu0.get(w, 0.0) for w, v in ex.client.run(cpu_seconds).items()}
            add_cpu(row, cpu_seconds() - cpu0, used, args.workers)
            row["worker_peak_rss_mb"] = {
                w: round(v, 1) for w, v in ex.client.run(peak_rss_mb).items()
            }
            out.append(row)
            print(json.dumps(row, indent=1), flush=True)
    print(f"home: {home}")


if __name__ == "__main__":
    main()
