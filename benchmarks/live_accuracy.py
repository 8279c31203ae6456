"""Live accuracy on the bundled ``israel-alerts`` series: weekly forecasts of spring 2024
served as they would have been, then scored as the truth arrives.

    python benchmarks/live_accuracy.py [--home DIR] [--models default] [--first 2024-03-31]
                                       [--last 2024-06-23] [--retrain-weekly]

1. A fresh ``CADENCE_HOME`` and a copy of ``data/`` whose alert counts stop at
   ``--first``; ``cadence load-bundled`` loads it (every other bundled file in full:
   the drivers are read by event date, so nothing dated after an origin reaches its fit).
2. ``cadence retrain --series israel-alerts --models MODELS``: the champion a retrain
   picks on the data to ``--first`` (registered in MLflow).
3. Every Sunday after ``--first`` to ``--last``: that week's alert counts are ingested
   with ``cadence ingest counts`` (which scores the forecasts served so far against
   them), then the champion's configuration is refitted on the rows stored by then
   (``replay(..., known_at=now)``) and its 28-day forecast is stored as a served
   ``champion`` forecast (its model version and run id are the retrained champion's;
   the configuration is not re-selected weekly). With ``--retrain-weekly`` the weekly
   retrain runs instead, as an operator's schedule would: ``cadence retrain`` re-selects
   the champion (an unproven one competes as a candidate) and serves its forecast.
4. The rest of the counts (to 2024-06-30, the end of the bundled data) are ingested, and
   ``cadence accuracy --series israel-alerts`` prints the table (``--json`` also written
   to ``HOME/accuracy.json``).

The alert counts are real (see data/README.md); the forecasts are replays, labelled so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SERIES = "israel-alerts"
ALERTS = Path("oref-dleshem-commitlog/daily_alerts_added_by_commit_date_israel.csv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--home", type=Path, default=None, help="CADENCE_HOME (default: a temp dir)")
    ap.add_argument("--models", default="default", help="candidates of the first retrain")
    ap.add_argument("--first", default="2024-03-31", help="first weekly origin (a Sunday)")
    ap.add_argument("--last", default="2024-06-23", help="last weekly origin")
    ap.add_argument(
        "--retrain-weekly",
        action="store_true",
        help="run the weekly retrain every Sunday (re-selecting the champion) instead of "
        "refitting the first retrain's configuration",
    )
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="cadence-live-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["CADENCE_HOME"] = str(home)
    for var in ("CADENCE_DATABASE_URL", "CADENCE_MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)
    data = home / "data"
    shutil.copytree(REPO / "data", data, dirs_exist_ok=True)
    full = pd.read_csv(REPO / "data" / ALERTS, dtype=str)
    first, last = pd.Timestamp(args.first), pd.Timestamp(args.last)
    full[pd.to_datetime(full["date_israel"]) <= first].to_csv(data / ALERTS, index=False)
    os.environ["CADENCE_DATA_DIR"] = str(data)

    # imported after the environment is set: the CLI reads settings at call time
    from cadence.experiments import model_registry
    from cadence.jobs.replay import replay
    from cadence.service.bundled import alert_counts
    from cadence.service.cli import main as cli
    from cadence.service.settings import Settings
    from cadence.store.engine import make_engine
    from cadence.store.forecasts_repo import NewForecast, write_forecasts
    from cadence.store.tables import utcnow

    def run(*argv: str) -> None:
        print("$ cadence " + " ".join(argv), file=sys.stderr, flush=True)
        code = cli(list(argv))
        if code != 0:
            raise SystemExit(f"cadence {' '.join(argv)} exited with {code}")

    counts = alert_counts(REPO / "data")
    days = pd.to_datetime(counts["date"])

    def ingest(after: pd.Timestamp, upto: pd.Timestamp) -> None:
        part = counts[(days > after) & (days <= upto)]
        path = home / f"alerts-{upto:%Y-%m-%d}.csv"
        part.to_csv(path, index=False)
        run("ingest", "counts", str(path), "--source", "oref-dleshem-commitlog")

    t0 = time.perf_counter()
    run("load-bundled")
    run("retrain", "--series", SERIES, "--models", args.models)
    settings = Settings()
    champ = model_registry.alias_version(settings.resolved_tracking_uri, SERIES)
    assert champ is not None and champ.config is not None
    print(f"champion: {champ.config.key} v{champ.version}", file=sys.stderr)
    engine = make_engine(settings.resolved_database_url)
    # the retrain served the forecast as of --first; the weeks after it are replayed
    previous, origin = first, first + pd.Timedelta(days=7)
    while origin <= last:
        ingest(previous, origin)
        if args.retrain_weekly:
            run("retrain", "--series", SERIES, "--models", args.models)
            previous, origin = origin, origin + pd.Timedelta(days=7)
            continue
        body, fc = replay(
            engine,
            SERIES,
            origin.date(),
            tracking_uri=settings.resolved_tracking_uri,
            horizon=28,
            n_samples=1000,
            seed=0,
            config=champ.config,
            known_at=utcnow(),
            drivers=settings.drivers,
        )
        generated = utcnow()
        body["model"] = {"name": champ.config.key, "version": champ.version, "run_id": champ.run_id}
        write_forecasts(
            engine,
            SERIES,
            [
                NewForecast(
                    origin=fc.origin.date(),
                    horizon=28,
                    generated_at=generated,
                    model_name=champ.config.key,
                    payload=body,
                    samples=fc.samples,
                    model_version=champ.version,
                    run_id=champ.run_id,
                )
            ],
        )
        print(f"served the forecast as of {origin:%Y-%m-%d}", file=sys.stderr, flush=True)
        previous, origin = origin, origin + pd.Timedelta(days=7)
    ingest(previous, days.max())
    engine.dispose()
    run("accuracy", "--series", SERIES)
    saved = sys.stdout
    with (home / "accuracy.json").open("w") as fh:
        sys.stdout = fh
        try:
            run("accuracy", "--series", SERIES, "--json")
        finally:
            sys.stdout = saved
    print(f"{time.perf_counter() - t0:.0f} s; home {home}", file=sys.stderr)


if __name__ == "__main__":
    main()
