"""models layer: pure count models producing integer sample paths.

Ask for a model by name (``make_model("negbin_glm")``); every model implements
``CountModel`` (``fit(panel, target, intervals)``, ``forecast(horizon, future=...,
n_samples, rng) -> CountForecast``).
"""

from cadence.models.base import CountModel
from cadence.models.forecast import CountForecast
from cadence.models.lookup import available_models, make_model, model_class
from cadence.models.series_input import panel_from_series

__all__ = [
    "CountForecast",
    "CountModel",
    "available_models",
    "make_model",
    "model_class",
    "panel_from_series",
]
