"""How strongly the count regressions shrink their exogenous coefficients.

A ridge ``ridge / 2 * |b|^2`` on the slopes of standardized exogenous columns is a
Gaussian prior with standard deviation ``1 / sqrt(ridge)`` on the change of the log mean
per standard deviation of a column. Which weight suits a series is measured, not
assumed: ``choose_ridge`` fits each weight of ``RIDGE_GRID`` on the earlier periods and
keeps the weakest one whose one-step-ahead predictions of the later ones
(``holdout_split``) are not clearly worse than the best. Driver columns that only track
the level of a short history in-sample ("explaining" it better than its own lags) lose
on the later periods and end up shrunk to nothing; effects that hold on later data keep
a weak ridge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# Candidate weights, from a prior standard deviation of 1 down to 0.01.
RIDGE_GRID: tuple[float, ...] = (1.0, 10.0, 100.0, 1e3, 1e4)
# When no forward validation is possible (interval totals, too few periods): a weak
# prior, worth about one observation.
DEFAULT_RIDGE = 1.0
# The later periods held out: a quarter of those with a count, at least a week of them.
HOLDOUT_SHARE = 0.25
MIN_HOLDOUT = 7
# A stronger ridge is chosen only when it predicts the held-out periods better by more
# than this log-likelihood per period: a few units over hundreds of periods is noise,
# not a reason to shrink an effect.
MARGIN_PER_PERIOD = 0.02


def holdout_split(rows: np.ndarray, n_free: int) -> tuple[int, np.ndarray] | None:
    """Split the periods marked in ``rows`` (boolean ``(T,)``) into earlier and later
    ones: ``(cut, held)`` where the fit uses periods before index ``cut`` and ``held``
    (int array) indexes the held-out ones. None when, after holding out
    ``max(HOLDOUT_SHARE of them, MIN_HOLDOUT)``, fewer than three periods per
    unpenalized coefficient (``n_free``) remain."""
    idx = np.flatnonzero(rows)
    n_hold = max(round(HOLDOUT_SHARE * idx.size), MIN_HOLDOUT)
    if idx.size - n_hold < 3 * n_free:
        return None
    return int(idx[-n_hold]), idx[-n_hold:]


def choose_ridge(
    score: Callable[[float], np.ndarray | None],
    grid: Sequence[float] = RIDGE_GRID,
    margin: float = MARGIN_PER_PERIOD,
) -> float:
    """The weakest weight of ``grid`` whose held-out fit is not clearly worse than the
    best one: its mean held-out log-likelihood per period within ``margin`` of the best.
    ``score(ridge)`` gives the held-out log-likelihood of each period (None when that
    weight gives no admissible fit). The data keep an effect unless later periods
    contradict it. ``DEFAULT_RIDGE`` when no weight is admissible."""
    scores: list[tuple[float, float]] = []
    for ridge in sorted(grid):
        values = score(ridge)
        if values is not None and np.all(np.isfinite(values)):
            scores.append((ridge, float(np.mean(values))))
    if not scores:
        return DEFAULT_RIDGE
    best = max(value for _, value in scores)
    return next(ridge for ridge, value in scores if value >= best - margin)
