"""A weekly many-series retrain reuses the backtest scores of unchanged data: the same
decisions and scores as fitting everything again, with only new or revised pairs fitted.

Counts are drawn by code (``test_retrain_many._counts``); nothing is real."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from cadence.experiments.data import load_series_data
from cadence.jobs.retrain.job import origin_grid, recent_origins_for
from cadence.jobs.retrain.many import ManyRetrain, retrain_many
from cadence.store.ingest import ingest_counts
from cadence.store.jobs_repo import get_job
from tests.jobs.test_retrain_many import GOOD, MODELS, _counts, _home

REUSE: dict[str, Any] = {"horizon": 4, "recent_origins": 3, "every": 2, "n_samples": 100}
PAIRS = len(MODELS) * REUSE["recent_origins"]  # climatology is one of MODELS


def _run(engine: Engine, uri: str, **kw: Any) -> ManyRetrain:
    return retrain_many(engine, GOOD, tracking_uri=uri, candidates=MODELS, **REUSE, **kw)


def _details(engine: Engine, run: ManyRetrain) -> dict[str, dict[str, Any]]:
    return {o.series: get_job(engine, str(o.job_id)).details for o in run.outcomes}


def _scores(run: ManyRetrain) -> dict[str, Any]:
    return {o.series: (o.champion, o.crps, o.skill) for o in run.outcomes}


def test_the_next_retrain_reuses_unchanged_pairs_and_decides_as_a_full_refit(
    tmp_path: Path,
) -> None:
    engine, uri = _home(tmp_path / "home")
    try:
        first = _run(engine, uri)
        assert all(o.status == "promoted" for o in first.outcomes)
        assert first.scores == {"reused": 0, "fitted": PAIRS * len(GOOD)}
        # same data: nothing is fitted for the backtest, everything is as it was
        again = _run(engine, uri)
        assert again.scores == {"reused": PAIRS * len(GOOD), "fitted": 0}
        assert _scores(again) == _scores(first)
        assert all(d["scores_fitted"] == 0 for d in _details(engine, again).values())

        # a week later: the series whose grid point came up gain one origin each
        ingest_counts(engine, [_counts(1, first=70, seed=8)], frequency="W", source="synthetic")
        week = _run(engine, uri)
        fitted = {n: d["scores_fitted"] for n, d in _details(engine, week).items()}
        assert all(v in (0, len(MODELS)) for v in fitted.values())
        assert week.scores["reused"] + week.scores["fitted"] == PAIRS * len(GOOD)
        full = _run(engine, uri, reuse_scores=False)
        assert full.scores == {"reused": 0, "fitted": PAIRS * len(GOOD)}
        assert _scores(week) == _scores(full)
    finally:
        engine.dispose()


def test_a_revised_count_refits_the_pairs_that_read_it(tmp_path: Path) -> None:
    engine, uri = _home(tmp_path / "home")
    try:
        _run(engine, uri)
        name = GOOD[1]
        data = load_series_data(engine, name)
        origins = recent_origins_for(data, n=3, every=2, horizon=4, staggered=True)
        # a correction of the last week of the last origin's horizon, which no earlier
        # origin's horizon reaches (they are 2 weeks apart, horizons 4 weeks long)
        day = (origins[-1] + pd.Timedelta(weeks=4)).strftime("%Y-%m-%d")
        revised = pd.DataFrame([(name, day, "97")], columns=["series", "date", "count"])
        ingest_counts(engine, [revised], frequency="W", source="synthetic")
        after = _run(engine, uri)
        fitted = {n: d["scores_fitted"] for n, d in _details(engine, after).items()}
        assert fitted[name] == len(MODELS)  # one origin's pairs, every model
        assert all(fitted[n] == 0 for n in GOOD if n != name)
        full = _run(engine, uri, reuse_scores=False)
        assert _scores(after) == _scores(full)
    finally:
        engine.dispose()


@pytest.mark.parametrize("freq", ["D", "W", "M"])
def test_grid_origins_are_fixed_points_staggered_across_a_family(freq: str) -> None:
    step = 4
    latest = pd.Timestamp("2024-06-03") if freq != "M" else pd.Timestamp("2024-06-01")
    names = [f"fam/{i}" for i in range(40)]
    points = [origin_grid(n, latest, step, freq) for n in names]  # type: ignore[arg-type]
    gaps = {(latest - p).days for p in points}
    assert len(gaps) > 1  # a family's series do not all gain their origin on one week
    for name, p in zip(names, points, strict=True):
        assert p <= latest
        # the grid point does not move while the latest admissible period moves within it
        following = [origin_grid(name, q, step, freq) for q in _periods(p, step, freq)]  # type: ignore[arg-type]
        assert following == [p] * step


def _periods(first: pd.Timestamp, n: int, freq: str) -> list[pd.Timestamp]:
    unit = {"D": "D", "W": "W-MON", "M": "MS"}[freq]
    return list(pd.date_range(first, periods=n, freq=unit))


def test_stride_one_is_the_plain_latest_origin() -> None:
    latest = pd.Timestamp("2024-06-03")
    assert origin_grid("fam/x", latest, 1, "W") == latest
    assert np.all([origin_grid(f"fam/{i}", latest, 1, "D") == latest for i in range(5)])
