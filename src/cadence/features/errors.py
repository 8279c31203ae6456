"""Errors raised by the features layer.

Exceptions are plain data: the message says what was expected and what came.

```
FeatureError                   base of every error raised by cadence.features
 +-- SpecError                 a series definition or event filter is malformed, or names
 |                             a field the frame does not have (also a ValueError)
 +-- InputError                an input frame lacks a required column or holds values of
 |    |                        the wrong type or sign (also a ValueError)
 |    +-- IntervalConflictError  overlapping observations disagree (a coarser total is
 |                             smaller than the finer counts inside it, or overlaps are
 |                             not nested)
 +-- ScenarioError             a scenario event lies outside the forecast horizon or has
                               an unknown stance (also a ValueError)
```
"""

from __future__ import annotations

__all__ = [
    "FeatureError",
    "InputError",
    "IntervalConflictError",
    "ScenarioError",
    "SpecError",
]


class FeatureError(Exception):
    """Base class of every error raised by ``cadence.features``."""


class SpecError(FeatureError, ValueError):
    """A series definition or event filter is malformed or names an unknown field."""


class InputError(FeatureError, ValueError):
    """An input frame lacks a required column or holds values of the wrong type."""


class IntervalConflictError(InputError):
    """Overlapping observations cannot be reconciled into counts and intervals."""


class ScenarioError(FeatureError, ValueError):
    """A scenario event is outside the horizon or is malformed."""
