"""Backtest of us-forces-iraq-syria: local_level with its sampled view against the
tallies alone, scored on the interval totals lying wholly inside each 28-day horizon.
Run from the repository root with CADENCE_HOME set and the bundled data loaded:
``PYTHONPATH=src python benchmarks/fused_backtest.py``."""

import time

import pandas as pd

from cadence.experiments.backtest import ModelConfig, run_backtest
from cadence.experiments.data import load_series_data
from cadence.service.cli.app import engine_for

d = load_series_data(engine_for(), "us-forces-iraq-syria")
origins = pd.date_range("2023-12-11", "2024-02-08", freq="D")
t0 = time.time()
res = run_backtest(
    d,
    [ModelConfig("local_level"), ModelConfig("local_level", {"sampled": False})],
    origins=list(origins),
    horizon=28,
    n_samples=1000,
    seed=0,
)
po = res.per_origin
print("seconds", round(time.time() - t0, 1), "rows", len(po), "failures", res.failures[:3])
print(po.groupby("model")[["crps", "coverage_80"]].mean().round(3), po.groupby("model").size())
# paired by (origin, interval)
w = po.pivot_table(index=["origin", "start"], columns="model", values="crps")
print(w.mean().round(3), "paired n", len(w))
print("fused better share", (w["local_level"] < w["local_level[sampled=False]"]).mean().round(3))
# per origin-month
w2 = w.reset_index()
w2["month"] = pd.DatetimeIndex(w2["origin"]).to_period("M")
print(
    w2.groupby("month")[["climatology", "local_level", "local_level[sampled=False]"]]
    .mean()
    .round(2)
)
