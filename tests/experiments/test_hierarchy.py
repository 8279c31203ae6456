"""Bottom-up reconciliation on synthetic weekly counts generated here (none is real):
a parent whose counts are exactly the sum of its three children's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNT, DATE, END, SERIES, SOURCE, START
from cadence.experiments.backtest import (
    BacktestResult,
    ModelConfig,
    default_origins,
    run_backtest,
)
from cadence.experiments.data import SeriesData
from cadence.experiments.hierarchy import bottom_up, compare_bottom_up
from cadence.experiments.scoring import score_paths
from cadence.features import SeriesSpec
from cadence.models.forecast import CountForecast


def _series(name: str, counts: np.ndarray) -> SeriesData:
    starts = pd.date_range("2022-01-03", periods=len(counts), freq="W-MON").astype("datetime64[s]")
    obs = pd.DataFrame(
        {
            SERIES: name,
            START: starts,
            END: starts + pd.Timedelta(days=7),
            COUNT: counts,
            SOURCE: "synthetic",
        }
    )
    spec = SeriesSpec.from_dict({"name": name, "frequency": "W", "target": {"observations": True}})
    empty = pd.DataFrame({DATE: pd.Series([], dtype="datetime64[s]")})
    return SeriesData(spec, empty, empty, obs)


def test_bottom_up_sums_paths_and_checks_shapes() -> None:
    idx = pd.date_range("2024-01-08", periods=3, freq="W-MON")
    a = CountForecast(pd.Timestamp("2024-01-01"), np.array([[1, 2, 3], [0, 0, 1]]), idx)
    b = CountForecast(pd.Timestamp("2024-01-01"), np.array([[4, 0, 0], [2, 2, 2]]), idx)
    s = bottom_up([a, b])
    assert s.samples.tolist() == [[5, 2, 3], [2, 2, 3]]
    with pytest.raises(ValueError, match="share"):
        bottom_up([a, CountForecast(a.origin, np.zeros((3, 3), dtype=int), idx)])


def test_compare_bottom_up_scores_the_summed_children() -> None:
    rng = np.random.default_rng(3)
    kids = [rng.poisson(lam, 120) for lam in (1.0, 4.0, 9.0)]
    parent_counts = np.sum(kids, axis=0)
    configs = [ModelConfig("climatology"), ModelConfig("recent_rate")]
    parent_data = _series("country", parent_counts)
    origins = default_origins(parent_data, every=4, horizon=4)
    parent = run_backtest(parent_data, configs, origins=origins, horizon=4, n_samples=200)
    children = [
        run_backtest(
            _series(f"country/r{i}", k), configs, origins=origins, horizon=4, n_samples=200
        )
        for i, k in enumerate(kids)
    ]
    table = compare_bottom_up(parent, children).set_index("model")
    assert list(table.index) == ["climatology", "recent_rate"]
    assert (table["n"] == 4 * len(origins)).all()
    # the bottom-up CRPS is the CRPS of the path-wise sums against the parent's truth
    crps = []
    for o in origins:
        sums = np.sum([_paths(c, "climatology", o) for c in children], axis=0)
        scores = score_paths(
            sums, parent_data.truth(o, 4), rng=np.random.default_rng(0), daily=False
        )
        crps.extend(scores["crps"])
    assert table.loc["climatology", "crps_bottom_up"] == pytest.approx(float(np.mean(crps)))
    assert np.allclose(table["skill"], 1 - table["crps_bottom_up"] / table["crps_own"])
    # independent Poisson regions: the sum of their climatologies is about as good as
    # the country's own climatology
    assert abs(table.loc["climatology", "skill"]) < 0.25


def _paths(result: BacktestResult, model: str, origin: pd.Timestamp) -> np.ndarray:
    (fc,) = [f.forecast for f in result.forecasts if f.model == model and f.origin == origin]
    assert fc is not None
    return fc.samples
