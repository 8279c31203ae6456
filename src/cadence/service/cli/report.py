"""``cadence report``: one series as of one day, as Markdown or self-contained HTML.

``cadence report --series NAME --as-of YYYY-MM-DD [--horizon 28] [--model NAME]
[--out report.md|report.html] [--json] [--known-at INSTANT]`` fits a model on what was
known on that day (with ``--known-at``: only the rows stored by that instant, what
happened included) and writes what it knew, its forecast (7/14/28-day totals, P(>= k),
a fan chart), the effects of retaliation and statements, and, where later data exists,
what happened, scored (``cadence.experiments.report.build``). Without ``--model`` the
registered champion's configuration is used when the series has one.

Output: ``--out FILE.md`` writes Markdown and the chart beside it (``FILE.png``);
``--out FILE.html`` one page with the chart embedded; no ``--out`` prints the Markdown
(without the chart) on stdout; ``--json`` prints the report's numbers as JSON instead.
Exit status: 0 written, 2 bad input (unknown series or model, a date before any data, a
model that cannot fit the series), 1 failure (database unreachable).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import typer
from sqlalchemy import Engine

from cadence.experiments.backtest import ModelConfig
from cadence.experiments.data import load_series_data
from cadence.experiments.errors import ExperimentError
from cadence.experiments.report.build import Report, build_report
from cadence.experiments.report.render import to_html, to_markdown
from cadence.models.errors import ModelError
from cadence.models.lookup import available_models
from cadence.service.cli.app import app, engine_for, err, print_json, settings
from cadence.service.cli.errors import BAD_INPUT
from cadence.service.cli.known_at import HELP as KNOWN_AT_HELP
from cadence.service.cli.known_at import parse_known_at
from cadence.store.forecasts_repo import current_forecast

_SUFFIXES = (".md", ".html")


def _champion(engine: Engine, series: str, tracking_uri: str) -> ModelConfig | None:
    """The registered champion's configuration, or None when the series has none (or the
    registry cannot say: then the served forecast's model name, if it is a plain name)."""
    stored = current_forecast(engine, series, with_samples=False)
    if stored is None:
        return None
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    try:
        from cadence.experiments.model_registry import alias_version

        version = alias_version(tracking_uri, series)
    except Exception as exc:  # an unreachable registry must not stop a report
        err.print(f"champion not read from the registry ({type(exc).__name__}: {exc})")
        version = None
    if version is not None and version.config is not None:
        return version.config
    name = stored.model_name
    return ModelConfig(name) if name in available_models() else None


def _as_of(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected a date as YYYY-MM-DD, got {text!r}") from None


@app.command("report")
def report_cmd(
    series: str = typer.Option(..., help="series name"),
    as_of: str = typer.Option(..., "--as-of", help="the day the forecast is made, YYYY-MM-DD"),
    horizon: int = typer.Option(28, min=1, help="periods ahead"),
    model: str | None = typer.Option(None, help="registry model name (default: the champion)"),
    out: Path | None = typer.Option(None, help="write FILE.md (+ FILE.png) or FILE.html"),
    samples: int = typer.Option(2000, "--samples", min=100, help="sample paths"),
    seed: int = typer.Option(0, help="seed of the sample paths"),
    as_json: bool = typer.Option(False, "--json", help="print the report's numbers as JSON"),
    known_at: str | None = typer.Option(None, "--known-at", help=KNOWN_AT_HELP),
) -> int:
    """What a model knew on --as-of, its forecast, and what happened."""
    day = _as_of(as_of)
    stored_at = parse_known_at(known_at)
    if out is not None and out.suffix.lower() not in _SUFFIXES:
        raise typer.BadParameter(
            f"expected a file ending in .md or .html, got {str(out)!r}", param_hint="--out"
        )
    s = settings()
    engine = engine_for(s)
    try:
        data = load_series_data(engine, series, known_at=stored_at)
        champion = None if model is not None else _champion(engine, series, s.resolved_tracking_uri)
        report = build_report(
            data, day, horizon=horizon, model=model, champion=champion, n_samples=samples, seed=seed
        )
    except (ExperimentError, ModelError) as exc:
        err.print(f"error: {exc}", highlight=False)
        return BAD_INPUT
    if as_json:
        print_json(report.as_dict())
    if out is None:
        if not as_json:
            typer.echo(to_markdown(report), nl=False)
        return 0
    _write(report, out)
    _print_outline(report)
    return 0


def _write(report: Report, out: Path) -> None:
    """``out`` as Markdown with the chart beside it, or as one HTML page."""
    from cadence.experiments.report.plot import report_png

    png = report_png(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".html":
        out.write_text(to_html(report, png), encoding="utf-8")
        err.print(f"wrote {out}", highlight=False)
    else:
        image = out.with_suffix(".png")
        image.write_bytes(png)
        out.write_text(to_markdown(report, image.name), encoding="utf-8")
        err.print(f"wrote {out} and {image}", highlight=False)


def _print_outline(report: Report) -> None:
    """The forecast windows and the scored totals, one line each (stderr)."""
    for w in report.windows:
        err.print(
            f"{w.label}: mean {w.mean:.1f}, median {w.quantiles[0.5]}, 80% interval "
            f"{w.quantiles[0.1]} .. {w.quantiles[0.9]}",
            highlight=False,
        )
    for sc in report.scored:
        err.print(
            f"scored {sc.label}: observed {sc.score.observed:g}, CRPS {sc.score.crps:.2f}, "
            f"inside 80%: {'yes' if sc.score.inside_80 else 'no'}",
            highlight=False,
        )
    if not report.scored:
        err.print("nothing scored: no later data pins down a total in the horizon")


__all__ = ["report_cmd"]
