"""The report's chart (matplotlib, Agg backend: written to PNG bytes, never shown).

Left: counts per period. History before the origin (interval totals drawn as their
average per period over the interval, since only the total is known), the forecast's
median and central 50/80/95% bands per period, and later data (known counts as points,
later interval totals as their average per period). Right: the cumulative total from
the first forecast period, with the same bands, and the observed cumulative total at
each period where later data pins it down.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # headless: figures are written to bytes, never shown

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cadence.columns import COUNT, DATE, DE_ESCALATION, END, ESCALATION, PANDAS_FREQ, STANCE, START
from cadence.experiments.data import shift_periods
from cadence.experiments.report.build import Report
from cadence.experiments.scoring import COVERAGE_LEVELS

__all__ = ["report_figure", "report_png"]

_BAND_ALPHA = {0.95: 0.15, 0.8: 0.3, 0.5: 0.5}
_HISTORY = "0.25"
_LATER = "tab:red"


def _bands(ax: Axes, x: pd.DatetimeIndex, samples: np.ndarray, label_median: str) -> None:
    for level in sorted(COVERAGE_LEVELS, reverse=True):
        lo, hi = np.quantile(
            samples, [(1 - level) / 2, (1 + level) / 2], axis=0, method="inverted_cdf"
        )
        ax.fill_between(
            x,
            lo,
            hi,
            step="mid",
            color="tab:blue",
            alpha=_BAND_ALPHA.get(level, 0.2),
            lw=0,
            label=f"{round(level * 100)}% interval",
        )
    med = np.quantile(samples, 0.5, axis=0, method="inverted_cdf")
    ax.step(x, med, where="mid", color="tab:blue", lw=1.5, label=label_median)
    ax.plot(x, samples.mean(axis=0), color="navy", ls="--", lw=1, label="forecast mean")


def _interval_segments(
    ax: Axes, intervals: pd.DataFrame, lo: pd.Timestamp, freq: str, color: str, label: str
) -> None:
    """Each interval ``[start, end)`` as a segment at its average count per period."""
    first = True
    for s, e, c in zip(intervals[START], intervals[END], intervals[COUNT], strict=True):
        start, end = pd.Timestamp(s), pd.Timestamp(e)
        if end <= lo:
            continue
        n = max(len(pd.date_range(start, end, freq=freq)) - 1, 1)
        ax.hlines(
            float(c) / n, max(start, lo), end, colors=color, lw=2.5, label=label if first else "_"
        )
        first = False


def _date_axis(ax: Axes) -> None:
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


_MARKS = (
    ("strike", "^", "darkred"),
    ("escalation statement", "v", "darkorange"),
    ("de-escalation statement", "v", "seagreen"),
)


def _driver_marks(ax: Axes, report: Report, lo: pd.Timestamp) -> None:
    """Recent strikes and escalation / de-escalation statements as marks on the axis."""
    st = report.statements
    days = {
        "strike": report.strikes[DATE] if len(report.strikes) else [],
        "escalation statement": st[DATE][st[STANCE] == ESCALATION] if len(st) else [],
        "de-escalation statement": st[DATE][st[STANCE] == DE_ESCALATION] if len(st) else [],
    }
    for label, marker, color in _MARKS:
        d = [pd.Timestamp(x) for x in days[label] if pd.Timestamp(x) >= lo]
        if d:
            ax.plot(d, [0.0] * len(d), marker, color=color, ms=7, ls="none", label=label,
                    clip_on=False)  # fmt: skip


def report_figure(report: Report) -> Figure:
    """The two-panel chart of ``report`` (see the module docstring)."""
    fc = report.forecast
    x = fc.index
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax, cum = fig.subplots(1, 2, width_ratios=(3, 2))

    hist = report.history
    lo = pd.Timestamp(hist.index[0]) if len(hist) else pd.Timestamp(x[0])
    known = hist[np.isfinite(hist.to_numpy(dtype=float))]
    if len(known):
        ax.plot(
            known.index,
            known.to_numpy(dtype=float),
            "o-",
            color=_HISTORY,
            ms=2.5,
            lw=0.8,
            label="observed",
        )
    freq = PANDAS_FREQ[report.frequency]
    per = f"{report.period_word}s"
    _interval_segments(
        ax, report.history_intervals, lo, freq, _HISTORY, f"interval total ÷ {per} (known then)"
    )
    _bands(ax, x, fc.samples, "forecast median")
    truth = report.truth
    if np.isfinite(truth.counts).any():
        ax.plot(x, truth.counts, "o", color=_LATER, ms=3.5, label="what happened")
    later = pd.DataFrame(
        {
            START: [x[a] for a, _, _ in truth.intervals],
            END: [shift_periods(x[b], 1, report.frequency) for _, b, _ in truth.intervals],
            COUNT: [t for _, _, t in truth.intervals],
        }
    )
    _interval_segments(ax, later, lo, freq, _LATER, f"later interval total ÷ {per}")
    _driver_marks(ax, report, lo)
    ax.axvline(report.as_of, color="black", ls=":", lw=1)
    ax.set_ylabel(f"count per {report.period_word}")
    ax.set_title(f"{report.series}: forecast as of {report.as_of:%Y-%m-%d}", fontsize="medium")
    ax.legend(loc="upper left", fontsize="x-small")
    _date_axis(ax)

    _bands(cum, x, np.cumsum(fc.samples, axis=1), "median")
    obs_x, obs_y = [], []
    for k in range(1, truth.horizon + 1):
        t = truth.total(0, k - 1)
        if t is not None:
            obs_x.append(x[k - 1])
            obs_y.append(t)
    if obs_x:
        cum.plot(obs_x, obs_y, "o", color=_LATER, ms=4, label="what happened (cumulative)")
    cum.set_title(f"total from {x[0]:%Y-%m-%d}", fontsize="medium")
    cum.set_ylabel("cumulative count")
    cum.legend(loc="upper left", fontsize="x-small")
    _date_axis(cum)
    return fig


def report_png(report: Report, *, dpi: int = 110) -> bytes:
    """The chart of ``report`` as PNG bytes."""
    buf = io.BytesIO()
    report_figure(report).savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
