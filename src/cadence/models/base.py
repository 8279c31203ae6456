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

Estimator rules (scikit-learn's): hyperparameters are the ``__init__`` arguments, stored
unchanged under their own names; ``get_params``/``set_params`` read and write them and
``clone`` rebuilds an unfitted copy from them. ``fit`` returns ``self`` and sets the
fitted state, whose names end in ``_``; ``check_fitted`` refuses a forecast before it.

Covariates are named, not discovered: a family that reads exogenous columns takes
``covariates`` (None: its default selection; a list: only those names, each of which
must be in the panel, else ``PanelError``) and records what it fitted in
``covariates_``; ``ignored_columns_`` lists the panel's other columns.

Fallback: a family that cannot be fitted on the data at hand (too short or too empty a
history, a failed maximization) forecasts with a fitted ``Climatology`` and warns
(``ShortHistoryWarning``). It stays visible: the fitted attribute ``fallback_`` holds
that ``Climatology`` (None otherwise; every family has it), ``fallback_reason_`` says why,
and the forecast carries ``meta["fallback"] = "climatology"`` and
``meta["fallback_reason"]``. ``CountForecast.model`` keeps the family's name: stored
forecasts, MLflow runs, backtest seeds and the API key rows by it, so a renamed model
would split one configuration's history in two.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd

from cadence.models.errors import NotFittedError
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


@runtime_checkable
class Estimator(Protocol):
    """What ``clone`` needs (scikit-learn's estimator rules): ``get_params(deep)`` returns
    the ``__init__`` arguments by name and ``set_params`` sets them back."""

    def get_params(self, deep: bool = False) -> dict[str, object]: ...

    def set_params(self, **params: object) -> Self: ...


class ParamsMixin:
    """``get_params``/``set_params`` from the ``__init__`` signature, as scikit-learn's
    ``BaseEstimator`` does: each hyperparameter is stored on ``self`` under its own name
    and ``__init__`` does nothing else with it, so ``type(m)(**m.get_params())`` rebuilds
    the model unfitted (see ``clone``)."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p
            for p, spec in sig.parameters.items()
            if p != "self"
            and spec.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
        ]

    def get_params(self, deep: bool = False) -> dict[str, object]:
        """Hyperparameters by name, as passed to ``__init__``.

        With ``deep=True`` a hyperparameter that is itself a model (it has
        ``get_params``) also contributes its own as ``<name>__<param>``.
        """
        out: dict[str, object] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            out[name] = value
            if deep and isinstance(value, Estimator) and not isinstance(value, type):
                out.update({f"{name}__{k}": v for k, v in value.get_params(deep=True).items()})
        return out

    def set_params(self, **params: object) -> Self:
        """Set hyperparameters by name (``<name>__<param>`` reaches into a nested model);
        returns ``self``. A name ``__init__`` does not take raises ``ValueError``.
        Setting a hyperparameter does not refit: call ``fit`` again."""
        valid = self._get_param_names()
        nested: dict[str, dict[str, object]] = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r}; "
                    f"valid parameters: {', '.join(valid)}"
                )
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            inner = getattr(self, name)
            if not isinstance(inner, Estimator):
                raise ValueError(
                    f"{type(self).__name__}.{name} is not a model; cannot set "
                    f"{', '.join(f'{name}__{k}' for k in sub_params)}"
                )
            inner.set_params(**sub_params)
        return self


def clone(model: Estimator) -> Any:
    """A new, unfitted model with the same hyperparameters: ``type(model)(**params)``
    where each parameter that is itself a model (or a list or tuple of models) is cloned
    in turn and every other value deep-copied, so the clone shares no mutable state with
    ``model`` (scikit-learn's ``clone``). Raises ``TypeError`` for an object without
    ``get_params``/``set_params``."""
    if not isinstance(model, Estimator) or isinstance(model, type):
        raise TypeError(
            f"cannot clone {model!r}: it needs get_params(deep) and set_params (see ParamsMixin)"
        )
    params = {k: _clone_param(v) for k, v in model.get_params(deep=False).items()}
    return type(model)(**params)


def _clone_param(value: object) -> object:
    if isinstance(value, Estimator) and not isinstance(value, type):
        return clone(value)
    if isinstance(value, list | tuple) and any(isinstance(v, Estimator) for v in value):
        return type(value)(_clone_param(v) for v in value)
    return copy.deepcopy(value)


def check_fitted(model: object, attributes: str | Sequence[str] | None = None) -> None:
    """Raise ``NotFittedError("<name>: call fit() before forecast()")`` unless ``model``
    is fitted: it has every one of ``attributes`` or, when None, any public attribute
    ending in ``_`` (scikit-learn's ``check_is_fitted`` rule: only ``fit`` sets those).

    Families whose ``fit`` sets some state before it may still fail name the attribute
    set last."""
    if isinstance(attributes, str):
        attributes = [attributes]
    if attributes is None:
        fitted = any(a.endswith("_") and not a.startswith("_") for a in vars(model))
    else:
        fitted = all(hasattr(model, a) for a in attributes)
    if not fitted:
        name = getattr(model, "name", "") or type(model).__name__
        raise NotFittedError(f"{name}: call fit() before forecast()")
