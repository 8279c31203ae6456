"""Errors raised by count models.

Tree::

    ModelError                      base of everything a model raises on purpose
    ├── NotFittedError              forecast() before fit()
    ├── InsufficientDataError       too little history to fit this family
    ├── IntervalsUnsupportedError   the family cannot fit interval (aggregated) observations
    ├── FutureFrameError            ``future`` misses rows or columns the model needs
    └── UnknownModelError           a registry name that does not exist

Exceptions are plain data: no logging or I/O in ``__init__``.
"""

from __future__ import annotations


class ModelError(Exception):
    """Base class for errors raised by count models."""


class NotFittedError(ModelError):
    """``forecast`` was called before ``fit``."""


class InsufficientDataError(ModelError):
    """The history is too short (or too empty) for this model family."""


class IntervalsUnsupportedError(ModelError):
    """The model family cannot be fitted to interval observations."""


class FutureFrameError(ModelError):
    """The ``future`` frame lacks rows or exogenous columns the fitted model needs."""


class UnknownModelError(ModelError, KeyError):
    """No model is registered under that name."""
