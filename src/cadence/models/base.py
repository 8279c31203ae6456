"""The one interface every count model implements.

A *panel* is a DataFrame indexed by period (``DatetimeIndex`` named ``date`` with a
regular ``freq``: ``D``, ``W-MON`` or ``MS``, see ``cadence.columns.PANDAS_FREQ``), oldest
first, holding the target ``count`` (float; NaN where the count is only known as part of
an interval total) and feature columns. Row t uses only information dated <= t.
Models build autoregressive terms from ``count`` themselves and use the exogenous columns
(prefixes ``ret_``, ``stm_``, ``cal_``). ``future`` has the same exogenous columns for the
``horizon`` periods after the origin (the deterministic continuation, plus any scenario).

*Intervals* are counts known only as totals over ``[start, end)`` (columns ``start``,
``end``, ``count``), e.g. official tallies between two briefings.
"""

from __future__ import annotations

import inspect
from typing import Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd

from cadence.models.forecast import CountForecast


@runtime_checkable
class CountModel(Protocol):
    """Hyperparameters in ``__init__``; ``fit`` returns ``self``; fitted state ends in ``_``."""

    name: str
    supports_intervals: bool

    def fit(
        self,
        panel: pd.DataFrame,
        target: str = "count",
        intervals: pd.DataFrame | None = None,
    ) -> Self: ...

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast: ...

    def get_params(self) -> dict[str, object]: ...


class ParamsMixin:
    """``get_params()`` from the ``__init__`` signature (as scikit-learn does): each
    hyperparameter is stored on ``self`` under its own name."""

    def get_params(self) -> dict[str, object]:
        """Hyperparameters by name, as passed to ``__init__`` (for experiment logging)."""
        sig = inspect.signature(type(self).__init__)
        return {
            p: getattr(self, p)
            for p in sig.parameters
            if p != "self" and sig.parameters[p].kind is not inspect.Parameter.VAR_KEYWORD
        }
