"""Driver processes: fitted only on what the origin knows, simulating plausible futures
(synthetic data)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadence.features import InputError, Scenario, future_frame
from cadence.features.driver_process import (
    PROCESSES,
    driver_futures,
    fit_stream,
    predictive_log_score,
)
from cadence.features.future import horizon_days
from tests.features.synthetic_frames import (
    PROPERTY,
    day,
    event_rows,
    events_frame,
    frequencies,
    spec,
    statement_rows,
    statements_frame,
)


def _label(frequency: str, offset: int) -> pd.Timestamp:
    d = day(offset)
    if frequency == "W":
        return d - pd.Timedelta(days=d.weekday())
    if frequency == "M":
        return d.replace(day=1)
    return d


def _futures(ev: pd.DataFrame, stm: pd.DataFrame, **kw: Any) -> Any:
    return driver_futures(
        kw.pop("spec"), ev, stm, rng=np.random.default_rng(kw.pop("seed", 0)), **kw
    )


@PROPERTY
@given(
    frequency=frequencies,
    events=event_rows(0, 200),
    statements=statement_rows(0, 200),
    origin_offset=st.integers(40, 150),
    horizon=st.integers(1, 12),
    process=st.sampled_from(PROCESSES),
    seed=st.integers(0, 2**16),
)
def test_the_process_fitted_at_an_origin_uses_only_what_was_known_then(
    frequency: str,
    events: list[Any],
    statements: list[Any],
    origin_offset: int,
    horizon: int,
    process: str,
    seed: int,
) -> None:
    s = spec(frequency)
    origin = _label(frequency, origin_offset)
    _, known_until, _ = horizon_days(s, origin, horizon)
    cut = pd.Timestamp(np.datetime64(known_until, "D"))
    ev, stm = events_frame(events), statements_frame(statements)
    target = np.arange(60, dtype=float)  # daily counts ending on the origin's last day
    kw = dict(spec=s, origin=origin, horizon=horizon, k=3, process=process, seed=seed)
    everything = _futures(ev, stm, target=target, **kw)
    known = _futures(ev[ev["date"] <= cut], stm[stm["date"] <= cut], target=target, **kw)
    # rows dated after the origin change neither the fit nor a single simulated future
    assert everything.process.summary() == known.process.summary()
    for a, b in zip(everything.frames, known.frames, strict=True):
        pd.testing.assert_frame_equal(a, b)
    for fit in (everything.process.retaliation, everything.process.statements):
        assert fit is not None and fit.known_until == known_until


@PROPERTY
@given(
    events=event_rows(0, 120),
    origin_offset=st.integers(30, 120),
    days=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_simulated_marks_fall_after_the_origin_and_inside_the_horizon(
    events: list[Any], origin_offset: int, days: int, seed: int
) -> None:
    s = spec("D")
    origin = day(origin_offset)
    ev = events_frame(events)
    futures = driver_futures(
        s, ev, None, origin=origin, horizon=days, k=4, rng=np.random.default_rng(seed)
    )
    _, known_until, end = horizon_days(s, origin, days)
    for marks in futures.process.sample(end - known_until, 4, np.random.default_rng(seed)):
        for d in (marks[0].days, marks[1].days):
            assert ((d > known_until) & (d <= end)).all()
        assert (marks[0].weights >= 1.0).all()


def test_a_mark_after_the_origin_is_refused() -> None:
    with pytest.raises(InputError, match="after the origin"):
        fit_stream("retaliation", np.array([10, 21]), 20)


def test_a_recent_burst_of_strikes_simulates_more_strikes_than_a_quiet_spell() -> None:
    quiet = np.array([0, 40, 80, 120])  # one strike every 40 days, none lately
    burst = np.concatenate([quiet, np.arange(150, 160)])  # ten in the last ten days
    rng = np.random.default_rng(0)
    q = fit_stream("retaliation", quiet, 160).sample_counts(28, 2000, rng)
    b = fit_stream("retaliation", burst, 160).sample_counts(28, 2000, rng)
    assert b.mean() > 3 * q.mean()
    # the rate is uncertain: totals are overdispersed against a Poisson of the same mean
    totals = b.sum(axis=1)
    assert totals.var() > 1.5 * totals.mean()


def _hawkes(seed: int, days: int, mu: float, alpha: float, half_life: float) -> np.ndarray:
    """Event days of a synthetic discrete-time self-exciting stream."""
    rng = np.random.default_rng(seed)
    r = 2.0 ** (-1.0 / half_life)
    state, out = 0.0, []
    for t in range(days):
        n = rng.poisson(mu + alpha * state)
        out += [t] * int(n)
        state = r * state + (1 - r) * n
    return np.array(out, dtype=np.int64)


def test_the_self_exciting_fit_finds_excitation_and_predicts_its_stream_better() -> None:
    days = _hawkes(0, 700, mu=0.02, alpha=0.85, half_life=2.0)
    hawkes = fit_stream("retaliation", days[days <= 400], 400, process="self_exciting")
    assert 0.3 < hawkes.alpha <= 0.95
    score = {}
    for process in PROCESSES:
        total = 0.0
        for o in range(400, 700 - 7, 7):  # held out: refit at each origin, score the next week
            f = fit_stream("retaliation", days[days <= o], o, process=process)
            actual = np.bincount(days[(days > o) & (days <= o + 7)] - o - 1, minlength=7)
            total += predictive_log_score(f, actual, k=400)
        score[process] = total
    assert score["self_exciting"] > score["rate"] + 5.0


def test_target_counts_excite_the_stream_when_attacks_provoke_strikes() -> None:
    rng = np.random.default_rng(5)
    attacks = rng.poisson(np.where(np.arange(300) % 50 < 5, 30.0, 0.5))
    # a strike follows a day of many attacks
    strikes = np.flatnonzero(np.r_[0, attacks[:-1]] > 10)
    fit = fit_stream("retaliation", strikes, 299, process="self_exciting", target=attacks)
    assert fit.beta > 0.01
    assert fit.summary()["beta"] == pytest.approx(fit.beta, abs=1e-6)


def test_a_series_without_any_driver_event_simulates_the_deterministic_future() -> None:
    s = spec("D")
    origin, horizon = day(60), 14
    futures = driver_futures(
        s, events_frame([]), statements_frame([]), origin=origin, horizon=horizon, k=5,
        rng=np.random.default_rng(1),
    )  # fmt: skip
    plain = future_frame(s, events_frame([]), statements_frame([]), origin=origin, horizon=horizon)
    for frame in futures.frames:
        pd.testing.assert_frame_equal(frame, plain)


def test_a_scenario_lands_on_top_of_the_same_simulated_futures() -> None:
    s = spec("D")
    ev = events_frame([(d, "retaliation", "Iraq", None, None) for d in range(0, 60, 3)])
    origin, horizon = day(60), 10
    strike = Scenario().with_retaliation(day(65), severity=2)
    base = driver_futures(s, ev, None, origin=origin, horizon=horizon, k=4,
                          rng=np.random.default_rng(9))  # fmt: skip
    scen = driver_futures(s, ev, None, origin=origin, horizon=horizon, k=4,
                          rng=np.random.default_rng(9), scenario=strike)  # fmt: skip
    for b, x in zip(base.frames, scen.frames, strict=True):
        # before the strike nothing changes; from its day the strike counts once more
        pd.testing.assert_frame_equal(b.iloc[:4], x.iloc[:4])
        assert (x["ret_count_7d"].iloc[4:11] - b["ret_count_7d"].iloc[4:11] == 1).all()
    assert any(not f.equals(base.frames[0]) for f in base.frames[1:]), "futures differ"
