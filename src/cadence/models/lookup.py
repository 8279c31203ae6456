"""Model names -> classes with default hyperparameters.

Experiments and the service ask for models by name (``make_model("negbin_glm")``).
Classes are imported by module path on first use, so listing the registry imports no
fitting library, and a family whose module is missing makes only its own name fail
(``ModelUnavailableError``). Adding a model is one module and one entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

from cadence.models.base import CountModel
from cadence.models.errors import ModelUnavailableError, UnknownModelError


@dataclass(frozen=True)
class ModelSpec:
    """A registered family: ``target`` is ``"module:Class"``; ``defaults`` are the
    hyperparameters ``make_model`` passes unless overridden."""

    name: str
    target: str
    summary: str
    defaults: Mapping[str, object] = field(default_factory=dict)


_SPECS = (
    ModelSpec(
        "climatology",
        "cadence.models.baselines:Climatology",
        "negative binomial fitted to a trailing window (Poisson if not overdispersed)",
        {"window": 365, "dispersion": "auto"},
    ),
    ModelSpec(
        "recent_rate",
        "cadence.models.baselines:RecentRate",
        "Poisson at the rate of the last periods",
        {"window": None, "family": "poisson"},
    ),
    ModelSpec(
        "negbin_glm",
        "cadence.models.negbin_glm:NegBinGLM",
        "negative-binomial regression on lagged counts and covariates, simulated forward",
        {"lags": None, "rolling": None, "exogenous": True},
    ),
    ModelSpec(
        "ingarch",
        "cadence.models.ingarch:Ingarch",
        "log-linear negative-binomial autoregression with covariates (as tscount)",
    ),
    ModelSpec(
        "hawkes",
        "cadence.models.hawkes:Hawkes",
        "discrete-time self-exciting process driven also by retaliation and statements",
    ),
    ModelSpec(
        "local_level",
        "cadence.models.local_level:LocalLevel",
        "latent log-level (random walk) with negative-binomial counts, day-of-week and "
        "driver effects; the level is simulated along each path",
    ),
    ModelSpec(
        "prophet",
        "cadence.models.prophet_counts:ProphetCounts",
        "Prophet on log1p counts with the same regressors, mapped to integer paths",
        {"exogenous": True, "rounding": "stochastic"},
    ),
    ModelSpec(
        "regime_nb",
        "cadence.models.regime_nb:RegimeNB",
        "hidden Markov quiet/active/surge regimes with negative-binomial counts",
    ),
    ModelSpec(
        "ensemble",
        "cadence.models.ensemble:Ensemble",
        "weighted mixture of member paths (members and weights from the caller)",
    ),
)
REGISTRY: Mapping[str, ModelSpec] = MappingProxyType({s.name: s for s in _SPECS})


def available_models() -> tuple[str, ...]:
    """Every registered name, in registry order (importable or not)."""
    return tuple(REGISTRY)


def model_spec(name: str) -> ModelSpec:
    """The registry entry for ``name``; ``UnknownModelError`` if there is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"no model named {name!r}; available: {', '.join(available_models())}"
        ) from None


def model_class(name: str) -> type[Any]:
    """Import and return the class registered as ``name``.

    Raises ``UnknownModelError`` for an unregistered name and ``ModelUnavailableError``
    when its module or class cannot be imported.
    """
    spec = model_spec(name)
    module_name, _, attr = spec.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelUnavailableError(f"model {name!r}: cannot import {module_name} ({exc})") from exc
    try:
        return cast(type[Any], getattr(module, attr))
    except AttributeError as exc:
        raise ModelUnavailableError(f"model {name!r}: {module_name} has no {attr}") from exc


def make_model(name: str, **params: object) -> CountModel:
    """A new, unfitted model: the registered defaults updated with ``params``."""
    cls = model_class(name)
    return cast(CountModel, cls(**{**model_spec(name).defaults, **params}))
