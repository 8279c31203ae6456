"""The live accuracy body gives each pooled 80% coverage a 95% interval that keeps the
overlapping windows of neighbouring weekly forecasts together. The counts are synthetic
(negative-binomial draws by code, with a level that doubles half-way)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from cadence.experiments.accuracy.rolling import DriftBand
from cadence.experiments.accuracy.scores import score_served
from cadence.experiments.bootstrap import block_ratio
from cadence.service.accuracy.report import accuracy_body
from cadence.service.cli import main
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.ingest import ingest_counts
from cadence.store.scores_repo import scores_frame
from tests.served import serve_replay

SERIES = "synthetic-coverage"
DAYS = 240
FIRST = pd.Timestamp("2024-05-05")  # day 125, a Sunday
WEEKS = 10


def _counts() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    level = np.where(np.arange(DAYS) < 150, 4.0, 8.0)  # a regime change the forecasts miss
    dates = pd.date_range("2024-01-01", periods=DAYS, freq="D")
    counts = rng.negative_binomial(5, 5 / (5 + level))
    return pd.DataFrame(
        {"series": SERIES, "date": dates.strftime("%Y-%m-%d"), "count": counts.astype(str)}
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Engine]:
    """WEEKS weekly 28-day forecasts from FIRST, each on the days before it, all scored."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cadence.db'}")
    migrate.upgrade(engine)
    counts = _counts()
    dates = pd.to_datetime(counts["date"])
    ingest_counts(engine, [counts[dates <= FIRST]], frequency="D", source="synthetic")
    for week in range(WEEKS):
        origin = FIRST + pd.Timedelta(days=7 * week)
        if week:
            ingest_counts(
                engine,
                [counts[(dates > origin - pd.Timedelta(days=7)) & (dates <= origin)]],
                frequency="D",
                source="synthetic",
            )
        serve_replay(engine, SERIES, origin.date().isoformat(), n_samples=300)
    ingest_counts(
        engine,
        [counts[dates > FIRST + pd.Timedelta(days=7 * (WEEKS - 1))]],
        frequency="D",
        source="synthetic",
    )
    score_served(engine, SERIES)
    yield engine
    engine.dispose()


def test_each_pooled_coverage_has_an_interval_over_blocks_of_overlapping_forecasts(
    served: Engine,
) -> None:
    body = accuracy_body(served, SERIES, DriftBand())
    scores = scores_frame(served, SERIES)
    windows = scores[scores["target"] == "window"].sort_values("start")
    by_days = {w["days"]: w for w in body["overall"]["windows"]}
    assert sorted(by_days) == [7, 14, 28]
    for days, block in ((7, 1), (14, 2), (28, 4)):
        w = by_days[days]
        cov = windows[windows["days"] == days]["coverage_80"].to_numpy(float)
        assert w["n"] == len(cov) == WEEKS
        # weekly windows of `days` days reach over `block` forecasts: resampled together
        est, lo, hi = block_ratio(cov, np.ones_like(cov), block=block)
        assert w["coverage_80"] == pytest.approx(est)
        assert w["coverage_80_interval"] == pytest.approx([lo, hi], abs=1e-6)
        assert lo <= w["coverage_80"] <= hi
    # days: each forecast's 28 days stay together, in blocks of 4 forecasts
    periods = scores[scores["target"] == "period"]
    g = periods.groupby("forecast_id")
    per = pd.DataFrame(
        {"covered": g["coverage_80"].sum(), "n": g.size(), "origin": g["origin"].first()}
    ).sort_values("origin")
    _, lo, hi = block_ratio(per["covered"], per["n"], block=4)
    overall = body["overall"]
    assert overall["coverage_80_interval"] == pytest.approx([lo, hi], abs=1e-6)
    assert lo <= overall["coverage_80"] <= hi
    # the missed level change runs through neighbouring 28-day windows: the interval of
    # their coverage is wider than one that resampled them one by one
    cov28 = windows[windows["days"] == 28]["coverage_80"].to_numpy(float)
    assert 0 < cov28.mean() < 1  # the regime change is missed by some windows, not all
    _, lo1, hi1 = block_ratio(cov28, block=1)
    low, high = by_days[28]["coverage_80_interval"]
    assert high - low > hi1 - lo1


def test_the_accuracy_command_prints_the_intervals(
    served: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path))
    for var in ("CADENCE_DATABASE_URL", "CADENCE_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    assert main(["accuracy", "--series", SERIES, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert main(["accuracy", "--series", SERIES]) == 0
    text = " ".join(capsys.readouterr().out.split())
    w28 = next(w for w in body["overall"]["windows"] if w["days"] == 28)
    low, high = w28["coverage_80_interval"]
    assert f"28-day totals {w28['coverage_80']:.2f} (95% {low:.2f}-{high:.2f}, 10 windows)" in text
    o = body["overall"]
    lo, hi = o["coverage_80_interval"]
    assert f"days {o['coverage_80']:.2f} (95% {lo:.2f}-{hi:.2f})" in text
