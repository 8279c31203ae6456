"""The live accuracy of a champion, logged to the MLflow run its served forecast names.

Metrics (one point per call, stepped by the number of period scores in the window):
``live_crps``, ``live_log_score``, ``live_coverage_50/80/95``, ``live_crps_matched`` and
``live_baseline_crps`` (the same pairs, Climatology), ``live_n`` and ``live_alarm``
(1 when the drift alarm is raised).
"""

from __future__ import annotations

import math
import time

from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

from cadence.experiments.accuracy.rolling import Rolling
from cadence.experiments.errors import TrackingError
from cadence.experiments.tracking import mlflow_client, quiet_mlflow

__all__ = ["log_live_accuracy"]


def log_live_accuracy(tracking_uri: str, run_id: str, rolling: Rolling) -> dict[str, float]:
    """Log ``rolling`` to run ``run_id``; returns the metrics logged. ``TrackingError``
    when MLflow refuses (unknown run, store down)."""
    values = {
        "live_crps": rolling.crps,
        "live_log_score": rolling.log_score,
        "live_coverage_50": rolling.coverage_50,
        "live_coverage_80": rolling.coverage_80,
        "live_coverage_95": rolling.coverage_95,
        "live_crps_matched": rolling.crps_matched,
        "live_baseline_crps": rolling.baseline_crps,
        "live_n": float(rolling.n),
        "live_alarm": 1.0 if rolling.alarm else 0.0,
    }
    finite = {k: float(v) for k, v in values.items() if math.isfinite(float(v))}
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, rolling.n) for k, v in finite.items()]
    try:
        with quiet_mlflow():
            mlflow_client(tracking_uri).log_batch(run_id, metrics=metrics)
    except MlflowException as exc:
        raise TrackingError(f"run {run_id}: {exc}", "logging live accuracy") from exc
    return finite
