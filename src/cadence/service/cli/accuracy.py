"""``cadence accuracy``: how the served forecasts of a series scored once the truth came.

``cadence accuracy --series NAME [--since YYYY-MM-DD] [--kind champion] [--rescore]
[--json]`` prints one row per scored forecast (origin, model version, periods scored,
mean CRPS against Climatology's on the same periods, log score, 50/80/95% coverage,
mean PIT, 7/14/28-day window CRPS), the pooled totals, and the rolling window with the
drift alarm. ``--rescore`` first scores every stored forecast against the truth stored
now (what an ingest does on its own). ``--json`` prints the API's accuracy body.
Exit status: 0 printed (alarm or not), 2 bad input (unknown series, a bad date).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer
from rich import box
from rich.table import Table

from cadence.service.accuracy.report import accuracy_body
from cadence.service.accuracy.rescoring import band_from, rescore
from cadence.service.cli.app import app, engine_for, err, out, print_json, settings
from cadence.store.forecasts_repo import KIND_CHAMPION


def _f(x: Any, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _score_cells(row: dict[str, Any]) -> list[str]:
    """Periods scored, CRPS, Climatology's CRPS, log score, coverages and mean PIT."""
    return [
        str(row["n"]),
        _f(row["crps"], 1),
        _f(row["baseline_crps"], 1),
        _f(row["log_score"], 2),
        _f(row["coverage_50"], 2),
        _f(row["coverage_80"], 2),
        _f(row["coverage_95"], 2),
        _f(row["pit_mean"], 2),
    ]


def _since(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"expected a date YYYY-MM-DD, got {text!r}", param_hint="--since"
        ) from exc


@app.command("accuracy")
def accuracy_cmd(
    series: str = typer.Option(..., help="series name"),
    since: str | None = typer.Option(None, help="only periods from this day, YYYY-MM-DD"),
    kind: str = typer.Option(KIND_CHAMPION, help="forecast kind (champion, replay, ...)"),
    rescore_first: bool = typer.Option(
        False, "--rescore", help="score every stored forecast against the truth stored now"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the accuracy body as JSON"),
) -> int:
    """Scores of the served forecasts of SERIES against what happened."""
    day = _since(since)
    s = settings()
    engine = engine_for(s)
    if rescore_first:
        for run in rescore(engine, [series], s):
            err.print(
                f"{run.series}: {run.scored} targets of {run.forecasts} forecasts scored "
                f"({run.counts.inserted} new, {run.counts.changed} changed, "
                f"{run.counts.unchanged} unchanged)",
                highlight=False,
            )
    body = accuracy_body(engine, series, band_from(s), since=day, kind=kind)
    if as_json:
        print_json(body)
        return 0
    _print(body)
    return 0


def _print(body: dict[str, Any]) -> None:
    series = body["series"]
    lengths = sorted({int(d) for f in body["forecasts"] for d in f["windows"]})
    t = Table(
        title=f"served {body['kind']} forecasts of {series}, scored",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    cols = ["origin", "model", "n", "CRPS", "clim", "log", "cov50", "cov80", "cov95", "PIT"]
    cols += [*(f"CRPS{d}" for d in lengths), "rev"]
    for c in cols:
        left = c in ("origin", "model")
        t.add_column(c, justify="left" if left else "right", no_wrap=left)
    for f in body["forecasts"]:
        t.add_row(
            f["origin"],
            f["model"] + (f" v{f['version']}" if f["version"] else ""),
            *_score_cells(f),
            *(_f(f["windows"].get(str(d), {}).get("crps"), 1) for d in lengths),
            str(f["revisions"]),
        )
    o = body["overall"]
    by_days = {w["days"]: w for w in o["windows"]}
    t.add_section()
    t.add_row(
        "all",
        "",
        *_score_cells(o),
        *(_f(by_days.get(d, {}).get("crps"), 1) for d in lengths),
        "",
    )
    out.print(t)
    coverage = _coverage_line(o)
    if coverage:
        out.print(coverage, highlight=False)
    r = body["rolling"]
    if not r["n"]:
        out.print(f"{series}: no scored {body['kind']} forecast yet", highlight=False)
        return
    lo, hi = r["coverage_band"]
    out.print(
        f"rolling {r['window_days']} days ({r['start']} .. {r['end']}, {r['n']} scores): "
        f"CRPS {_f(r['crps'])}, climatology {_f(r['baseline_crps'])} on "
        f"{r['n_baseline']} of them, 80% coverage {_f(r['coverage_80'], 2)} "
        f"(band {lo:.2f}-{hi:.2f})",
        highlight=False,
    )
    if r["alarm"]:
        out.print("ALARM: " + "; ".join(r["reasons"]), highlight=False)
    else:
        out.print("no alarm", highlight=False)


def _coverage_line(overall: dict[str, Any]) -> str:
    """The pooled 80% coverage of days and of each window length with its 95% interval
    (``overall.coverage_80_interval``); empty when nothing was scored."""

    def part(label: str, cov: Any, interval: Any, n: int | None = None) -> str:
        text = f"{label} {_f(cov, 2)}"
        if interval:
            text += f" (95% {_f(interval[0], 2)}-{_f(interval[1], 2)}"
            text += f", {n} windows)" if n is not None else ")"
        return text

    parts = []
    if overall.get("n"):
        parts.append(part("days", overall["coverage_80"], overall.get("coverage_80_interval")))
    for w in overall.get("windows", []):
        parts.append(
            part(f"{w['days']}-day totals", w["coverage_80"], w.get("coverage_80_interval"), w["n"])
        )
    if not parts:
        return ""
    return "80% coverage: " + "; ".join(parts) + " (intervals: block bootstrap over origins)"
