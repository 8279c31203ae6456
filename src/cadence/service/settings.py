"""Settings: the only place that reads the environment (prefix ``CADENCE_``).

Lower layers take explicit arguments built from these values.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self, TypedDict

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cadence.experiments.driver_futures import DriverFuturesConfig
from cadence.store.bounds import FIRST_DATE, FUTURE_MARGIN_DAYS, DateWindow

# the repository's data/ folder when running from a checkout or an editable install
_REPO_DATA = Path(__file__).resolve().parents[3] / "data"


class JobLease(TypedDict):
    """``retrain``'s lease arguments: renew every ``heartbeat_every``; a job not renewed
    for ``stale_after`` is taken over."""

    heartbeat_every: dt.timedelta
    stale_after: dt.timedelta


class Settings(BaseSettings):
    """Every setting, with its environment variable ``CADENCE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CADENCE_", extra="ignore")

    home: Path = Field(
        default=Path(".cadence"),
        description="data directory: the SQLite database, MLflow store, job files",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file cadence.db under home",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; default: a SQLite store mlflow.db under home",
    )
    data_dir: Path = Field(
        default=_REPO_DATA, description="folder of the bundled data and series catalog"
    )

    open_reads: bool = Field(default=True, description="serve GET endpoints without an API key")
    max_batch_rows: int = Field(
        default=10_000, description="most rows one POST of events, statements or counts may carry"
    )
    forecast_cache_seconds: float = Field(
        default=2.0, description="how long a served forecast body is reused before re-checking"
    )
    retrain_cron: str | None = Field(
        default=None,
        description="weekly retraining inside the service, a crontab line in UTC "
        "(e.g. '0 3 * * 1'); unset: no schedule (use cron or a Kubernetes CronJob)",
    )
    retrain_models: str = Field(
        default="default",
        description="candidates of a retrain started by the service (schedule or POST "
        "/v1/retrain): 'default', 'all' or comma-separated model names",
    )
    ingest_first_date: dt.date = Field(
        default=FIRST_DATE, description="earliest date an ingested row may carry"
    )
    ingest_future_days: int = Field(
        default=FUTURE_MARGIN_DAYS,
        ge=0,
        description="how many days after today (UTC) an ingested date may fall",
    )
    max_body_bytes: int = Field(default=10_000_000, description="largest request body accepted")
    scenario_max_samples: int = Field(
        default=2000, ge=1, description="most sample paths one scenario request may ask for"
    )
    scenario_max_events: int = Field(
        default=20, ge=1, description="most hypothetical events in one scenario request"
    )
    scenario_timeout_seconds: float = Field(
        default=10.0, gt=0, description="a scenario taking longer is abandoned with 422"
    )
    rescore_debounce_seconds: float = Field(
        default=2.0, ge=0, description="writes within this many seconds share one rescoring"
    )
    rescore_max_pending: int = Field(
        default=1000, ge=1, description="most series waiting for a rescoring after writes"
    )
    accuracy_coverage_low: float = Field(
        default=0.65, ge=0, le=1, description="drift alarm below this rolling 80% coverage"
    )
    accuracy_coverage_high: float = Field(
        default=0.92, ge=0, le=1, description="drift alarm above this rolling 80% coverage"
    )
    accuracy_window_days: int = Field(
        default=56, ge=1, description="days of scored periods in the rolling accuracy window"
    )
    accuracy_min_scores: int = Field(
        default=14, ge=1, description="fewest period scores in the window before an alarm"
    )
    driver_futures: Literal["none", "simulated"] = Field(
        default="none",
        description="strikes and statements after the origin in served forecasts and "
        "scenario baselines of models that read them: none (the deterministic continuation) "
        "or simulated from a driver process fitted at the origin",
    )
    driver_paths: int = Field(
        default=20, ge=1, le=200, description="simulated driver futures per forecast"
    )
    driver_process: Literal["rate", "self_exciting"] = Field(
        default="rate", description="the simulated driver process: rate or self_exciting"
    )
    job_heartbeat_seconds: float = Field(
        default=10.0, gt=0, description="a running job renews its lease this often"
    )
    job_lease_seconds: float = Field(
        default=45.0,
        gt=0,
        description="a running job not renewed for this long (its process died) is taken "
        "over by the next one; several heartbeats long",
    )

    @model_validator(mode="after")
    def _lease_outlives_beats(self) -> Self:
        if self.job_lease_seconds <= self.job_heartbeat_seconds:
            raise ValueError(
                f"job_lease_seconds ({self.job_lease_seconds:g}) must be longer than "
                f"job_heartbeat_seconds ({self.job_heartbeat_seconds:g}): several beats"
            )
        return self

    @property
    def job_lease(self) -> JobLease:
        """The lease keyword arguments of ``retrain``: ``heartbeat_every``, ``stale_after``."""
        return JobLease(
            heartbeat_every=dt.timedelta(seconds=self.job_heartbeat_seconds),
            stale_after=dt.timedelta(seconds=self.job_lease_seconds),
        )

    @property
    def drivers(self) -> DriverFuturesConfig:
        """The driver futures of served forecasts and scenario baselines."""
        return DriverFuturesConfig(
            self.driver_futures, paths=self.driver_paths, process=self.driver_process
        )

    def ingest_window(self) -> DateWindow:
        """The dates ingest accepts today: ``ingest_first_date`` to today plus
        ``ingest_future_days``."""
        today = dt.datetime.now(dt.UTC).date()
        return DateWindow.until(
            today, first=self.ingest_first_date, margin_days=self.ingest_future_days
        )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'cadence.db').resolve()}"

    @property
    def resolved_tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
