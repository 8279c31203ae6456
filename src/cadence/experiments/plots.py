"""Backtest figures (matplotlib, Agg backend: nothing is displayed).

Each function returns a ``Figure``; the caller saves it (``fig.savefig(path)``) and
closes it (``matplotlib.pyplot.close(fig)``) or logs it as an artifact.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # headless: figures are written to files, never shown

import numpy as np
from matplotlib.figure import Figure

from cadence.experiments.scoring import COVERAGE_LEVELS
from cadence.models.forecast import CountForecast

__all__ = ["fan_chart", "pit_histogram", "reliability_plot"]

_BAND_ALPHA = {0.95: 0.15, 0.8: 0.3, 0.5: 0.5}


def fan_chart(
    forecast: CountForecast,
    truth: np.ndarray,
    *,
    history: Sequence[float] | None = None,
    history_index: Sequence[object] | None = None,
    title: str = "",
) -> Figure:
    """The forecast's median and central 50/80/95% bands (sample quantiles) per period,
    with what happened (``truth``, shape ``(horizon,)``, NaN unknown) as points and,
    optionally, the last observed counts (``history`` on ``history_index``)."""
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    x = forecast.index
    for level in sorted(COVERAGE_LEVELS, reverse=True):
        lo, hi = forecast.quantiles([(1 - level) / 2, (1 + level) / 2])
        ax.fill_between(
            x,
            lo,
            hi,
            step="mid",
            color="tab:blue",
            alpha=_BAND_ALPHA.get(level, 0.2),
            label=f"{round(level * 100)}%",
        )
    ax.step(x, forecast.quantiles([0.5])[0], where="mid", color="tab:blue", label="median")
    if history is not None and history_index is not None:
        ax.plot(
            np.asarray(history_index),
            np.asarray(history, dtype=float),
            color="black",
            lw=1,
            label="observed",
        )
    t = np.asarray(truth, dtype=float)
    ax.plot(x, t, "o", color="black", ms=3, label="what happened")
    ax.set_ylabel("count per period")
    ax.set_title(title or f"{forecast.model} from {forecast.origin:%Y-%m-%d}")
    ax.legend(loc="upper left", fontsize="small")
    fig.autofmt_xdate()
    return fig


def pit_histogram(pit: np.ndarray, *, bins: int = 10, title: str = "") -> Figure:
    """Histogram of randomized PIT values (NaN dropped), as densities: a calibrated
    forecast is flat at 1 (dashed line)."""
    v = np.asarray(pit, dtype=float)
    v = v[np.isfinite(v)]
    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    ax.hist(v, bins=bins, range=(0.0, 1.0), density=True, color="tab:blue", edgecolor="white")
    ax.axhline(1.0, color="black", ls="--", lw=1)
    ax.set_xlabel("PIT")
    ax.set_ylabel("density")
    ax.set_title(title or f"PIT histogram (n={v.size})")
    return fig


def reliability_plot(
    nominal: Sequence[float],
    observed: Sequence[float],
    *,
    labels: Sequence[str] = (),
    title: str = "",
) -> Figure:
    """Observed against nominal coverage of central intervals. ``observed`` is one
    sequence per model (same length as ``nominal``) or a single sequence; the diagonal
    is perfect calibration."""
    obs = np.atleast_2d(np.asarray(observed, dtype=float))
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="black", ls="--", lw=1)
    for i, row in enumerate(obs):
        label = labels[i] if i < len(labels) else None
        ax.plot(nominal, row, "o-", label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("observed coverage")
    ax.set_title(title or "interval coverage")
    if labels:
        ax.legend(loc="upper left", fontsize="small")
    return fig
