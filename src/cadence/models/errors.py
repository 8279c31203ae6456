"""Errors and warnings raised by count models.

Tree::

    ModelError                      base of everything a model raises on purpose
    ├── NotFittedError              forecast() before fit()
    ├── InsufficientDataError       too little history to fit this family
    ├── PanelError                  the panel is malformed (index, frequency, target) or
    │                               lacks a covariate the model names
    ├── IntervalsError              interval observations are malformed or inconsistent
    ├── IntervalsUnsupportedError   the family cannot fit interval (aggregated) observations
    ├── FutureFrameError            ``future`` misses rows or columns the model needs
    ├── UnknownModelError           a registry name that does not exist (also a KeyError)
    └── ModelUnavailableError       a registered model whose module cannot be imported

    UserWarning
    └── ShortHistoryWarning         a family fell back to ``Climatology`` for lack of data
        └── ReducedModelWarning     a family dropped terms it could not estimate

Exceptions are plain data: no logging or I/O in ``__init__``.
"""

from __future__ import annotations


class ModelError(Exception):
    """Base class for errors raised by count models."""


class NotFittedError(ModelError):
    """``forecast`` was called before ``fit``."""


class InsufficientDataError(ModelError):
    """The history is too short (or too empty) for this model family."""


class PanelError(ModelError):
    """The panel lacks the target, a regular ``DatetimeIndex`` or a known frequency."""


class IntervalsError(ModelError):
    """Interval observations are malformed, outside the panel or overlap daily counts."""


class IntervalsUnsupportedError(ModelError):
    """The model family cannot be fitted to interval observations."""


class FutureFrameError(ModelError):
    """The ``future`` frame lacks rows or exogenous columns the fitted model needs."""


class UnknownModelError(ModelError, KeyError):
    """No model is registered under that name."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a sentence reads better.
        return str(self.args[0]) if self.args else ""


class ModelUnavailableError(ModelError):
    """A registered model's module or class cannot be imported."""


class ShortHistoryWarning(UserWarning):
    """Too little information to fit the family: the model forecasts with ``Climatology``."""


class ReducedModelWarning(ShortHistoryWarning):
    """Too little information for the full model: some terms (e.g. lags, calendar
    columns) were left out of the fit."""
