"""Fit + 28-day forecast time of every count-model family against Prophet.

    python benchmarks/models.py            # 5 repeats per family, 1,000 series throughput
    python benchmarks/models.py --quick    # 2 repeats, 50 series

Prints, per family, the median time to fit a two-year daily synthetic series (retaliation,
statement and calendar columns) and draw 1,000 paths of 28 days, its ratio to Prophet's
time on the same series, and the throughput over many distinct synthetic series in one
process (families slower than the time budget are measured on fewer series and
extrapolated, which the table says). BLAS runs single-threaded (one process per core is
how many series are fitted at once; BLAS threads only add hand-off costs on these small
matrices). All data are synthetic.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from cadence.models import available_models, make_model  # noqa: E402
from cadence.models.errors import ModelUnavailableError, ShortHistoryWarning  # noqa: E402
from cadence.models.simulate import SyntheticCase, synthetic_case  # noqa: E402

HORIZON = 28
N_PATHS = 1000
PEER = "prophet"


def run_once(name: str, case: SyntheticCase, seed: int) -> tuple[float, float]:
    """Seconds to fit ``name`` on the case, and to draw the forecast paths."""
    start = time.perf_counter()
    model = make_model(name).fit(case.panel)
    fitted = time.perf_counter()
    model.forecast(HORIZON, future=case.future, n_samples=N_PATHS, rng=np.random.default_rng(seed))
    return fitted - start, time.perf_counter() - fitted


def median_times(fn: Callable[[], tuple[float, float]], repeats: int) -> tuple[float, float]:
    """Median fit and forecast seconds over ``repeats`` runs after one warm-up run."""
    fn()  # warm-up: imports, first Stan call, caches
    runs = [fn() for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def throughput(name: str, cases: list[SyntheticCase], budget: float) -> tuple[float, int]:
    """Series per second over ``cases``, stopping early once ``budget`` seconds pass."""
    start = time.perf_counter()
    done = 0
    for i, case in enumerate(cases):
        run_once(name, case, i)
        done += 1
        if time.perf_counter() - start > budget:
            break
    return done / (time.perf_counter() - start), done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats, 50 series")
    parser.add_argument("--series", type=int, default=None, help="series for throughput")
    parser.add_argument(
        "--budget", type=float, default=None, help="max seconds per family for throughput"
    )
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    n_series = args.series or (50 if args.quick else 1000)
    budget = args.budget or (10.0 if args.quick else 60.0)

    case = synthetic_case(730, freq="D", horizon=HORIZON, rng=np.random.default_rng(0))
    names = []
    for name in available_models():
        try:
            make_model(name)
        except ModelUnavailableError as exc:
            print(f"skip {name}: {exc}")
            continue
        names.append(name)

    warnings.simplefilter("ignore", ShortHistoryWarning)
    print(
        f"fit + {HORIZON}-period forecast ({N_PATHS} paths), 730-day synthetic daily series, "
        f"median of {repeats}"
    )
    split = {n: median_times(lambda n=n: run_once(n, case, 0), repeats) for n in names}
    times = {n: fit + fc for n, (fit, fc) in split.items()}
    peer = times.get(PEER)
    print(f"{'family':<14}{'fit ms':>9}{'forecast ms':>13}{'total ms':>10}{'prophet/model':>15}")
    for name in names:
        ratio = f"{peer / times[name]:.1f}x" if peer else "n/a"
        fit, fc = split[name]
        print(f"{name:<14}{1e3 * fit:>9.1f}{1e3 * fc:>13.1f}{1e3 * times[name]:>10.1f}{ratio:>15}")
    if peer and "negbin_glm" in times:
        r = peer / times["negbin_glm"]
        print(f"negbin_glm vs prophet: {r:.1f}x (target >= 50x: {'met' if r >= 50 else 'not met'})")

    print(f"\nthroughput over {n_series} distinct synthetic series (budget {budget:.0f} s/family)")
    cases = [
        synthetic_case(730, freq="D", horizon=HORIZON, rng=np.random.default_rng(1000 + i))
        for i in range(n_series)
    ]
    print(f"{'family':<14}{'series/s':>10}{'measured on':>13}{'1,000 series':>15}")
    for name in names:
        rate, done = throughput(name, cases, budget)
        note = "" if done == n_series else " (extrapolated)"
        print(f"{name:<14}{rate:>10.1f}{done:>13}{1000 / rate:>13.1f} s{note}")


if __name__ == "__main__":
    main()
