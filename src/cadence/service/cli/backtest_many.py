"""``cadence backtest`` over several series (names, globs, ``--all``).

Reads the stored rows once (``experiments.many.data.load_many``), backtests the series in
batches of whole series on the chosen executor (``experiments.many.backtest.run_many``),
prints
one line per series and the summary per model (share of series where it beats
Climatology on CRPS, mean skill), logs bounded MLflow runs
(``experiments.many.tracking``) and writes ``{"series": [...], "summary": {...}}`` with
``--json``. A series that fails is reported and skipped. Exit status: 0 when every
series has a result, 1 when one failed (or tracking failed), 2 for bad input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from cadence.experiments.backtest import ModelConfig
from cadence.experiments.driver_futures import DETERMINISTIC, DriverFuturesConfig
from cadence.experiments.errors import ExecutorError
from cadence.experiments.executors import Executor, make_executor
from cadence.experiments.many.backtest import ManyResult, ManySettings, run_many
from cadence.experiments.many.data import load_many
from cadence.service.cli.app import engine_for, err, out, settings
from cadence.service.cli.errors import FAILURE
from cadence.service.cli.progress import counting_bar
from cadence.service.settings import Settings

__all__ = ["BacktestOptions", "backtest_many", "summary_table"]

_SHOWN = 50


@dataclass(frozen=True)
class BacktestOptions:
    """What ``cadence backtest`` was asked for, for one series or many."""

    configs: list[ModelConfig]
    start: str | None
    end: str | None
    every: str | None
    horizon: int
    kind: str
    scheduler: str | None
    workers: int | None
    json_path: Path | None
    samples: int
    seed: int
    no_tracking: bool
    drivers: DriverFuturesConfig = DETERMINISTIC

    def executor(self, s: Settings) -> Any:
        """The executor context of ``kind`` (Dask workers spill under the home)."""
        return make_executor(
            self.kind,
            workers=self.workers,
            scheduler=self.scheduler,
            local_directory=s.home / "dask-worker-space",
        )


def _pct(x: object) -> str:
    return "-" if x is None else f"{float(x):.1%}"  # type: ignore[arg-type]


def _num(x: object) -> str:
    if x is None:
        return "-"
    v = float(x)  # type: ignore[arg-type]
    return "-" if not math.isfinite(v) else f"{v:+.3f}"


def summary_table(summary: dict[str, Any], title: str) -> Table:
    """Per model: series scored, share beating climatology, mean and median skill."""
    t = Table(title=title)
    for col in ("model", "series", "beats climatology", "mean skill", "median skill"):
        t.add_column(col, justify="left" if col == "model" else "right")
    for model, s in summary["models"].items():
        t.add_row(
            model,
            str(s["n_series"]),
            _pct(s["share_beating_climatology"]),
            _num(s["mean_skill"]),
            _num(s["median_skill"]),
        )
    return t


def _per_series(result: ManyResult) -> None:
    for i, item in enumerate(result.items):
        if i == _SHOWN:
            err.print(f"... and {len(result.items) - _SHOWN} more series", highlight=False)
            break
        if item.result is None:
            err.print(f"[red]{item.series}: failed[/] {item.error}", highlight=False)
            continue
        skill = item.result.skill_vs_climatology()
        best = max(
            (k for k in skill if math.isfinite(skill[k])), key=lambda k: skill[k], default="-"
        )
        err.print(
            f"{item.series}: {len(item.result.origins)} origins, best {best} "
            f"(skill {_num(skill.get(best))}), {len(item.result.failures)} failed fits",
            highlight=False,
        )


def backtest_many(names: Sequence[str], opts: BacktestOptions) -> int:
    """Backtest ``names`` in batches of whole series; print, track, write."""
    s = settings()
    datas, load_errors = load_many(engine_for(s), names)
    err.print(
        f"{len(names)} series, horizon {opts.horizon}, {len(opts.configs)} models, "
        f"executor {opts.kind}",
        highlight=False,
    )
    many = ManySettings(
        configs=tuple(opts.configs),
        horizon=opts.horizon,
        every=opts.every,
        start=opts.start,
        end=opts.end,
        n_samples=opts.samples,
        seed=opts.seed,
    )
    try:
        with opts.executor(s) as ex:
            result = _run_with_bar(datas, many, names, load_errors, ex)
    except ExecutorError as exc:
        err.print(f"error: {exc}", highlight=False)
        return FAILURE
    _per_series(result)
    summary = result.summary()
    out.print(summary_table(summary, f"{len(result.results)} of {len(names)} series"))
    status = FAILURE if result.failed else 0
    run_ids: dict[str, dict[str, str]] = {}
    if not opts.no_tracking:
        try:
            from cadence.experiments.many.tracking import log_many

            run_ids = log_many(
                result,
                tracking_uri=s.resolved_tracking_uri,
                configs=opts.configs,
                n_samples=opts.samples,
                seed=opts.seed,
            )
        except Exception as exc:  # tracking must not lose the scores just computed
            err.print(f"[red]MLflow logging failed:[/] {type(exc).__name__}: {exc}")
            status = FAILURE
    if opts.json_path is not None:
        opts.json_path.parent.mkdir(parents=True, exist_ok=True)
        opts.json_path.write_text(json.dumps(result.to_json(run_ids), indent=2) + "\n")
        err.print(f"wrote {opts.json_path}", highlight=False)
    return status


def _run_with_bar(
    datas: Any,
    many: ManySettings,
    names: Sequence[str],
    load_errors: Any,
    ex: Executor,
) -> ManyResult:
    """``run_many`` with a progress bar of the series (stderr, removed when done)."""
    with counting_bar("series", "series", total=len(names)) as update:
        return run_many(
            datas,
            many,
            executor=ex,
            load_errors=load_errors,
            order=names,
            progress=update,
        )
