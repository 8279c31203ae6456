"""Backtests of a family of many weekly series: serial against a 2-worker Dask cluster.

    python benchmarks/many_series.py                    # 1,000 series, 2 workers
    python benchmarks/many_series.py --series 50 --workers 2
    python benchmarks/many_series.py --hierarchy 40     # only the reconciliation section

1. Generates ``--series`` synthetic weekly count series (every number is drawn here,
   none is real): ``--weeks`` weeks each, mixed intensities (mean 0.05 to 60 a week,
   log-uniform), negative-binomial noise around a mean that follows its own recent
   counts (a weekly autoregression), and one series in 20 all zero.
2. Builds the ``cnt_``/``cal_`` features of all of them in one vectorized call
   (``features.build_panels``) and times it.
3. Backtests them with Climatology, NegBinGLM and INGARCH (``--horizon`` weeks ahead,
   origins every ``--every`` weeks over the last ``--window`` weeks, ``--samples`` paths)
   serially in this process, then on a Dask ``LocalCluster`` of ``--workers``
   single-threaded worker processes, in batches of whole series
   (``cadence.experiments.many.backtest``); cluster start-up is timed apart.
4. Prints wall time, CPU time, peak resident memory (this process; each Dask worker),
   the summary (share of series beating Climatology, mean skill) and whether the Dask
   result equals the serial one (every series' scores, the JSON shape compared whole).

``--hierarchy P`` instead generates ``P`` synthetic countries of ``--regions`` regions
each (regional means share a country-wide factor that wanders week to week, so regions
move together), backtests every country and region with the same models and origins,
and compares each country's own forecasts with the bottom-up sum of its regions'
(``cadence.experiments.hierarchy``): mean CRPS both ways, 80% coverage, and the share of
countries where reconciling improves the CRPS.

BLAS runs single-threaded: one process per core is how backtests run in parallel.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cadence.columns import COUNT, DATE, END, SOURCE, START  # noqa: E402
from cadence.columns import SERIES as SERIES_COL  # noqa: E402
from cadence.experiments.backtest import ModelConfig  # noqa: E402
from cadence.experiments.data import SeriesData, shift_periods  # noqa: E402
from cadence.experiments.executors import DaskExecutor  # noqa: E402
from cadence.experiments.hierarchy import compare_bottom_up  # noqa: E402
from cadence.experiments.many.backtest import ManyResult, ManySettings, run_many  # noqa: E402
from cadence.features import SeriesSpec  # noqa: E402
from cadence.features.many import build_panels  # noqa: E402

FAMILY = "generated-by-region"
MODELS = ("climatology", "negbin_glm", "ingarch")


def generated_family(n: int, weeks: int, seed: int) -> dict[str, SeriesData]:
    """``n`` synthetic weekly series ``generated-by-region/<i>`` (see the module)."""
    rng = np.random.default_rng(seed)
    starts = pd.date_range("2022-01-03", periods=weeks, freq="W-MON").astype("datetime64[s]")
    ends = starts + pd.Timedelta(days=7)
    no_events = pd.DataFrame({DATE: pd.Series([], dtype="datetime64[s]")})
    no_statements = pd.DataFrame({DATE: pd.Series([], dtype="datetime64[s]")})
    out: dict[str, SeriesData] = {}
    for i in range(n):
        name = f"{FAMILY}/{i:04d}"
        counts = np.zeros(weeks, dtype=np.int64)
        if i % 20 != 7:  # one series in 20 is all zero
            level = float(np.exp(rng.uniform(np.log(0.05), np.log(60.0))))
            ar, size = rng.uniform(0.0, 0.6), rng.uniform(0.5, 10.0)
            prev = level
            for t in range(weeks):
                mean = (1 - ar) * level + ar * prev
                counts[t] = rng.negative_binomial(size, size / (size + mean))
                prev = float(counts[t])
        observations = pd.DataFrame(
            {SERIES_COL: name, START: starts, END: ends, COUNT: counts, SOURCE: "synthetic"}
        )
        spec = SeriesSpec.from_dict(
            {"name": name, "frequency": "W", "target": {"observations": True}}
        )
        out[name] = SeriesData(spec, no_events, no_statements, observations)
    return out


def _weekly(name: str, counts: np.ndarray) -> SeriesData:
    starts = pd.date_range("2022-01-03", periods=len(counts), freq="W-MON").astype("datetime64[s]")
    obs = pd.DataFrame(
        {
            SERIES_COL: name,
            START: starts,
            END: starts + pd.Timedelta(days=7),
            COUNT: counts,
            SOURCE: "synthetic",
        }
    )
    spec = SeriesSpec.from_dict({"name": name, "frequency": "W", "target": {"observations": True}})
    empty = pd.DataFrame({DATE: pd.Series([], dtype="datetime64[s]")})
    return SeriesData(spec, empty, empty, obs)


def generated_hierarchy(
    countries: int, regions: int, weeks: int, seed: int
) -> dict[str, tuple[SeriesData, list[SeriesData]]]:
    """Synthetic countries and their regions (see the module); a country's counts are
    exactly the sum of its regions'. Every number is drawn here, none is real."""
    rng = np.random.default_rng(seed)
    out: dict[str, tuple[SeriesData, list[SeriesData]]] = {}
    for c in range(countries):
        log_factor = np.cumsum(rng.normal(0.0, 0.15, weeks))
        factor = np.exp(log_factor - log_factor.mean())
        kids = []
        for _ in range(regions):
            level = float(np.exp(rng.uniform(np.log(0.2), np.log(20.0))))
            size = rng.uniform(1.0, 10.0)
            mean = level * factor
            kids.append(rng.negative_binomial(size, size / (size + mean)))
        name = f"generated-country-{c:03d}"
        children = [_weekly(f"{name}/region-{k}", x) for k, x in enumerate(kids)]
        out[name] = (_weekly(name, np.sum(kids, axis=0)), children)
    return out


def run_hierarchy(args: argparse.Namespace) -> None:
    tree = generated_hierarchy(args.hierarchy, args.regions, args.weeks, args.seed)
    datas = {d.spec.name: d for parent, kids in tree.values() for d in (parent, *kids)}
    last = next(iter(datas.values())).last_period
    settings = ManySettings(
        configs=tuple(ModelConfig(m) for m in MODELS),
        horizon=args.horizon,
        every=args.every,
        start=shift_periods(last, -args.window, "W"),
        n_samples=args.samples,
        seed=args.seed,
        keep_forecasts=True,
    )
    t0 = time.perf_counter()
    result = run_many(datas, settings)
    print(
        f"hierarchy: {args.hierarchy} synthetic countries x {args.regions} regions, "
        f"{len(result.results)} series backtested in {time.perf_counter() - t0:.0f} s "
        f"({len(result.failed)} failed)"
    )
    by_name = {r.series: r for r in result.results}
    tables = []
    for name, (_, kids) in tree.items():
        parent = by_name.get(name)
        children = [by_name.get(k.spec.name) for k in kids]
        if parent is None or any(c is None for c in children):
            continue
        t = compare_bottom_up(parent, [c for c in children if c is not None], seed=args.seed)
        tables.append(t.assign(country=name))
    table = pd.concat(tables, ignore_index=True)
    for model, g in table.groupby("model", sort=False):
        better = float((g["crps_bottom_up"] < g["crps_own"]).mean())
        print(
            f"  {model}: country CRPS own {g['crps_own'].mean():.3f} vs bottom-up "
            f"{g['crps_bottom_up'].mean():.3f}; 80% coverage {g['coverage_80_own'].mean():.2f} "
            f"vs {g['coverage_80_bottom_up'].mean():.2f}; bottom-up better on {better:.0%} "
            f"of {len(g)} countries"
        )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def report(label: str, result: ManyResult, wall: float) -> None:
    ok = len(result.results)
    fits = sum(len(r.origins) * len(r.models) for r in result.results)
    failed_fits = sum(len(r.failures) for r in result.results)
    print(
        f"{label}: {wall:.1f} s wall for {ok} series ({len(result.failed)} failed), "
        f"{fits} fits ({failed_fits} failed), {1000 * wall / max(1, ok):.0f} ms a series"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--series", type=int, default=1000)
    p.add_argument("--weeks", type=int, default=156, help="weeks per series (3 years)")
    p.add_argument("--horizon", type=int, default=8)
    p.add_argument("--every", type=int, default=4, help="weeks between origins")
    p.add_argument("--window", type=int, default=26, help="weeks holding the origins")
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-serial", action="store_true", help="only the Dask run")
    p.add_argument("--json", type=str, default=None, help="write the serial summary here")
    p.add_argument("--hierarchy", type=int, default=0, help="only: P countries, reconciled")
    p.add_argument("--regions", type=int, default=5, help="regions per country")
    args = p.parse_args()
    if args.hierarchy:
        run_hierarchy(args)
        return

    t0 = time.perf_counter()
    datas = generated_family(args.series, args.weeks, args.seed)
    print(
        f"generated {len(datas)} synthetic weekly series of {args.weeks} weeks "
        f"in {time.perf_counter() - t0:.1f} s (none of it real)"
    )
    long = pd.concat(
        [
            d.observations[[SERIES_COL, START, COUNT]].rename(columns={START: DATE})
            for d in datas.values()
            if d.observations is not None
        ],
        ignore_index=True,
    )
    t0 = time.perf_counter()
    panels = build_panels(long, "W")
    print(
        f"features of all series in one call (build_panels): {panels.shape[0]:,} rows x "
        f"{panels.shape[1]} columns in {time.perf_counter() - t0:.2f} s"
    )
    del panels, long

    any_data = next(iter(datas.values()))
    last = any_data.last_period
    start = shift_periods(last, -args.window, "W")
    settings = ManySettings(
        configs=tuple(ModelConfig(m) for m in MODELS),
        horizon=args.horizon,
        every=args.every,
        start=start,
        n_samples=args.samples,
        seed=args.seed,
    )
    print(
        f"models {', '.join(MODELS)}; horizon {args.horizon} weeks, origins every "
        f"{args.every} weeks from {start:%Y-%m-%d}, {args.samples} paths"
    )

    serial: ManyResult | None = None
    if not args.skip_serial:
        rss0, cpu0 = peak_rss_mb(), cpu_seconds()
        t0 = time.perf_counter()
        serial = run_many(datas, settings)
        wall = time.perf_counter() - t0
        report("serial", serial, wall)
        print(
            f"  cpu {cpu_seconds() - cpu0:.1f} s; peak RSS of this process {peak_rss_mb():.0f} MB "
            f"(before the run {rss0:.0f} MB)"
        )
        summary = serial.summary()
        for model, s in summary["models"].items():
            print(
                f"  {model}: beats climatology on {s['share_beating_climatology']:.1%} of "
                f"{s['n_series']} series, mean skill {s['mean_skill']:+.3f}, "
                f"median {s['median_skill']:+.3f}"
            )
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(summary, fh, indent=2)

    t0 = time.perf_counter()
    with DaskExecutor(workers=args.workers) as ex:
        started = time.perf_counter() - t0
        t0 = time.perf_counter()
        dask = run_many(datas, settings, executor=ex)
        wall = time.perf_counter() - t0
        worker_rss = ex.client.run(peak_rss_mb)
    report(
        f"dask LocalCluster, {args.workers} workers (start-up {started:.1f} s apart)", dask, wall
    )
    print(
        "  peak RSS per worker: "
        + ", ".join(f"{v:.0f} MB" for v in worker_rss.values())
        + f"; this process {peak_rss_mb():.0f} MB"
    )
    if serial is not None:
        same = dask.to_json() == serial.to_json()
        print(f"dask result == serial result: {same}")


if __name__ == "__main__":
    main()
