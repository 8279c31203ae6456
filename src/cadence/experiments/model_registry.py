"""Registered forecasters: a fitted ``CountModel`` as an MLflow pyfunc model, per series.

Each series has one registered model, ``cadence-<series>`` (``registered_name``). A
version wraps a model fitted at its origin together with the deterministic future frame
of the ``max_horizon`` periods after it, so it forecasts without the database. Aliases:
``champion`` (what is served) and ``challenger`` (the best candidate the last retrain did
not serve, for comparison; absent when there was none). Loading
happens only by alias, ``models:/cadence-<series>@champion``: never from a path a caller
names.

Pyfunc input (``FORECAST_INPUT``): a DataFrame, one request per row, columns ``horizon``
(periods, 1..max_horizon), ``n_samples`` (1..``MAX_SAMPLES``), ``seed``, and optionally
``quantiles`` (comma-separated levels, default ``0.1,0.5,0.9``) and ``output``
(``summary``, the default, or ``paths``). Output:

* ``summary``: one row per request and period: ``request`` (row number), ``date`` (ISO
  period label), ``mean``, ``q<level>`` per level (e.g. ``q0.1``), ``p_any``;
* ``paths``: one row per request, path and period: ``request``, ``sample``, ``date``,
  ``count``.

Version tags record what was fitted: ``cadence.model`` (registry name),
``cadence.params`` (JSON), ``cadence.model_key``, ``cadence.series``, ``cadence.origin``,
``cadence.max_horizon``, ``cadence.requires`` (the package the pickle needs).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from cadence.experiments.backtest import ModelConfig
from cadence.experiments.tracking import (
    code_version,
    ensure_experiment,
    escape_name,
    experiment_name,
    mlflow_client,
    quiet_mlflow,
)
from cadence.features.families import family_of
from cadence.models.base import CountModel
from cadence.models.forecast import CountForecast

with warnings.catch_warnings():
    # importing the pyfunc flavour builds MLflow's own agent schemas, which warn about
    # their ``Any`` type hints; nothing of ours is involved
    warnings.filterwarnings("ignore", message=r".*Any type hint is inferred as AnyType.*")
    import mlflow.pyfunc
    from mlflow.pyfunc import PythonModel

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "FORECAST_INPUT",
    "MAX_SAMPLES",
    "CadenceForecaster",
    "RegisteredVersion",
    "alias_version",
    "load_forecaster",
    "pip_requirements",
    "register_forecaster",
    "registered_name",
    "remove_alias",
    "set_alias",
    "version_info",
]

CHAMPION: Final = "champion"
CHALLENGER: Final = "challenger"
MAX_SAMPLES: Final = 20_000
DEFAULT_LEVELS: Final = (0.1, 0.5, 0.9)
MODEL_ARTIFACT: Final = "forecaster"
_LOAD_LOCK = threading.Lock()

FORECAST_INPUT = Schema(
    [
        ColSpec("long", "horizon"),
        ColSpec("long", "n_samples"),
        ColSpec("long", "seed"),
        ColSpec("string", "quantiles", required=False),
        ColSpec("string", "output", required=False),
    ]
)
FORECAST_OUTPUT = Schema(
    [
        ColSpec("long", "request"),
        ColSpec("string", "date"),
        ColSpec("double", "mean"),
        ColSpec("double", "p_any"),
    ]
)


def registered_name(series: str) -> str:
    """The registered model of a series: ``cadence-<series>``, the name escaped
    (``escape_name``) because MLflow refuses ``/`` and ``:`` in model names: family
    members such as ``attacks-by-country/Iraq`` become ``cadence-attacks-by-country~2FIraq``.
    Names made only of letters, digits, ``.``, ``_`` and ``-`` are unchanged."""
    return f"cadence-{escape_name(series)}"


def pip_requirements() -> list[str]:
    """Pinned libraries the pickled model needs (explicit: inferring them costs seconds).
    The ``cadence`` package itself is recorded in the ``cadence.requires`` tag: it is
    installed with the service, not from a package index."""
    names = ("mlflow", "numpy", "pandas", "scipy", "statsmodels", "cloudpickle")
    out = []
    for n in names:
        try:
            out.append(f"{n}=={md.version(n)}")
        except md.PackageNotFoundError:
            continue
    return out


def _levels(text: object) -> list[float]:
    if text is None or (isinstance(text, float) and np.isnan(text)) or str(text).strip() == "":
        return list(DEFAULT_LEVELS)
    try:
        levels = [float(x) for x in str(text).split(",")]
    except ValueError as exc:
        raise ValueError(f"quantiles: expected comma-separated levels, got {text!r}") from exc
    if not levels or any(not 0 <= q <= 1 for q in levels):
        raise ValueError(f"quantiles: levels must lie in [0, 1], got {text!r}")
    return levels


class CadenceForecaster(PythonModel):
    """A fitted ``CountModel`` plus the future frame at its origin.

    ``future``: exogenous columns for the ``max_horizon`` periods after ``origin`` (the
    deterministic continuation known at the origin), or None for models that use none.
    """

    def __init__(
        self,
        model: CountModel,
        *,
        series: str,
        frequency: str,
        origin: pd.Timestamp,
        max_horizon: int,
        future: pd.DataFrame | None,
    ) -> None:
        self.model = model
        self.series = series
        self.frequency = frequency
        self.origin = pd.Timestamp(origin)
        self.max_horizon = int(max_horizon)
        self.future = future

    def forecast(self, horizon: int, *, n_samples: int, seed: int) -> CountForecast:
        """Sample paths for ``horizon`` periods after the origin (same seed, same paths)."""
        if not 1 <= horizon <= self.max_horizon:
            raise ValueError(f"horizon must lie in 1..{self.max_horizon}, got {horizon}")
        if not 1 <= n_samples <= MAX_SAMPLES:
            raise ValueError(f"n_samples must lie in 1..{MAX_SAMPLES}, got {n_samples}")
        future = None if self.future is None else self.future.iloc[:horizon]
        rng = np.random.default_rng(seed)
        return self.model.forecast(horizon, future=future, n_samples=n_samples, rng=rng)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frames = []
        for i, row in enumerate(model_input.to_dict("records")):
            fc = self.forecast(
                int(row["horizon"]), n_samples=int(row["n_samples"]), seed=int(row["seed"])
            )
            output = str(row.get("output") or "summary")
            dates = [d.date().isoformat() for d in fc.index]
            if output == "paths":
                n, h = fc.samples.shape
                frames.append(
                    pd.DataFrame(
                        {
                            "request": i,
                            "sample": np.repeat(np.arange(n), h),
                            "date": np.tile(dates, n),
                            "count": fc.samples.reshape(-1),
                        }
                    )
                )
                continue
            if output != "summary":
                raise ValueError(f"output: expected 'summary' or 'paths', got {output!r}")
            levels = _levels(row.get("quantiles"))
            q = fc.quantiles(levels)
            frame = pd.DataFrame({"request": i, "date": dates, "mean": fc.mean()})
            for j, lv in enumerate(levels):
                frame[f"q{lv:g}"] = q[j].astype(float)
            frame["p_any"] = fc.prob_at_least(1)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class RegisteredVersion:
    """A registered version: ``name`` and ``version`` in the registry, the run that
    logged it, and the configuration it was fitted with."""

    name: str
    version: str
    run_id: str | None
    config: ModelConfig | None
    origin: pd.Timestamp | None


def _config_from_tags(tags: Mapping[str, str]) -> ModelConfig | None:
    name = tags.get("cadence.model")
    if not name:
        return None
    params = json.loads(tags.get("cadence.params") or "{}")
    key = tags.get("cadence.model_key")
    cfg = ModelConfig(name, params)
    return cfg if key in (None, cfg.key) else ModelConfig(name, params, alias=key)


def _version(name: str, mv: Any) -> RegisteredVersion:
    tags = dict(mv.tags or {})
    origin = tags.get("cadence.origin")
    return RegisteredVersion(
        name=name,
        version=str(mv.version),
        run_id=mv.run_id,
        config=_config_from_tags(tags),
        origin=pd.Timestamp(origin) if origin else None,
    )


def register_forecaster(
    model: CountModel,
    config: ModelConfig,
    *,
    series: str,
    frequency: str,
    origin: pd.Timestamp,
    future: pd.DataFrame | None,
    max_horizon: int,
    tracking_uri: str,
    run_id: str | None = None,
    aliases: Sequence[str] = (CHALLENGER,),
    tags: Mapping[str, str] | None = None,
) -> RegisteredVersion:
    """Log ``model`` (fitted at ``origin``) as a pyfunc model and register it as a new
    version of ``registered_name(series)``; then point ``aliases`` at it.

    The model is logged into run ``run_id`` when given (e.g. the run of its backtest),
    else into a new run of the series' experiment. Raises ``MlflowException`` (or a
    connection error) when the store refuses or cannot be reached.
    """
    client = mlflow_client(tracking_uri)
    name = registered_name(series)
    wrapper = CadenceForecaster(
        model,
        series=series,
        frequency=frequency,
        origin=origin,
        max_horizon=max_horizon,
        future=None if future is None else future.iloc[:max_horizon].copy(),
    )
    version_tags = {
        "cadence.model": config.name,
        "cadence.params": json.dumps(dict(config.params), sort_keys=True, default=str),
        "cadence.model_key": config.key,
        "cadence.series": series,
        "cadence.origin": pd.Timestamp(origin).date().isoformat(),
        "cadence.max_horizon": str(int(max_horizon)),
        "cadence.requires": f"cadence=={code_version()}",
        **({"cadence.family": fam} if (fam := family_of(series)) else {}),
        **(tags or {}),
    }
    example = pd.DataFrame(
        {"horizon": [min(7, max_horizon)], "n_samples": [100], "seed": [0]}
    ).astype("int64")
    with quiet_mlflow():
        exp_id = ensure_experiment(client, experiment_name(series), tracking_uri=tracking_uri)
        own_run = run_id is None
        if run_id is None:
            run_id = client.create_run(
                exp_id, run_name=f"register {config.key}", tags={"cadence.series": series}
            ).info.run_id
        with tempfile.TemporaryDirectory(prefix="cadence-model-") as tmp:
            path = Path(tmp) / MODEL_ARTIFACT
            mlflow.pyfunc.save_model(
                path,
                python_model=wrapper,
                signature=ModelSignature(inputs=FORECAST_INPUT, outputs=FORECAST_OUTPUT),
                input_example=example,
                pip_requirements=pip_requirements(),
            )
            client.log_artifacts(run_id, str(path), MODEL_ARTIFACT)
        if own_run:
            client.set_terminated(run_id, "FINISHED")
        try:
            client.get_registered_model(name)
        except MlflowException:
            client.create_registered_model(
                name, description=f"Cadence forecaster of series {series!r}"
            )
        mv = client.create_model_version(
            name, source=f"runs:/{run_id}/{MODEL_ARTIFACT}", run_id=run_id, tags=version_tags
        )
        version = str(mv.version)
        for alias in aliases:
            client.set_registered_model_alias(name, alias, version)
    return RegisteredVersion(name, version, run_id, config, pd.Timestamp(origin))


def alias_version(
    tracking_uri: str, series: str, alias: str = CHAMPION
) -> RegisteredVersion | None:
    """The version ``alias`` points at, or None when the series has no registered model
    or no such alias. Other registry failures raise ``MlflowException``."""
    client = mlflow_client(tracking_uri)
    name = registered_name(series)
    with quiet_mlflow():
        try:
            mv = client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise
    return _version(name, mv)


def version_info(tracking_uri: str, series: str, version: str) -> RegisteredVersion:
    """Version ``version`` of the series' registered model (``MlflowException`` when it
    does not exist)."""
    name = registered_name(series)
    with quiet_mlflow():
        mv = mlflow_client(tracking_uri).get_model_version(name, str(version))
    return _version(name, mv)


def set_alias(tracking_uri: str, series: str, alias: str, version: str) -> None:
    """Point ``alias`` of the series' registered model at ``version``."""
    with quiet_mlflow():
        mlflow_client(tracking_uri).set_registered_model_alias(
            registered_name(series), alias, version
        )


def remove_alias(tracking_uri: str, series: str, alias: str) -> None:
    """Remove ``alias`` from the series' registered model (nothing to do when it is not
    set)."""
    with quiet_mlflow():
        mlflow_client(tracking_uri).delete_registered_model_alias(registered_name(series), alias)


def load_forecaster(
    tracking_uri: str, series: str, alias: str = CHAMPION, *, version: str | None = None
) -> Any:
    """``mlflow.pyfunc.load_model("models:/cadence-<series>@<alias>")`` against
    ``tracking_uri`` (the only way a model is loaded), or ``models:/cadence-<series>/<n>``
    when ``version`` is given. Returns the pyfunc model; its ``unwrap_python_model()``
    is the ``CadenceForecaster``."""
    name = registered_name(series)
    if version is not None and not str(version).isdigit():
        raise ValueError(f"version: expected a registry version number, got {version!r}")
    uri = f"models:/{name}/{version}" if version is not None else f"models:/{name}@{alias}"
    with _LOAD_LOCK, quiet_mlflow(), _global_uris(tracking_uri):
        return mlflow.pyfunc.load_model(uri)


class _global_uris:
    """Point MLflow's global tracking and registry URIs at ``uri`` for a block (the
    pyfunc loader has no client argument), then restore them. Process-wide, so loads
    take ``_LOAD_LOCK``: threads loading from different stores do not cross."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def __enter__(self) -> None:
        self.saved = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)

    def __exit__(self, *exc: object) -> None:
        mlflow.set_tracking_uri(self.saved[0])
        mlflow.set_registry_uri(self.saved[1])


def time_load(tracking_uri: str, series: str, alias: str = CHAMPION) -> float:
    """Seconds to load the series' ``alias`` model from the registry (for reports)."""
    t0 = time.perf_counter()
    load_forecaster(tracking_uri, series, alias)
    return time.perf_counter() - t0
