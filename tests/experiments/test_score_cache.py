"""Backtest scores kept between runs: reused pairs give the scores a full run gives,
and the fingerprint changes exactly when data the pair reads changes.

Every series here is SYNTHETIC (``test_backtest.synthetic_events``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.experiments.backtest import ModelConfig, default_origins, run_backtest
from cadence.experiments.data import SeriesData
from cadence.experiments.score_cache import CachedScore, fingerprint, new_entries
from tests.experiments.test_backtest import FAST, synthetic_data

HORIZON = 28


def _entries(data: SeriesData, origins: list[pd.Timestamp]) -> dict:
    full = run_backtest(data, FAST, origins=origins, horizon=HORIZON, n_samples=200, seed=5)
    fps = {o: fingerprint(data, o, HORIZON) for o in origins}
    fitted = [(f.model, f.origin, f.error, f.seconds) for f in full.forecasts]
    made = new_entries(full.per_origin, full.total_per_origin, fitted, fps)
    # through the store's text, as a later run reads them
    return {k: CachedScore.from_json(e.fingerprint, e.to_json()) for k, e in made.items()}, full


def test_reused_pairs_give_the_scores_of_a_full_run_and_are_not_fitted() -> None:
    data = synthetic_data(days=160, seed=2)
    origins = default_origins(data, every="14D", horizon=HORIZON)
    assert len(origins) >= 4
    entries, full = _entries(data, origins)
    keep = {k: v for k, v in entries.items() if k[1] != origins[-1] and k[0] != "negbin_glm"}
    again = run_backtest(
        data, FAST, origins=origins, horizon=HORIZON, n_samples=200, seed=5, cached=keep
    )
    pd.testing.assert_frame_equal(again.per_origin, full.per_origin)
    pd.testing.assert_frame_equal(again.scores, full.scores)
    assert set(again.total_per_origin) == set(full.total_per_origin) == {7, 14, 28}
    for days, frame in full.total_per_origin.items():
        pd.testing.assert_frame_equal(again.total_per_origin[days], frame)
        pd.testing.assert_frame_equal(again.total_scores[days], full.total_scores[days])
    assert again.skill_vs_climatology() == full.skill_vs_climatology()
    fitted = {(f.model, f.origin) for f in again.forecasts if f.forecast is not None}
    assert fitted == {(f.model, f.origin) for f in full.forecasts} - set(keep)


def test_a_run_with_every_pair_reused_fits_nothing_and_gives_the_same_frames() -> None:
    data = synthetic_data(days=160, seed=2)
    origins = default_origins(data, every="14D", horizon=HORIZON)
    entries, full = _entries(data, origins)
    again = run_backtest(
        data, FAST, origins=origins, horizon=HORIZON, n_samples=200, seed=5, cached=entries
    )
    assert all(f.forecast is None for f in again.forecasts)
    pd.testing.assert_frame_equal(again.per_origin, full.per_origin)
    pd.testing.assert_frame_equal(again.scores, full.scores)
    for days, frame in full.total_per_origin.items():
        pd.testing.assert_frame_equal(again.total_per_origin[days], frame)


def test_a_failure_is_kept_as_a_failure() -> None:
    data = synthetic_data(days=160, seed=2)
    origins = default_origins(data, every="14D", horizon=HORIZON)
    entries, _ = _entries(data, origins)
    key = ("negbin_glm", origins[0])
    failed = CachedScore(entries[key].fingerprint, {}, {}, "ModelError: did not converge", 0.1)
    again = run_backtest(
        data, FAST, origins=origins, horizon=HORIZON, n_samples=200, seed=5, cached={key: failed}
    )
    assert ("negbin_glm", origins[0], "ModelError: did not converge") in again.failures
    po = again.per_origin
    assert po[(po["model"] == "negbin_glm") & (po["origin"] == origins[0])].empty


def test_an_ensemble_run_ignores_the_cache() -> None:
    data = synthetic_data(days=160, seed=2)
    origins = default_origins(data, every="14D", horizon=HORIZON)
    entries, _ = _entries(data, origins)
    configs = [*FAST, ModelConfig("ensemble")]
    again = run_backtest(
        data, configs, origins=origins, horizon=HORIZON, n_samples=200, seed=5, cached=entries
    )
    assert all(f.forecast is not None for f in again.forecasts if f.error is None)


DATA = synthetic_data(days=120, seed=9)
ORIGIN = pd.Timestamp("2024-03-01")
LAST_DAY = ORIGIN + pd.Timedelta(days=HORIZON)  # the horizon's last day


@settings(max_examples=40, deadline=None)
@given(day=st.integers(min_value=0, max_value=119), extra=st.integers(min_value=1, max_value=5))
def test_fingerprint_changes_exactly_when_a_read_row_changes(day: int, extra: int) -> None:
    """Attacks added on ``day`` change the fingerprint when the day is on or before the
    horizon's last day (the fit or the truth reads it), never after it."""
    when = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)
    rows = DATA.events.iloc[:1].copy()
    rows = pd.concat([rows] * extra, ignore_index=True)
    rows["date"] = when
    rows["kind"] = "attack"
    events = pd.concat([DATA.events, rows], ignore_index=True).sort_values("date", kind="stable")
    changed = SeriesData(DATA.spec, events.reset_index(drop=True), DATA.statements, None)
    before = fingerprint(DATA, ORIGIN, HORIZON)
    after = fingerprint(changed, ORIGIN, HORIZON)
    assert (before != after) == (when <= LAST_DAY)


def test_fingerprint_reads_the_definition_and_the_horizon() -> None:
    base = fingerprint(DATA, ORIGIN, HORIZON)
    assert fingerprint(DATA, ORIGIN, HORIZON) == base
    assert fingerprint(DATA, ORIGIN, HORIZON + 1) != base
    assert fingerprint(DATA, ORIGIN + pd.Timedelta(days=1), HORIZON) != base
    other = SeriesData(
        type(DATA.spec).from_dict({**DATA.spec.to_dict(), "name": "synthetic-other"}),
        DATA.events,
        DATA.statements,
        None,
    )
    assert fingerprint(other, ORIGIN, HORIZON) != base


@pytest.mark.parametrize("value", [np.nan, 1.5])
def test_json_keeps_nan_and_numbers(value: float) -> None:
    entry = CachedScore("f" * 32, {"horizon": [1], "crps": [value]}, {7: {"crps": [value]}})
    back = CachedScore.from_json(entry.fingerprint, entry.to_json())
    assert back.rows["horizon"] == [1]
    got = back.rows["crps"][0]
    assert (np.isnan(got) and np.isnan(value)) or got == value
    assert set(back.totals) == {7}
