"""The forward-validated choice of the exogenous ridge (``_penalty``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cadence.models._penalty import (
    DEFAULT_RIDGE,
    MARGIN_PER_PERIOD,
    MIN_HOLDOUT,
    choose_ridge,
    holdout_split,
)


def _scores(means: dict[float, float | None], n: int = 100) -> Callable[[float], np.ndarray | None]:
    """A score function giving each ridge ``n`` held-out log-likelihoods with the mean
    given (None: no admissible fit at that weight)."""

    def score(ridge: float) -> np.ndarray | None:
        mean = means[ridge]
        return None if mean is None else np.full(n, mean)

    return score


def test_the_weakest_ridge_not_clearly_worse_than_the_best_is_chosen() -> None:
    grid = (1.0, 10.0, 100.0)
    # The strongest ridge is best by far: chosen.
    assert choose_ridge(_scores({1.0: -3.0, 10.0: -2.5, 100.0: -1.0}), grid) == 100.0
    # The best beats the weaker ones by less than the margin: the weakest is kept.
    close = -1.0 - MARGIN_PER_PERIOD / 2
    assert choose_ridge(_scores({1.0: close, 10.0: -1.5, 100.0: -1.0}), grid) == 1.0
    # Between: the weakest one within the margin of the best.
    assert choose_ridge(_scores({1.0: -2.0, 10.0: close, 100.0: -1.0}), grid) == 10.0


def test_inadmissible_or_non_finite_weights_are_skipped() -> None:
    grid = (1.0, 10.0, np.inf)
    assert choose_ridge(_scores({1.0: None, 10.0: -2.0, np.inf: -1.995}), grid) == 10.0
    assert choose_ridge(_scores({1.0: float("nan"), 10.0: -3.0, np.inf: -1.0}), grid) == np.inf
    assert choose_ridge(_scores({1.0: None, 10.0: None, np.inf: None}), grid) == DEFAULT_RIDGE


def test_holdout_is_the_last_quarter_and_needs_enough_training_periods() -> None:
    rows = np.ones(100, dtype=bool)
    rows[:10] = False  # 90 usable periods
    split = holdout_split(rows, n_free=3)
    assert split is not None
    cut, held = split
    assert held.size == round(0.25 * 90) and cut == held[0] and held[-1] == 99
    # A short history holds out at least a week, then may have too few left to fit.
    few = np.ones(20, dtype=bool)
    split = holdout_split(few, n_free=2)
    assert split is not None and split[1].size == MIN_HOLDOUT
    assert holdout_split(few, n_free=5) is None
