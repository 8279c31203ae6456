"""Configurations of one model family side by side, on the rolling origins ``cadence
backtest`` uses.

    python benchmarks/variants.py                         # level-scale, israel-alerts, h28
    python benchmarks/variants.py --set regimes --horizon 7 --end 2024-06-23
    python benchmarks/variants.py --horizon 7 --series us-forces-attacks-sampled

Sets (``--set``):

* ``level-scale`` (default): ``local_level``'s forecast variance scale, fixed 1 and 2
  against ``"auto"`` (chosen on each fit's own history); also prints the scale ``"auto"``
  chose at each origin.
* ``regimes``: ``regime_nb`` with 2 regimes (the default), 3 and ``"auto"`` (by BIC),
  and with stickier transitions (50 pseudo-transitions on each stay instead of 20).

Loads the bundled data into a temporary SQLite database, backtests the set (with
Climatology) on the weekly origins from ``--start`` to ``--end`` and prints daily CRPS and
80% coverage, then CRPS and 80% coverage of 7-, 14- and 28-day totals. Prints; asserts
nothing.
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

SETS: dict[str, tuple[ModelConfig, ...]] = {
    "level-scale": (
        ModelConfig("local_level", {"level_var_scale": 1.0}, alias="scale 1"),
        ModelConfig("local_level", {"level_var_scale": 2.0}, alias="scale 2 (default)"),
        ModelConfig("local_level", {"level_var_scale": "auto"}, alias="scale auto"),
    ),
    "regimes": (
        ModelConfig("regime_nb", {}, alias="2 regimes (default)"),
        ModelConfig("regime_nb", {"n_regimes": 3}, alias="3 regimes"),
        ModelConfig("regime_nb", {"n_regimes": "auto"}, alias="auto regimes"),
        ModelConfig("regime_nb", {"stickiness": 50.0}, alias="2, sticky 50"),
        ModelConfig("regime_nb", {"n_regimes": 3, "stickiness": 50.0}, alias="3, sticky 50"),
    ),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", default="israel-alerts")
    p.add_argument("--horizon", type=int, default=28)
    p.add_argument("--every", default="7D")
    p.add_argument("--start", help="first origin, YYYY-MM-DD (default: as cadence backtest)")
    p.add_argument("--end", help="last origin, YYYY-MM-DD")
    p.add_argument("--set", choices=sorted(SETS), default="level-scale", dest="which")
    args = p.parse_args()
    configs = [*SETS[args.which], ModelConfig("climatology")]
    with tempfile.TemporaryDirectory(prefix="cadence-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'cadence.db'}")
        migrate.upgrade(engine)
        load_bundled(engine, Settings().data_dir, Path(tmp))
        data = load_series_data(engine, args.series)
        origins = default_origins(
            data, start=args.start, end=args.end, every=args.every, horizon=args.horizon
        )
        res = run_backtest(data, configs, origins=origins, horizon=args.horizon)
    print(
        f"{args.series}: {len(origins)} origins {origins[0].date()} .. {origins[-1].date()}, "
        f"horizon {args.horizon}"
    )
    views = {"day": res.scores}
    views.update({f"{d}d": df for d, df in sorted(res.total_scores.items()) if not df.empty})
    header = f"{'model':22s}" + "".join(f"{v + ' CRPS':>11s}{v + ' cov80':>11s}" for v in views)
    print(header)
    for key in res.models:
        cells = []
        for df in views.values():
            row = df[(df["model"] == key) & (df["horizon"].astype(str) == "all")]
            cells += [float(row["crps"].iloc[0]), float(row["coverage_80"].iloc[0])]
        print(f"{key:22s}" + "".join(f"{c:11.3f}" for c in cells))
    if args.which != "level-scale":
        return
    chosen = {
        f.origin.date(): f.forecast.meta.get("level_var_scale")
        for f in res.forecasts
        if f.model == "scale auto" and f.forecast is not None
    }
    print("scale chosen by 'auto' per origin:", pd.Series(chosen).value_counts().to_dict())
    print(f"(LocalLevel default: {LocalLevel().level_var_scale})")


if __name__ == "__main__":
    main()
