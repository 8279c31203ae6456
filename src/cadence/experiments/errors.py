"""Errors raised by experiments (backtests, scoring, executors, tracking, retraining).

Tree::

    ExperimentError                 base of everything experiments raise on purpose
    ├── BacktestConfigError         origins, horizon, model list or executor are invalid
    ├── NoOriginsError              no origin fits between start, end and the data
    ├── SeriesDataError             the stored rows cannot back a backtest of this series
    ├── ExecutorError               the executor could not start or lost its workers
    ├── TrackingError               MLflow (tracking store or registry) refused or is unreachable
    └── NoServableModelError        retraining could fit no model for serving

Exceptions are plain data: no logging or I/O in ``__init__``.
"""

from __future__ import annotations


class ExperimentError(Exception):
    """Base class for errors raised by experiments."""


class BacktestConfigError(ExperimentError):
    """Origins, horizon, models or executor options are not usable."""


class NoOriginsError(BacktestConfigError):
    """No forecast origin lies between ``start``, ``end`` and the data's span."""


class SeriesDataError(ExperimentError):
    """The stored rows of a series cannot back a backtest (e.g. none at all)."""


class ExecutorError(ExperimentError):
    """The executor could not start, or a worker was lost while running."""


class TrackingError(ExperimentError):
    """MLflow (the tracking store or the model registry) cannot be reached or refused a
    call; ``step`` names what was being done."""

    def __init__(self, message: str, step: str) -> None:
        super().__init__(message)
        self.step = step


class NoServableModelError(ExperimentError):
    """Retraining found no model it could fit for serving (every candidate, the current
    champion and the climatology fallback failed or none was scored)."""
