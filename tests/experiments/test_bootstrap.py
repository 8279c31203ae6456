"""The moving-block bootstrap behind the intervals of backtest differences, peer ratios and
live coverage: its point estimate, its block lengths and how dependence widens it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.experiments.bootstrap import block_ratio, overlap_block


def test_the_point_estimate_is_the_ratio_of_sums_and_a_constant_has_no_spread() -> None:
    est, lo, hi = block_ratio([3.0, 1.0, 2.0], [2.0, 2.0, 2.0], block=1)
    assert est == pytest.approx(6.0 / 6.0)
    assert 0.5 <= lo < est < hi <= 1.5  # the units' own ratios are 1.5, 0.5 and 1
    assert block_ratio([0.5] * 12, block=3) == pytest.approx((0.5, 0.5, 0.5))
    # den None: the mean
    assert block_ratio([1.0, 0.0, 0.0, 1.0], block=2)[0] == pytest.approx(0.5)


def test_no_unit_or_a_zero_denominator_gives_nans_and_bad_input_is_refused() -> None:
    assert np.isnan(block_ratio([], block=2)).all()
    assert np.isnan(block_ratio([1.0, 2.0], [0.0, 0.0], block=1)).all()
    with pytest.raises(ValueError, match="one length"):
        block_ratio([1.0, 2.0], [1.0], block=1)
    with pytest.raises(ValueError, match="finite"):
        block_ratio([1.0, float("nan")], block=1)


def test_dependent_neighbours_widen_the_interval_when_kept_together() -> None:
    # ten covered windows then ten missed ones: the misses come in runs, as they do when
    # one regime change is missed by every forecast whose horizon spans it
    runs = np.array([1.0] * 10 + [0.0] * 10)
    _, lo1, hi1 = block_ratio(runs, block=1, seed=3)
    _, lo4, hi4 = block_ratio(runs, block=4, seed=3)
    assert hi4 - lo4 > hi1 - lo1
    # alternating outcomes have no runs to keep: blocks of an even length leave each
    # replicate at exactly one half
    alternating = np.array([1.0, 0.0] * 10)
    assert block_ratio(alternating, block=2, seed=3) == pytest.approx((0.5, 0.5, 0.5))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 100), st.floats(0.1, 50)),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 10),
    st.integers(0, 2**16),
)
def test_the_interval_lies_within_the_units_own_ratios(
    units: list[tuple[float, float]], block: int, seed: int
) -> None:
    num = np.array([u[0] for u in units])
    den = np.array([u[1] for u in units])
    est, lo, hi = block_ratio(num, den, block=block, n_boot=300, seed=seed)
    each = num / den
    tol = 1e-9 * max(1.0, float(each.max()))
    assert each.min() - tol <= lo <= hi <= each.max() + tol
    assert each.min() - tol <= est <= each.max() + tol


def test_the_block_spans_as_many_starts_as_one_horizon_reaches_over() -> None:
    weekly = list(pd.date_range("2024-01-07", periods=10, freq="7D"))
    assert overlap_block(weekly, pd.Timedelta(days=28)) == 4
    assert overlap_block(weekly, pd.Timedelta(days=14)) == 2
    assert overlap_block(weekly, pd.Timedelta(days=7)) == 1
    assert overlap_block(weekly, pd.Timedelta(days=1)) == 1
    daily = list(pd.date_range("2024-01-01", periods=30, freq="D"))
    assert overlap_block(daily, pd.Timedelta(days=7)) == 7
    assert overlap_block(weekly[:1], pd.Timedelta(days=28)) == 1
