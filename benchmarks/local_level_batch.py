"""Batched local-level fit + 28-day forecast of many series against one model per series.

    python benchmarks/local_level_batch.py                 # 1,000 daily series x 730 days
    python benchmarks/local_level_batch.py --series 200 --days 365 --sample 50

Every series is synthetic, drawn here (a log random walk with NB2 counts; none is real).
1. ``cadence.models.local_level.forecast_many``: one vectorised fit of all the series
   and 1,000 paths x 28 days each (wall time, peak RSS of this process).
2. The same model one series at a time (``LocalLevel().fit(...).forecast(...)``) on the
   first ``--sample`` series, extrapolated to all of them (labelled so).
3. With statsforecast installed (``make bench-setup``): AutoETS on the same sample, the
   peer a user would loop over, extrapolated likewise.
Prints the figures and the ratios. BLAS runs single-threaded.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cadence.columns import COUNT  # noqa: E402
from cadence.models.local_level import LocalLevel, forecast_many  # noqa: E402

HORIZON = 28
N_PATHS = 1000


def generated(n_series: int, days: int, seed: int) -> np.ndarray:
    """Synthetic counts, shape (series, days): log random walks (sd 0.05-0.2 a day) from
    levels of 1-50 a day, NB2 counts of size 1-10."""
    rng = np.random.default_rng(seed)
    sd = rng.uniform(0.05, 0.2, (n_series, 1))
    x = np.log(rng.uniform(1, 50, (n_series, 1))) + np.cumsum(
        rng.normal(-(sd**2) / 2, sd, (n_series, days)), axis=1
    )
    x = np.minimum(x, np.log(500.0))
    size = rng.uniform(1, 10, (n_series, 1))
    return rng.poisson(rng.gamma(size, np.exp(x) / size)).astype(float)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def one_by_one(counts: np.ndarray) -> float:
    idx = pd.date_range("2022-01-01", periods=counts.shape[1], freq="D")
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for row in counts:
        panel = pd.DataFrame({COUNT: row}, index=idx)
        LocalLevel().fit(panel).forecast(HORIZON, n_samples=N_PATHS, rng=rng)
    return time.perf_counter() - t0


def statsforecast_ets(counts: np.ndarray) -> float | None:
    try:
        from statsforecast.models import AutoETS
    except ImportError:
        return None
    t0 = time.perf_counter()
    for row in counts:
        AutoETS(season_length=7).forecast(y=row, h=HORIZON, level=[80])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--sample", type=int, default=50, help="series fitted one at a time")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    counts = generated(args.series, args.days, args.seed)
    print(
        f"{args.series} synthetic daily series x {args.days} days, horizon {HORIZON}, "
        f"{N_PATHS} paths; load average {os.getloadavg()[0]:.1f}"
    )
    t0 = time.perf_counter()
    samples, _ = forecast_many(counts, HORIZON, n_samples=N_PATHS, rng=np.random.default_rng(2))
    batch = time.perf_counter() - t0
    print(
        f"batched forecast_many: {batch:.2f} s ({samples.shape}), peak RSS {peak_rss_mb():.0f} MB"
    )
    k = min(args.sample, args.series)
    single = one_by_one(counts[:k]) * args.series / k
    print(
        f"one LocalLevel per series: {single:.1f} s for {args.series} "
        f"(extrapolated from {k}); batched is {single / batch:.1f}x faster"
    )
    ets = statsforecast_ets(counts[:k])
    if ets is None:
        print("statsforecast not installed (make bench-setup): AutoETS peer skipped")
    else:
        ets_all = ets * args.series / k
        print(
            f"statsforecast AutoETS per series: {ets_all:.1f} s for {args.series} "
            f"(extrapolated from {k}; point forecast + one interval, no paths); "
            f"batched local level is {ets_all / batch:.1f}x faster"
        )


if __name__ == "__main__":
    main()
