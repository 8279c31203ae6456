"""``cadence load-bundled`` and ``cadence run`` (the main job on embedded defaults)."""

from __future__ import annotations

import typer
from rich.table import Table

from cadence.service.bundled import load_bundled
from cadence.service.cli.app import app, engine_for, err, out, print_json, settings
from cadence.service.cli.ingest import show_summary
from cadence.store.reads import observations_frame, table_counts
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
    engine = engine_for()
    rows: list[dict[str, object]] = []
    for s in list_series(engine):
        obs = observations_frame(engine, s.name) if s.observed else None
        rows.append(
            {
                "series": s.name,
                "frequency": s.frequency,
                "target": "observations" if s.observed else "events",
                "observations": 0 if obs is None else len(obs),
                "first": None if obs is None or obs.empty else str(obs["start"].min().date()),
                "last": None if obs is None or obs.empty else str((obs["end"].max()).date()),
                "total": None if obs is None else int(obs["count"].sum()),
            }
        )
    return rows


@app.command("run")
def run(as_json: bool = typer.Option(False, "--json")) -> None:
    """The main job on embedded defaults: migrate, load the bundled data, summarise."""
    loaded = _load(as_json)
    summary = series_summary()
    counts = table_counts(engine_for())
    if as_json:
        print_json({"load": loaded, "series": summary, "tables": counts})
        return
    t = Table(title="bundled series")
    for col in ("series", "freq", "target", "observations", "first day", "end (excl.)", "total"):
        t.add_column(col)
    for r in summary:
        t.add_row(
            *(
                str(r[k]) if r[k] is not None else "-"
                for k in ("series", "frequency", "target", "observations", "first", "last", "total")
            )
        )
    out.print(t)
    out.print("stored rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
