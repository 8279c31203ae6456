"""MLflow runs of many-series backtests, bounded: one run per model per family.

A family of a thousand series logged like a single series would be a thousand
experiments and several thousand runs (each with plots), which makes the tracking UI and
its searches unusable and costs more than the fits. Here the members of a family
(``<family>/<value>``, ``features.families.family_of``) share the family's experiment
(``experiment_name(family)``) and each model gets **one run** holding:

* params: ``model``, ``model_key``, ``family``, ``n_series``, ``frequency``, ``horizon``,
  ``n_samples``, ``seed``, ``code_version``;
* metrics: ``n_series`` scored, ``n_failed_series``, ``share_beating_climatology``,
  ``mean_skill``, ``median_skill``, ``mean_crps`` (mean over series of each series'
  overall CRPS);
* artifacts: ``tables/per_series_scores.csv`` (one row per series: every score over all
  horizons, skill against climatology, origins, failed fits) and
  ``tables/failed_series.csv`` (series that produced no result, with the reason);
* tags: ``cadence.family``, ``cadence.model_key``, ``cadence.kind`` = ``family``.

A series outside any family (its name has no ``/``) is logged as before, one run per
model in its own experiment (``tracking.log_backtest``, without plots). The number of
runs is therefore models x (families + lone series), whatever the size of the families.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric, Param, RunTag

from cadence.experiments.backtest import BacktestResult, ModelConfig
from cadence.experiments.many.backtest import ManyResult
from cadence.experiments.many.summary import skill_summary
from cadence.experiments.numbers import finite_or_none
from cadence.experiments.scoring import METRICS
from cadence.experiments.tracking import (
    code_version,
    ensure_experiment,
    experiment_name,
    log_backtest,
    mlflow_client,
    quiet_mlflow,
    terminated_run,
)
from cadence.features.families import family_of

__all__ = ["log_many", "per_series_table"]


def per_series_table(results: Sequence[BacktestResult], key: str) -> pd.DataFrame:
    """One row per series for model ``key``: ``series``, the overall scores
    (``METRICS``, ``n``), ``skill_vs_climatology``, ``n_origins``, ``n_failures``."""
    rows = []
    for r in results:
        if key not in r.models:
            continue
        skill = r.skill_vs_climatology().get(key, math.nan)
        row: dict[str, object] = {"series": r.series}
        overall = r.scores[(r.scores["model"] == key) & (r.scores["horizon"].astype(str) == "all")]
        for m in (*METRICS, "n"):
            row[m] = float(overall[m].iloc[0]) if len(overall) else math.nan
        row["skill_vs_climatology"] = skill
        row["n_origins"] = len(r.origins)
        row["n_failures"] = sum(1 for m, _, _ in r.failures if m == key)
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["series", *METRICS, "n", "skill_vs_climatology", "n_origins", "n_failures"]
    )


def _log_family(
    family: str,
    results: Sequence[BacktestResult],
    failed: Mapping[str, str],
    *,
    tracking_uri: str,
    configs: Sequence[ModelConfig],
    n_samples: int,
    seed: int,
) -> dict[str, str]:
    client = mlflow_client(tracking_uri)
    exp_id = ensure_experiment(client, experiment_name(family), tracking_uri=tracking_uri)
    keys = list(dict.fromkeys(k for r in results for k in r.models))
    by_key = {c.key: c for c in configs}
    summary = skill_summary({r.series: r.skill_vs_climatology() for r in results}, failed=failed)
    first = results[0] if results else None
    run_ids: dict[str, str] = {}
    for key in keys:
        table = per_series_table(results, key)
        config = by_key.get(key)
        params = {
            "model": config.name if config is not None else key.split("[", 1)[0],
            "model_key": key,
            "family": family,
            "n_series": str(len(results) + len(failed)),
            "frequency": first.frequency if first else "-",
            "horizon": str(first.horizon) if first else "-",
            "n_samples": str(n_samples),
            "seed": str(seed),
            "code_version": code_version(),
        }
        stats = summary["models"].get(key, {})
        values = {
            "n_series": float(table["crps"].notna().sum()),
            "n_failed_series": float(len(failed)),
            "share_beating_climatology": stats.get("share_beating_climatology"),
            "mean_skill": stats.get("mean_skill"),
            "median_skill": stats.get("median_skill"),
            "mean_crps": float(table["crps"].mean()) if table["crps"].notna().any() else None,
        }
        now = int(time.time() * 1000)
        metrics = [
            Metric(k, v, now, 0) for k, x in values.items() if (v := finite_or_none(x)) is not None
        ]
        tags = {"cadence.family": family, "cadence.model_key": key, "cadence.kind": "family"}
        with quiet_mlflow():
            run = client.create_run(exp_id, run_name=key, tags=tags)
            run_id = run.info.run_id
            with terminated_run(client, run_id):
                client.log_batch(
                    run_id,
                    metrics=metrics,
                    params=[Param(k, v[:500]) for k, v in params.items()],
                    tags=[RunTag(k, v) for k, v in tags.items()],
                )
                with tempfile.TemporaryDirectory(prefix="cadence-family-") as tmp:
                    folder = Path(tmp) / "tables"
                    folder.mkdir()
                    table.to_csv(folder / "per_series_scores.csv", index=False)
                    if failed:
                        pd.DataFrame(
                            {"series": list(failed), "error": list(failed.values())}
                        ).to_csv(folder / "failed_series.csv", index=False)
                    client.log_artifacts(run_id, tmp)
        run_ids[key] = run_id
    return run_ids


def log_many(
    result: ManyResult,
    *,
    tracking_uri: str,
    configs: Sequence[ModelConfig] = (),
    n_samples: int = 0,
    seed: int = 0,
) -> dict[str, dict[str, str]]:
    """Log ``result`` (see the module) and return series -> model key -> run id (the
    family's run for members)."""
    groups: dict[str, list[BacktestResult]] = {}
    lone: list[BacktestResult] = []
    for r in result.results:
        fam = family_of(r.series)
        if fam is None:
            lone.append(r)
        else:
            groups.setdefault(fam, []).append(r)
    failed_by: dict[str, dict[str, str]] = {}
    for name, reason in result.failed.items():
        fam = family_of(name)
        if fam is not None:
            failed_by.setdefault(fam, {})[name] = reason
            groups.setdefault(fam, [])
    out: dict[str, dict[str, str]] = {}
    for fam, members in groups.items():
        ids = _log_family(
            fam,
            members,
            failed_by.get(fam, {}),
            tracking_uri=tracking_uri,
            configs=configs,
            n_samples=n_samples,
            seed=seed,
        )
        for r in members:
            out[r.series] = dict(ids)
    for r in lone:
        out[r.series] = log_backtest(
            r,
            tracking_uri=tracking_uri,
            configs=configs,
            n_samples=n_samples,
            seed=seed,
            plots=False,
        )
    return out
