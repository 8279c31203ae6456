"""The registry aliases of a series, kept in step with what the database serves.

The database says what is served; the ``champion`` and ``challenger`` aliases of the
series' registered model follow it. A retrain moves them just before its commit
(``point_alias``) and back if the commit fails (``restore_alias``); ``reconcile`` repairs
them when a process was killed between the move and the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mlflow.exceptions import MlflowException
from sqlalchemy import Engine

from cadence.experiments import model_registry as reg
from cadence.experiments.errors import TrackingError
from cadence.store.forecasts_repo import StoredForecast, current_forecast
from cadence.store.jobs_repo import get_job

__all__ = ["mlflow_call", "point_alias", "reconcile", "restore_alias"]

log = logging.getLogger(__name__)


def mlflow_call(step: str, fn: Callable[[], Any]) -> Any:
    """Run one MLflow interaction; its failures become ``TrackingError`` naming ``step``."""
    try:
        return fn()
    except (MlflowException, OSError) as exc:
        raise TrackingError(
            f"MLflow failed while {step}: {type(exc).__name__}: {exc}", step
        ) from exc


def reconcile(
    engine: Engine, series: str, tracking_uri: str
) -> tuple[reg.RegisteredVersion | None, list[str]]:
    """The champion the registry and the database agree on; notes on what was repaired
    (the champion alias, and the challenger alias recorded by the serving job)."""
    champ = mlflow_call(
        "reading the champion alias", lambda: reg.alias_version(tracking_uri, series)
    )
    served = current_forecast(engine, series, with_samples=False)
    if served is None or served.model_version is None:
        return champ, []
    notes = _reconcile_challenger(engine, series, tracking_uri, served)
    if champ is not None and champ.version == served.model_version:
        return champ, notes
    mlflow_call(
        "restoring the champion alias",
        lambda: reg.set_alias(tracking_uri, series, reg.CHAMPION, str(served.model_version)),
    )
    note = (
        f"champion alias was on version {champ.version if champ else None} but version "
        f"{served.model_version} is served; alias restored"
    )
    log.warning("%s: %s", series, note)
    restored = mlflow_call(
        "reading the champion alias", lambda: reg.alias_version(tracking_uri, series)
    )
    return restored, [note, *notes]


def _reconcile_challenger(
    engine: Engine, series: str, tracking_uri: str, served: StoredForecast
) -> list[str]:
    """Put the ``challenger`` alias back where the job that served the current forecast
    left it (None: removed) when it points at a version registered after that job's
    (champion or challenger): a retrain that moved it and never committed. An alias on an
    older version (set by hand) is left alone; so is a job that recorded no challenger."""
    if served.job_id is None or served.model_version is None:
        return []
    details = get_job(engine, served.job_id).details or {}
    if "challenger_version" not in details:
        return []
    recorded = details["challenger_version"]
    expected = None if recorded is None else str(recorded)
    current = mlflow_call(
        "reading the challenger alias",
        lambda: reg.alias_version(tracking_uri, series, reg.CHALLENGER),
    )
    newest = max(int(v) for v in (served.model_version, expected) if v is not None)
    if current is None or int(current.version) <= newest:
        return []
    mlflow_call(
        "restoring the challenger alias",
        lambda: point_alias(tracking_uri, series, reg.CHALLENGER, expected),
    )
    note = (
        f"challenger alias was on version {current.version}, registered after the served "
        f"forecast by a retrain that never committed; the serving job {served.job_id} "
        f"recorded {expected}; alias restored"
    )
    log.warning("%s: %s", series, note)
    return [note]


def point_alias(tracking_uri: str, series: str, alias: str, version: str | None) -> None:
    """Point ``alias`` at ``version``, or remove it when ``version`` is None."""
    if version is None:
        reg.remove_alias(tracking_uri, series, alias)
    else:
        reg.set_alias(tracking_uri, series, alias, version)


def restore_alias(tracking_uri: str, series: str, alias: str, previous: str | None) -> None:
    try:
        point_alias(tracking_uri, series, alias, previous)
    except (MlflowException, OSError) as exc:
        # champion: the next retrain's reconcile step repairs it from the served forecast;
        # challenger: the next retrain moves it
        log.error("%s: could not move the %s alias back: %s", series, alias, exc)
