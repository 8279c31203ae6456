"""The weekly retrain inside the service: an APScheduler ``BackgroundScheduler``.

Enabled by configuration: the service calls ``start_retrain_scheduler`` when a cron
expression is configured (e.g. ``CADENCE_RETRAIN_CRON="0 3 * * 1"``, Mondays 03:00 UTC)
and leaves it off otherwise. Everything comes in as arguments; this module reads no
settings.

Several replicas may each run the schedule: the jobs table's one-running-job lock lets
one retrain per series through and the others log the conflict and skip that series.
A run missed while the service was down starts when it comes back within
``misfire_grace`` (several missed runs coalesce into one); a run still going when the
next is due is not doubled (``max_instances=1``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from cadence.experiments.backtest import ModelConfig
from cadence.experiments.driver_futures import DETERMINISTIC, DriverFuturesConfig
from cadence.jobs.retrain.job import DEFAULT_CANDIDATES, RetrainOutcome, retrain
from cadence.service.settings import JobLease
from cadence.store.errors import ConflictError
from cadence.store.jobs_repo import DEFAULT_HEARTBEAT, DEFAULT_LEASE_EXPIRY
from cadence.store.series_repo import list_series

__all__ = ["RETRAIN_JOB_ID", "retrain_all", "retrain_trigger", "start_retrain_scheduler"]

log = logging.getLogger(__name__)
RETRAIN_JOB_ID = "cadence-weekly-retrain"


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_days(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday, names, ranges, lists, steps) as
    APScheduler day names. APScheduler 3 numbers days from Monday = 0, so passing ``1``
    through would fire on Tuesdays; explicit names mean the same day in both."""
    if field == "*":
        return "*"

    def day(tok: str) -> int:
        t = tok.strip().lower()[:3]
        if t in _DAY_NAMES:
            return _DAY_NAMES.index(t)
        if not t.isdigit() or int(t) > 7:
            raise ValueError(f"day of week: expected 0-7 or a day name, got {tok!r}")
        return int(t) % 7

    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"day of week: step must be >= 1, got {part!r}")
        if span == "*":
            lo, hi = 0, 6
        elif "-" in span:
            a, b = span.split("-", 1)
            lo, hi = day(a), day(b)
            if b.strip() == "7":
                hi = 7  # "5-7" runs Friday to Sunday
        else:
            lo = hi = day(span)
        if hi < lo:
            raise ValueError(f"day of week: range runs backwards in {part!r}")
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def retrain_trigger(cron: str) -> CronTrigger:
    """A UTC trigger from a five-field crontab line (``minute hour day month weekday``,
    standard crontab meaning); ``ValueError`` when malformed."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"cron: expected 5 fields (minute hour day month weekday), got {cron!r}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_crontab_days(weekday),
        timezone=dt.UTC,
    )


def retrain_all(
    engine: Engine,
    tracking_uri: str,
    *,
    series: Sequence[str] | None = None,
    candidates: Sequence[ModelConfig] = DEFAULT_CANDIDATES,
    horizon: int = 28,
    n_samples: int = 1000,
    lease: JobLease | None = None,
    drivers: DriverFuturesConfig = DETERMINISTIC,
) -> list[RetrainOutcome]:
    """Retrain ``series`` (default: every declared series) one after another. A series
    already being retrained elsewhere is skipped with a log line; failures are recorded
    on their job rows by ``retrain`` and logged here. ``lease``: ``retrain``'s
    ``heartbeat_every`` and ``stale_after`` (``Settings.job_lease``); ``drivers``: the
    served forecasts' driver futures (``Settings.drivers``)."""
    names = list(series) if series is not None else [s.name for s in list_series(engine)]
    lease = lease or JobLease(heartbeat_every=DEFAULT_HEARTBEAT, stale_after=DEFAULT_LEASE_EXPIRY)
    outcomes = []
    for name in names:
        try:
            outcome = retrain(
                engine,
                name,
                tracking_uri=tracking_uri,
                candidates=candidates,
                horizon=horizon,
                n_samples=n_samples,
                drivers=drivers,
                **lease,
            )
        except ConflictError as exc:
            log.info("scheduled retrain of %s skipped: %s", name, exc)
            continue
        level = logging.WARNING if outcome.status == "failed" else logging.INFO
        log.log(level, "scheduled retrain of %s: %s (%s)", name, outcome.status, outcome.reason)
        outcomes.append(outcome)
    return outcomes


def start_retrain_scheduler(
    engine: Engine,
    tracking_uri: str,
    cron: str,
    *,
    series: Sequence[str] | None = None,
    candidates: Sequence[ModelConfig] = DEFAULT_CANDIDATES,
    horizon: int = 28,
    n_samples: int = 1000,
    misfire_grace: dt.timedelta = dt.timedelta(hours=6),
    start: bool = True,
    lease: JobLease | None = None,
    drivers: DriverFuturesConfig = DETERMINISTIC,
) -> BackgroundScheduler:
    """A background scheduler running ``retrain_all`` on ``cron`` (UTC). The caller
    keeps it and calls ``shutdown(wait=False)`` when the service stops."""
    scheduler = BackgroundScheduler(timezone=dt.UTC)
    scheduler.add_job(
        retrain_all,
        trigger=retrain_trigger(cron),
        args=(engine, tracking_uri),
        kwargs={
            "series": list(series) if series is not None else None,
            "candidates": list(candidates),
            "horizon": horizon,
            "n_samples": n_samples,
            "lease": lease,
            "drivers": drivers,
        },
        id=RETRAIN_JOB_ID,
        name="weekly retrain",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=int(misfire_grace.total_seconds()),
        replace_existing=True,
    )
    if start:
        scheduler.start()
    return scheduler
