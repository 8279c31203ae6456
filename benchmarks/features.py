"""Panel build time and peak memory, against the plain-pandas code a user would write.

    python benchmarks/features.py            # both cases (the large one takes a minute)
    python benchmarks/features.py --series 1000 --days 730   # a smaller many-series case

All data is SYNTHETIC, generated here from a fixed seed (Poisson counts with rates drawn
per series; retaliation and statement rows at random days): no real event is used.

Each measurement runs in its own Python process so that its peak resident memory
(``ru_maxrss``) is its own; the table reports wall time of the build only and the
process's peak RSS, with the RSS after generating the input for reference.

Cases:
* 1 series x 3 years daily: ``build_panel`` (every feature group, from event rows) and
  ``build_panels`` (count + calendar features) against plain pandas on one Series;
* N series x 2 years daily (default 10,000): ``build_panels`` against a pandas
  ``groupby`` / ``rolling`` / ``ewm`` equivalent computing the same columns.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from cadence.columns import COUNT, DATE, KIND, SERIES, STANCE
from cadence.features import SeriesSpec, build_panel, build_panels
from cadence.features.periods import PROFILES

BASE = pd.Timestamp("2022-01-03")
SEED = 20231017


def synthetic_counts(n_series: int, n_days: int) -> pd.DataFrame:
    """Long frame ``series, date, count`` of SYNTHETIC Poisson counts."""
    rng = np.random.default_rng(SEED)
    rates = rng.gamma(0.8, 2.0, n_series)
    counts = rng.poisson(rates[None, :], size=(n_days, n_series)).astype(np.float64)
    dates = pd.date_range(BASE, periods=n_days, freq="D")
    names = [f"synthetic-{k:05d}" for k in range(n_series)]
    return pd.DataFrame(
        {
            # categorical: what a user holding millions of rows would use for names
            SERIES: pd.Categorical.from_codes(np.repeat(np.arange(n_series), n_days), names),
            DATE: np.tile(dates.to_numpy(), n_series),
            COUNT: counts.T.ravel(),
        }
    )


def synthetic_rows(n_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC events (attacks + retaliations) and statements for one series."""
    rng = np.random.default_rng(SEED)
    dates = pd.date_range(BASE, periods=n_days, freq="D")
    per_day = rng.poisson(1.5, n_days)
    attacks = pd.DataFrame({DATE: np.repeat(dates.to_numpy(), per_day), KIND: "attack"})
    strike_days = rng.choice(dates.to_numpy(), size=n_days // 20)
    strikes = pd.DataFrame(
        {
            DATE: strike_days,
            KIND: "retaliation",
            "fatalities": rng.poisson(2.0, len(strike_days)).astype(float),
        }
    )
    said_days = rng.choice(dates.to_numpy(), size=n_days // 25)
    statements = pd.DataFrame(
        {
            DATE: said_days,
            STANCE: rng.choice(["escalation", "de-escalation", "neutral"], len(said_days)),
        }
    )
    return pd.concat([attacks, strikes], ignore_index=True), statements


def plain_pandas(long: pd.DataFrame) -> pd.DataFrame:
    """The same count and calendar columns as a user would write them with groupby."""
    prof = PROFILES["D"]
    g = long.groupby(SERIES, sort=False)[COUNT]
    out = pd.DataFrame(index=long.index)
    out[COUNT] = long[COUNT]
    for k in prof.lags:
        out[f"cnt_lag_{k}"] = g.shift(k)
    for w in prof.windows:
        out[f"cnt_sum_{w}d"] = g.rolling(w, min_periods=1).sum().reset_index(level=0, drop=True)
    for h in prof.half_lives:
        out[f"cnt_ewm_{h}d"] = g.ewm(halflife=h).mean().reset_index(level=0, drop=True)
    hit = long[COUNT] > 0
    block = hit.groupby(long[SERIES]).cumsum()
    since = long.groupby([long[SERIES], block]).cumcount()
    seen = block > 0
    out["cnt_since_last"] = since.where(seen, prof.since_cap).clip(upper=prof.since_cap)
    dow = long[DATE].dt.day_name().str[:3].str.lower()
    for name in ("tue", "wed", "thu", "fri", "sat", "sun"):
        out[f"cal_dow_{name}"] = (dow == name).astype(float)
    angle = 2 * np.pi * (long[DATE].dt.day_of_year - 1) / 365.25
    out["cal_year_sin"] = np.sin(angle)
    out["cal_year_cos"] = np.cos(angle)
    return out.set_index([long[SERIES], long[DATE]])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_case(case: str, impl: str, n_series: int, n_days: int) -> dict[str, float]:
    """Run one measurement in this process (called in a child process)."""
    if case == "one" and impl == "build_panel":
        events, statements = synthetic_rows(n_days)
        spec = SeriesSpec.from_dict(
            {
                "name": "synthetic",
                "frequency": "D",
                "target": {"events": {"kind": "attack"}},
                "drivers": {"retaliation": {"kind": "retaliation"}, "statements": {}},
            }
        )
        as_of = BASE + pd.Timedelta(days=n_days - 1)
        before = _rss_mb()
        seconds = _timed(lambda: build_panel(spec, events, statements, None, as_of=as_of))
    else:
        long = synthetic_counts(n_series, n_days)
        before = _rss_mb()
        if impl == "build_panels":
            seconds = _timed(lambda: build_panels(long, "D"))
        elif impl == "build_panels_f32":
            seconds = _timed(lambda: build_panels(long, "D", dtype=np.float32))
        else:
            seconds = _timed(lambda: plain_pandas(long))
    return {"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": _rss_mb()}


def _child(case: str, impl: str, n_series: int, n_days: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", case, impl, str(n_series), str(n_days)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _check_same_values(n_series: int, n_days: int) -> float:
    """Largest absolute difference between build_panels and the plain-pandas columns."""
    long = synthetic_counts(n_series, n_days)
    ours = build_panels(long, "D")
    theirs = plain_pandas(long)[ours.columns]
    return float(np.nanmax(np.abs(ours.to_numpy() - theirs.to_numpy())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000, help="series in the large case")
    parser.add_argument("--days", type=int, default=730, help="days in the large case")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, impl, n, d = args.child
        print(json.dumps(run_case(case, impl, int(n), int(d))))
        return

    print("SYNTHETIC data generated by code (Poisson counts, random driver rows); seed", SEED)
    print(
        f"check: max |build_panels - plain pandas| on 50 x 400 = {_check_same_values(50, 400):.2e}"
    )
    rows = [
        ("1 series x 3 years daily", "one", "build_panel", 1, 1096, "build_panel (all groups)"),
        ("1 series x 3 years daily", "one", "build_panels", 1, 1096, "build_panels (cnt+cal)"),
        ("1 series x 3 years daily", "one", "plain", 1, 1096, "plain pandas (cnt+cal)"),
        (f"{args.series:,} series x {args.days} days", "many", "build_panels", args.series,
         args.days, "build_panels (cnt+cal)"),
        (f"{args.series:,} series x {args.days} days", "many", "build_panels_f32", args.series,
         args.days, "build_panels float32"),
        (f"{args.series:,} series x {args.days} days", "many", "plain", args.series, args.days,
         "plain pandas groupby (cnt+cal)"),
    ]  # fmt: skip
    header = (
        f"{'case':<28} {'implementation':<32} {'build s':>9} {'peak RSS MB':>12} {'RSS before':>11}"
    )
    print(header)
    print("-" * len(header))
    results: dict[tuple[str, str], dict[str, float]] = {}
    for label, case, impl, n, d, name in rows:
        r = _child(case, impl, n, d)
        results[(case, impl)] = r
        print(
            f"{label:<28} {name:<32} {r['seconds']:>9.3f} {r['peak_rss_mb']:>12.0f} "
            f"{r['rss_before_mb']:>11.0f}"
        )
    for case in ("one", "many"):
        ratio = results[(case, "plain")]["seconds"] / results[(case, "build_panels")]["seconds"]
        print(f"{case:>4}: plain pandas / build_panels time ratio = {ratio:.1f}x")
    big = results[("many", "build_panels")]
    ok = big["seconds"] < 60 and big["peak_rss_mb"] < 4096
    print(f"target (under 60 s and 4 GB for the large case): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
