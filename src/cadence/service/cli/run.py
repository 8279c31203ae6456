"""``cadence load-bundled`` and ``cadence run`` (the main job on embedded defaults)."""

from __future__ import annotations

import typer
from rich.table import Table

from cadence.features.errors import FeatureError
from cadence.service.bundled import load_bundled
from cadence.service.cli.app import app, engine_for, err, out, print_json, settings
from cadence.service.cli.ingest import show_summary
from cadence.service.cli.serve import serve as serve_api
from cadence.service.panels import load_panel
from cadence.service.scheduler import retrain_all
from cadence.store.errors import NotFoundError
from cadence.store.reads import table_counts
from cadence.store.series_repo import list_series


def _load(as_json: bool) -> dict[str, object]:
    s = settings()
    engine = engine_for(s)
    loaded = load_bundled(
        engine,
        s.data_dir,
        s.home / "work",
        progress=None if as_json else (lambda m: err.print(f"loading {m}", highlight=False)),
    )
    if not as_json:
        for name, status in loaded.catalog.items():
            out.print(f"series {name}: {status}")
        for summary in loaded.ingests:
            show_summary(summary, False)
    return {"catalog": loaded.catalog, "ingests": [i.as_dict() for i in loaded.ingests]}


@app.command("load-bundled")
def load_bundled_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """Declare the bundled series and load the shipped real data (idempotent)."""
    result = _load(as_json)
    if as_json:
        print_json(result)


def series_summary() -> list[dict[str, object]]:
    """Per series: the span of its panel, periods known one by one, interval totals, and
    the total count (daily counts plus interval totals)."""
    engine = engine_for()
    rows: list[dict[str, object]] = []
    for s in list_series(engine):
        frame, intervals = None, None
        try:
            p = load_panel(engine, s.name)
            frame, intervals = p.frame, p.intervals
        except (FeatureError, NotFoundError, ValueError):
            pass  # a declared series with no data yet
        known = 0 if frame is None else int(frame["count"].notna().sum())
        total = None
        if frame is not None and intervals is not None:
            total = int(frame["count"].sum(skipna=True) + intervals["count"].sum())
        rows.append(
            {
                "series": s.name,
                "frequency": s.frequency,
                "target": "observations" if s.observed else "events",
                "first": None if frame is None else str(frame.index[0].date()),
                "last": None if frame is None else str(frame.index[-1].date()),
                "periods_known": known,
                "intervals": 0 if intervals is None else len(intervals),
                "total": total,
            }
        )
    return rows


@app.command("run")
def run(
    as_json: bool = typer.Option(False, "--json"),
    retrain: bool = typer.Option(True, help="retrain every series (champion + served forecast)"),
    serve: bool = typer.Option(False, help="then serve the API until interrupted"),
    host: str = typer.Option("127.0.0.1", help="with --serve: interface"),
    port: int = typer.Option(8000, help="with --serve: TCP port"),
) -> None:
    """The main job on embedded defaults: migrate, load the bundled data, retrain every
    series (a champion in the MLflow registry, its forecast stored), summarise, and with
    --serve keep serving the API."""
    loaded = _load(as_json)
    s = settings()
    outcomes: list[dict[str, object]] = []
    if retrain:
        if not as_json:
            err.print("retraining every series (backtests, MLflow runs, registry)...")
        for o in retrain_all(engine_for(s), s.resolved_tracking_uri, lease=s.job_lease):
            outcomes.append(
                {
                    "series": o.series,
                    "status": o.status,
                    "champion": o.champion,
                    "version": o.champion_version,
                    "reason": o.reason,
                }
            )
    summary = series_summary()
    counts = table_counts(engine_for())
    if as_json:
        print_json({"load": loaded, "series": summary, "retrain": outcomes, "tables": counts})
    else:
        _print_summary(summary, outcomes, counts, host, port)
    if serve:
        serve_api(host=host, port=port, workers=1)


def _print_summary(
    summary: list[dict[str, object]],
    outcomes: list[dict[str, object]],
    counts: dict[str, int],
    host: str,
    port: int,
) -> None:
    """The bundled series, the retrain outcomes and the stored rows, as tables."""
    t = Table(title="bundled series")
    keys = (
        "series",
        "frequency",
        "target",
        "first",
        "last",
        "periods_known",
        "intervals",
        "total",
    )
    for col in (
        "series",
        "freq",
        "target",
        "first",
        "last",
        "periods known",
        "intervals",
        "total",
    ):
        t.add_column(col, no_wrap=True)
    for r in summary:
        t.add_row(*(str(r[k]) if r[k] is not None else "-" for k in keys))
    out.print(t)
    if outcomes:
        rt = Table(title="retrain")
        for col in ("series", "status", "champion", "version", "reason"):
            rt.add_column(col)
        for row in outcomes:
            cells = ("series", "status", "champion", "version", "reason")
            rt.add_row(*(str(row[k] or "-") for k in cells))
        out.print(rt)
    out.print("stored rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    out.print(
        f"forecast: cadence forecast --series israel-alerts   or, with the API "
        f"running:  curl -s http://{host}:{port}/v1/series/israel-alerts/forecast"
    )
