"""local_level's forecast variance scale chosen on the series' own history
(``level_var_scale="auto"``), and the filter's per-period filtered states it reads. Every
series here is synthetic, drawn by the code below."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.columns import COUNT
from cadence.models._level_calibration import SCALES, choose_scale
from cadence.models._level_filter import LevelObservations, laplace_filter
from cadence.models.local_level import AUTO_SCALE_FALLBACK, LocalLevel
from tests.models.test_local_level import level_series


def _choice(q_true: float, q_used: float, seed: int) -> float:
    """The scale chosen for counts drawn from the model with level variance ``q_true``
    when the filter and the simulation use ``q_used``."""
    n, k = 900, 4.0
    panel, _ = level_series(n, q=q_true, k=k, seed=seed)
    y = panel[COUNT].to_numpy()
    obs = LevelObservations(y=y[:, None], size=np.ones((n, 1)), offset=np.zeros((n, 1)))
    res = laplace_filter(
        obs,
        np.array([[q_used]]),
        np.array([[k]]),
        m0=np.array([np.log(20.0)]),
        p0=1.0,
        damping=1.0,
        mbar=np.array([0.0]),
        keep_filtered=True,
    )
    assert res.filtered is not None
    fm, fp = res.filtered
    return choose_scale(
        y,
        np.ones(n, dtype=bool),
        np.zeros(n),
        (fm[:, 0, 0], fp[:, 0, 0]),
        q=q_used,
        k=k,
        damping=1.0,
        mbar=0.0,
        windows=(7, 28),
        fallback=2.0,
        start=7,
    ).scale


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_recovers_the_factor_a_too_small_level_variance_misses(seed: int) -> None:
    """Counts from the model with level variance q: simulated with q the factor stays
    1 (no evidence to move); with q / 4 or q / 8 it comes back to about 4 or 8."""
    q = 0.004
    assert _choice(q, q, seed) == 1.0
    assert 3.0 <= _choice(q, q / 4, seed) <= 8.0
    assert _choice(q, q / 8, seed) >= 6.0


def test_a_fitted_model_records_its_choice() -> None:
    panel, _ = level_series(900, q=0.004, k=4.0, seed=5)
    model = LocalLevel(damping=1.0, level_var_scale="auto").fit(panel)
    choice = model.scale_choice_
    assert choice is not None and choice.from_history
    assert choice.windows == (7, 28) and min(choice.origins) >= 6
    assert model.level_var_scale_ == choice.scale == 1.0
    assert choice.ratios[0] == pytest.approx(1.0)
    fc = model.forecast(7, n_samples=10, rng=np.random.default_rng(0))
    assert fc.meta["level_var_scale"] == 1.0
    assert LocalLevel().fit(panel).level_var_scale_ == 2.0  # the default stays fixed


def test_a_short_history_uses_the_fallback_and_a_number_is_kept() -> None:
    panel, _ = level_series(40, q=0.004, k=4.0, seed=7)
    auto = LocalLevel(level_var_scale="auto").fit(panel)
    assert auto.scale_choice_ is not None and not auto.scale_choice_.from_history
    assert auto.level_var_scale_ == AUTO_SCALE_FALLBACK
    fixed = LocalLevel(level_var_scale=3.0).fit(panel)
    assert fixed.scale_choice_ is None and fixed.level_var_scale_ == 3.0


@pytest.mark.parametrize("bad", [0.0, -1.0, "wide"])
def test_a_bad_scale_is_refused(bad: object) -> None:
    panel, _ = level_series(60, q=0.004, k=4.0, seed=8)
    with pytest.raises(ValueError, match="level_var_scale"):
        LocalLevel(level_var_scale=bad).fit(panel)  # type: ignore[arg-type]


def test_only_windows_of_single_observed_periods_are_scored() -> None:
    """A window that holds a missing period is not an origin: with every 10th period
    missing no 28-period window qualifies, and 7-period ones only between the gaps."""
    n = 400
    rng = np.random.default_rng(9)
    y = rng.poisson(10.0, n).astype(float)
    single = np.ones(n, dtype=bool)
    single[::10] = False
    choice = choose_scale(
        y,
        single,
        np.zeros(n),
        (np.full(n, np.log(10.0)), np.full(n, 0.01)),
        q=0.001,
        k=20.0,
        damping=1.0,
        mbar=np.log(10.0),
        windows=(7, 28),
        fallback=2.0,
        start=1,
        every=1,
    )
    assert choice.windows == (7,)
    assert len(choice.ratios) == len(SCALES)


@settings(max_examples=25, deadline=None)
@given(
    counts=st.lists(st.integers(0, 60), min_size=5, max_size=60),
    q=st.floats(1e-4, 0.3),
    k=st.floats(0.3, 40.0),
)
def test_filtered_states_are_what_a_filter_stopped_there_ends_with(
    counts: list[int], q: float, k: float
) -> None:
    """``keep_filtered``: the state kept for period t equals the final state of the same
    filter run on the periods up to t only (it used nothing after t)."""
    y = np.asarray(counts, dtype=float)[:, None]

    def run(m: int) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        obs = LevelObservations(y=y[:m], size=np.ones((m, 1)), offset=np.zeros((m, 1)))
        res = laplace_filter(
            obs,
            np.array([[q]]),
            np.array([[k]]),
            m0=np.array([2.0]),
            p0=1.0,
            damping=0.98,
            mbar=np.array([2.5]),
            keep_filtered=True,
        )
        return res.m, res.p, res.filtered

    _, _, kept = run(y.shape[0])
    assert kept is not None
    for t in (0, y.shape[0] // 2, y.shape[0] - 1):
        m, p, _ = run(t + 1)
        assert kept[0][t] == pytest.approx(m)
        assert kept[1][t] == pytest.approx(p)
