"""local_level's forecast variance scale: fixed 1 and 2 against ``"auto"`` (chosen on each
fit's own history), on the rolling origins ``cadence backtest`` uses.

    python benchmarks/level_scale.py                      # israel-alerts, horizon 28
    python benchmarks/level_scale.py --horizon 7 --series us-forces-attacks-sampled

Loads the bundled data into a temporary SQLite database, backtests the three
configurations on the default weekly origins and prints daily CRPS and 80% coverage, then
CRPS and 80% coverage of 7-, 14- and 28-day totals, and the scale ``"auto"`` chose at
each origin. Prints; asserts nothing.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from cadence.experiments.backtest import ModelConfig, default_origins, run_backtest  # noqa: E402
from cadence.experiments.data import load_series_data  # noqa: E402
from cadence.models.local_level import LocalLevel  # noqa: E402
from cadence.service.bundled import load_bundled  # noqa: E402
from cadence.service.settings import Settings  # noqa: E402
from cadence.store import migrate  # noqa: E402
from cadence.store.engine import make_engine  # noqa: E402

CONFIGS = (
    ModelConfig("local_level", {"level_var_scale": 1.0}, alias="scale 1"),
    ModelConfig("local_level", {"level_var_scale": 2.0}, alias="scale 2 (default)"),
    ModelConfig("local_level", {"level_var_scale": "auto"}, alias="scale auto"),
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", default="israel-alerts")
    p.add_argument("--horizon", type=int, default=28)
    p.add_argument("--every", default="7D")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="cadence-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'cadence.db'}")
        migrate.upgrade(engine)
        load_bundled(engine, Settings().data_dir, Path(tmp))
        data = load_series_data(engine, args.series)
        origins = default_origins(data, every=args.every, horizon=args.horizon)
        res = run_backtest(data, list(CONFIGS), origins=origins, horizon=args.horizon)
    print(
        f"{args.series}: {len(origins)} origins {origins[0].date()} .. {origins[-1].date()}, "
        f"horizon {args.horizon}"
    )
    views = {"day": res.scores}
    views.update({f"{d}d": df for d, df in sorted(res.total_scores.items())})
    header = f"{'model':20s}" + "".join(f"{v + ' CRPS':>11s}{v + ' cov80':>11s}" for v in views)
    print(header)
    for key in res.models:
        cells = []
        for df in views.values():
            row = df[(df["model"] == key) & (df["horizon"].astype(str) == "all")]
            cells += [float(row["crps"].iloc[0]), float(row["coverage_80"].iloc[0])]
        print(f"{key:20s}" + "".join(f"{c:11.3f}" for c in cells))
    chosen = {
        f.origin.date(): f.forecast.meta.get("level_var_scale")
        for f in res.forecasts
        if f.model == "scale auto" and f.forecast is not None
    }
    print("scale chosen by 'auto' per origin:", pd.Series(chosen).value_counts().to_dict())
    print(f"(LocalLevel default: {LocalLevel().level_var_scale})")


if __name__ == "__main__":
    main()
