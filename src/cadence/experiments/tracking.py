"""MLflow runs of backtests: one experiment per series, one run per model configuration.

A run holds:

* params: ``model`` (registry name), ``model_key``, ``param.<name>`` (constructor
  params), ``series``, ``frequency``, ``horizon``, ``n_origins``, ``first_origin``,
  ``last_origin``, ``every`` (the median spacing of origins, in periods), ``n_samples``,
  ``seed``, ``code_version``;
* metrics: each score over all horizons under its own name (``crps``, ``log_score``,
  ``rps``, ``mae``, ``coverage_50/80/95``, ``brier_any_7``, ``n``, ``skill_vs_climatology``,
  ``n_failures``); per horizon as steps (step = horizon) under ``<score>_by_horizon``;
  for daily series, 7-day window totals under ``<score>_week`` (step = window number)
  and ``<score>_week_by_window``, 14- and 28-day totals under ``<score>_14d`` and
  ``<score>_28d`` (and ``..._by_window``);
* artifacts: ``tables/per_origin_scores.csv`` (one row per origin x horizon),
  ``tables/forecasts.csv`` (mean, quantiles, P(>=1) and what happened, per origin and
  period), ``tables/failures.csv`` when the model failed somewhere, and
  ``plots/fan_chart.png`` (the latest forecast against what happened),
  ``plots/pit_histogram.png``, ``plots/reliability.png`` (observed against nominal
  coverage of the central 50/80/95% intervals), drawn by ``cadence.experiments.plots``;
* tags: ``cadence.series``, ``cadence.model_key``, ``cadence.failed`` ("true" when the
  model failed at some origin) and ``cadence.failures`` (the first reasons).

The tracking URI is an argument: ``sqlite:///path/mlflow.db``, ``http(s)://server``,
``postgresql://...``. Artifacts of a ``sqlite:///`` store live next to the database file
(``mlartifacts/``) unless ``artifact_root`` says otherwise; any other store uses its own
default (a tracking server serves them). Nothing here reads the environment.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
import string
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from sqlalchemy.engine import make_url

from cadence.experiments.backtest import BacktestResult, ModelConfig, OriginForecast
from cadence.experiments.numbers import finite_or_none
from cadence.experiments.plots import fan_chart, pit_histogram, reliability_plot
from cadence.experiments.scoring import COVERAGE_LEVELS, METRICS, WINDOW_DAYS
from cadence.features.families import family_of

__all__ = [
    "FORECAST_QUANTILES",
    "artifact_root_for",
    "code_version",
    "ensure_experiment",
    "escape_name",
    "experiment_name",
    "log_backtest",
    "mlflow_client",
    "quiet_mlflow",
    "terminated_run",
]

FORECAST_QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
_MAX_PARAM = 500
_MAX_BATCH = 900
_SAFE = frozenset(string.ascii_letters + string.digits + "._-")


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Silence the deprecation noise MLflow's SQL store raises on SQLAlchemy 2.1 (the
    ``noload`` loader strategy), and its reminder to pass an input example, which the
    project treats as errors in tests. Nothing else is filtered."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*``noload`` loader strategy.*")
        warnings.filterwarnings("ignore", message=r".*An input example was not provided.*")
        yield


def escape_name(name: str) -> str:
    """``name`` with every character other than ASCII letters, digits, ``.``, ``_`` and
    ``-`` written as ``~XX`` per UTF-8 byte (``/`` is ``~2F``, ``~`` is ``~7E``): a
    one-to-one mapping onto names MLflow accepts everywhere."""
    return "".join(
        c if c in _SAFE else "".join(f"~{b:02X}" for b in c.encode("utf-8")) for c in name
    )


def experiment_name(series: str) -> str:
    """The MLflow experiment of a series: ``cadence-<series>``; members of a family
    (``<family>/<value>``) share their family's, ``cadence-<family>`` (runs carry the
    ``cadence.series`` tag), so a family of thousands is one experiment."""
    return f"cadence-{family_of(series) or series}"


def artifact_root_for(tracking_uri: str) -> str | None:
    """Where a new experiment keeps artifacts: ``mlartifacts/`` next to a ``sqlite:///``
    database file; None (the store's own default) for anything else."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    db = make_url(tracking_uri).database
    if not db or db == ":memory:":
        return None
    return str(Path(db).expanduser().resolve().parent / "mlartifacts")


def mlflow_client(tracking_uri: str) -> MlflowClient:
    """A client for ``tracking_uri`` (also the registry URI): no global MLflow state."""
    if tracking_uri.startswith("file:"):
        raise ValueError(
            "file: tracking URIs are not supported by MLflow 3's file store; use "
            "sqlite:///path/mlflow.db or a tracking server URL"
        )
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def ensure_experiment(
    client: MlflowClient,
    name: str,
    *,
    tracking_uri: str,
    artifact_root: str | None = None,
) -> str:
    """The id of experiment ``name``, created when missing (artifacts under
    ``artifact_root/<name>``, default ``artifact_root_for(tracking_uri)``)."""
    with quiet_mlflow():
        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        root = artifact_root if artifact_root is not None else artifact_root_for(tracking_uri)
        location = None if root is None else str(Path(root) / name)
        return str(client.create_experiment(name, artifact_location=location))


def code_version() -> str:
    """The installed ``cadence`` version (package metadata)."""
    try:
        return importlib.metadata.version("cadence")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _median_step(origins: Sequence[pd.Timestamp], frequency: str) -> str:
    if len(origins) < 2:
        return "-"
    step = pd.Series(origins).diff().dropna().median()
    days = step / pd.Timedelta(days=1)
    return f"{days:g}D" if frequency == "D" else f"{days / 7:g}W" if frequency == "W" else "1M"


def _params(
    result: BacktestResult,
    key: str,
    config: ModelConfig | None,
    n_samples: int | None,
    seed: int | None,
) -> dict[str, str]:
    name = config.name if config is not None else key.split("[", 1)[0]
    out = {
        "model": name,
        "model_key": key,
        "series": result.series,
        "frequency": result.frequency,
        "horizon": str(result.horizon),
        "n_origins": str(len(result.origins)),
        "first_origin": result.origins[0].date().isoformat() if result.origins else "-",
        "last_origin": result.origins[-1].date().isoformat() if result.origins else "-",
        "every": _median_step(result.origins, result.frequency),
        "code_version": code_version(),
    }
    if n_samples is not None:
        out["n_samples"] = str(n_samples)
    if seed is not None:
        out["seed"] = str(seed)
    if config is not None:
        for k, v in sorted(config.params.items()):
            out[f"param.{k}"] = repr(v)
    return {k: v[:_MAX_PARAM] for k, v in out.items()}


def _metrics(result: BacktestResult, key: str, now_ms: int) -> list[Metric]:
    out: list[Metric] = []

    def add(scores: pd.DataFrame, suffix: str, by: str) -> None:
        if scores.empty:
            return
        rows = scores[scores["model"] == key]
        for r in rows.to_dict("records"):
            h = r["horizon"]
            for m in (*METRICS, "n"):
                v = finite_or_none(r[m])
                if v is None:
                    continue
                if str(h) == "all":
                    out.append(Metric(f"{m}{suffix}", v, now_ms, 0))
                else:
                    out.append(Metric(f"{m}{suffix}{by}", v, now_ms, int(h)))

    add(result.scores, "", "_by_horizon")
    add(result.window_scores, "_week", "_by_window")
    for days, scores in result.total_scores.items():
        if days != WINDOW_DAYS:
            add(scores, f"_{days}d", "_by_window")
    skill = finite_or_none(result.skill_vs_climatology().get(key))
    if skill is not None:
        out.append(Metric("skill_vs_climatology", skill, now_ms, 0))
    n_fail = sum(1 for m, _, _ in result.failures if m == key)
    out.append(Metric("n_failures", float(n_fail), now_ms, 0))
    return out


def _forecast_table(items: Sequence[OriginForecast]) -> pd.DataFrame:
    frames = []
    for f in items:
        if f.forecast is None:
            continue
        fc = f.forecast
        q = fc.quantiles(FORECAST_QUANTILES)
        frame = pd.DataFrame(
            {
                "origin": f.origin.date().isoformat(),
                "date": [d.date().isoformat() for d in fc.index],
                "horizon": np.arange(1, fc.horizon + 1),
                "mean": fc.mean(),
                **{f"q{lv:g}": q[i] for i, lv in enumerate(FORECAST_QUANTILES)},
                "p_any": fc.prob_at_least(1),
                "truth": f.truth[: fc.horizon],
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _write_artifacts(result: BacktestResult, key: str, folder: Path, plots_too: bool) -> None:
    tables = folder / "tables"
    plots = folder / "plots"
    tables.mkdir()
    plots.mkdir()
    po = result.per_origin
    mine = po[po["model"] == key] if not po.empty else po
    mine.to_csv(tables / "per_origin_scores.csv", index=False)
    items = [f for f in result.forecasts if f.model == key]
    _forecast_table(items).to_csv(tables / "forecasts.csv", index=False)
    fails = [(o, r) for m, o, r in result.failures if m == key]
    if fails:
        pd.DataFrame(
            {"origin": [o.date().isoformat() for o, _ in fails], "reason": [r for _, r in fails]}
        ).to_csv(tables / "failures.csv", index=False)
    if not plots_too:
        return
    done = [f for f in items if f.forecast is not None]
    if done:
        last = done[-1]
        assert last.forecast is not None
        title = f"{key}: forecast from {last.origin:%Y-%m-%d} against what happened"
        _save(
            fan_chart(last.forecast, last.truth[: last.forecast.horizon], title=title),
            plots / "fan_chart.png",
        )
    if not mine.empty:
        pit = mine["pit"].to_numpy(dtype=float)
        _save(pit_histogram(pit, title=f"{key}: randomized PIT"), plots / "pit_histogram.png")
        nominal = list(COVERAGE_LEVELS)
        observed = [float(np.nanmean(mine[f"coverage_{round(c * 100)}"])) for c in nominal]
        if all(math.isfinite(v) for v in observed):
            fig = reliability_plot(nominal, observed, labels=[key], title=f"{key}: coverage")
            _save(fig, plots / "reliability.png")


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path)
    fig.clear()  # a Figure made without pyplot is freed with its last reference


def _log_batches(
    client: MlflowClient,
    run_id: str,
    params: Mapping[str, str],
    metrics: Sequence[Metric],
    tags: Mapping[str, str],
) -> None:
    client.log_batch(
        run_id,
        params=[Param(k, v) for k, v in params.items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    for i in range(0, len(metrics), _MAX_BATCH):
        client.log_batch(run_id, metrics=list(metrics[i : i + _MAX_BATCH]))


def log_backtest(
    result: BacktestResult,
    *,
    tracking_uri: str,
    experiment: str | None = None,
    configs: Sequence[ModelConfig] = (),
    n_samples: int | None = None,
    seed: int | None = None,
    tags: Mapping[str, str] | None = None,
    artifact_root: str | None = None,
    plots: bool = True,
) -> dict[str, str]:
    """Log one run per model of ``result`` into ``experiment`` (default
    ``experiment_name(result.series)``) and return ``{model key: run id}``.

    ``configs`` supplies the constructor params of each key (matched by ``key``);
    ``n_samples`` and ``seed`` are logged when given; ``tags`` go on every run. Models
    skipped by the backtest get no run; ``plots=False`` leaves the PNGs out (drawing them
    is most of the logging time). Raises ``mlflow.exceptions.MlflowException``
    (or a connection error) when the tracking store refuses or cannot be reached; a run
    that was started is then marked FAILED.
    """
    client = mlflow_client(tracking_uri)
    exp_id = ensure_experiment(
        client,
        experiment or experiment_name(result.series),
        tracking_uri=tracking_uri,
        artifact_root=artifact_root,
    )
    by_key = {c.key: c for c in configs}
    run_ids: dict[str, str] = {}
    for key in result.models:
        fails = [r for m, _, r in result.failures if m == key]
        run_tags = {
            "cadence.series": result.series,
            "cadence.model_key": key,
            "cadence.failed": "true" if fails else "false",
            **(tags or {}),
        }
        if fails:
            run_tags["cadence.failures"] = "; ".join(fails[:5])[:_MAX_PARAM]
        with quiet_mlflow():
            run = client.create_run(exp_id, run_name=key, tags=run_tags)
            run_id = run.info.run_id
            with terminated_run(client, run_id):
                now_ms = int(time.time() * 1000)
                _log_batches(
                    client,
                    run_id,
                    _params(result, key, by_key.get(key), n_samples, seed),
                    _metrics(result, key, now_ms),
                    {},
                )
                with tempfile.TemporaryDirectory(prefix="cadence-run-") as tmp:
                    _write_artifacts(result, key, Path(tmp), plots)
                    client.log_artifacts(run_id, tmp)
        run_ids[key] = run_id
    return run_ids


@contextlib.contextmanager
def terminated_run(client: MlflowClient, run_id: str) -> Iterator[None]:
    """End ``run_id`` as ``FINISHED`` when the block completes, ``FAILED`` (best effort)
    when it raises; the exception goes on."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")


def run_metrics(tracking_uri: str, run_id: str) -> dict[str, Any]:
    """Latest metrics of a run by name (for reports and tests)."""
    with quiet_mlflow():
        return dict(mlflow_client(tracking_uri).get_run(run_id).data.metrics)
