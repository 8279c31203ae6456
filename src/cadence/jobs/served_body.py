"""The served forecast body: summaries of a ``CountForecast`` as plain JSON.

Shape (the API's ``GET /v1/series/{name}/forecast`` body; ``cadence forecast`` prints the
same)::

    {"series", "frequency", "origin", "generated_at",
     "model": {"name", "version", "run_id"},
     "periods": [{"date", "mean", "quantiles": {"0.1": n, ...}, "p_any"}],
     "windows": [{"days", "mean", "quantiles": {...}, "p_at_least": {"1": p, ...}}],
     "regimes": {"states": [{"name", "rate", "probability"}], "most_likely",
                 "p_switch": {"7": p, "28": p}},
     "counts_through": "YYYY-MM-DD"}

``regimes`` is present only when the model reports hidden regimes (``regime_nb``: its
``meta["regimes"]``): the filtered probability of each regime at the origin with the
regime's mean count per period, the most likely one, and P(at least one change of
regime within 7 and within 28 periods).

``counts_through`` is present only when the series' counts (or interval totals) end
before the origin's period: the last day with a known count. That happens when a
sampled view or dated events run a series past its last count (a tally that stopped
while a news list goes on); the model was chosen on, and fitted to, counts that stop
there, and a dashboard says so beside the numbers. ``regimes`` and ``counts_through``
describe the fit, not the paths: a body re-rendered for another horizon or other
quantiles keeps them (``with_fit_facts``).

Time convention: ``origin`` is the label of the last observed period; ``periods[h]`` is
the period ``origin + h + 1`` labelled by its first day (ISO date). A window of ``days``
days is the total over the first periods after the origin that make up those days: as
many periods for a daily series, ``days / 7`` for a weekly one; windows that do not fit
a whole number of periods, or reach past the horizon, are left out (so a monthly series
has none). Floats are rounded to ``DECIMALS`` places so the same samples always give the
same bytes (stable ETags); quantiles are integers (counts). The shared pieces (rounding,
windows, the regimes block) are ``cadence.experiments.summaries``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cadence.columns import PANDAS_FREQ, Frequency
from cadence.experiments.data import period_end
from cadence.experiments.summaries import (
    level_key,
    regimes_block,
    rounded,
    window_periods,
)
from cadence.models.forecast import CountForecast
from cadence.store.forecasts_repo import StoredForecast

DEFAULT_QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
DEFAULT_WINDOWS: tuple[int, ...] = (7, 14, 28)
DEFAULT_K_VALUES: tuple[int, ...] = (1, 5, 10, 25, 50, 100)
# body fields that describe the fit rather than summarise the paths
FIT_FACTS: tuple[str, ...] = ("regimes", "counts_through")


def counts_through(
    last_reported: pd.Timestamp, origin: pd.Timestamp, frequency: Frequency
) -> str | None:
    """The ``counts_through`` field: the last day of ``last_reported`` (the last period
    with a known count or interval total) when it lies before ``origin``; else None."""
    if pd.Timestamp(last_reported) >= pd.Timestamp(origin):
        return None
    return period_end(pd.Timestamp(last_reported), frequency).date().isoformat()


def with_fit_facts(body: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """``body`` (re-rendered from a stored forecast's paths) with the ``FIT_FACTS`` of
    the ``stored`` body, which its paths do not carry."""
    for key in FIT_FACTS:
        if key in stored:
            body[key] = stored[key]
    return body


def _iso_instant(t: dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat()


def forecast_payload(
    series: str,
    frequency: str,
    forecast: CountForecast,
    *,
    model_name: str,
    version: str | None,
    run_id: str | None,
    generated_at: dt.datetime,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    horizon: int | None = None,
    last_count: str | None = None,
) -> dict[str, Any]:
    """The served body for ``forecast`` (see the module docstring for the shape).

    ``horizon`` keeps only the first periods (default: all of them); ``generated_at`` is
    rendered in UTC. Quantile keys follow ``level_key``; ``p_at_least`` keys are the k.
    ``last_count``: the ``counts_through`` field (``counts_through(...)``; None: none).
    """
    levels = [float(q) for q in quantiles]
    h = forecast.horizon if horizon is None else int(horizon)
    if not 1 <= h <= forecast.horizon:
        raise ValueError(f"horizon must lie in 1..{forecast.horizon}, got {horizon!r}")
    samples = forecast.samples[:, :h]
    mean = samples.mean(axis=0)
    qs = np.quantile(samples, levels, axis=0, method="inverted_cdf") if levels else np.zeros((0, h))
    p_any = (samples >= 1).mean(axis=0)
    periods = [
        {
            "date": forecast.index[i].date().isoformat(),
            "mean": rounded(mean[i]),
            "quantiles": {level_key(q): int(qs[j, i]) for j, q in enumerate(levels)},
            "p_any": rounded(p_any[i]),
        }
        for i in range(h)
    ]
    out_windows = _window_rows(samples, frequency, windows, levels, k_values)
    body: dict[str, Any] = {
        "series": series,
        "frequency": frequency,
        "origin": forecast.origin.date().isoformat(),
        "generated_at": _iso_instant(generated_at),
        "model": {"name": model_name, "version": version, "run_id": run_id},
        "periods": periods,
        "windows": out_windows,
    }
    regimes = regimes_block(forecast.meta.get("regimes"))
    if regimes is not None:
        body["regimes"] = regimes
    if last_count is not None:
        body["counts_through"] = last_count
    return body


def re_summary(
    stored: StoredForecast,
    frequency: str,
    *,
    horizon: int | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
) -> dict[str, Any]:
    """The body of a ``stored`` forecast summarised again from its sample paths for
    another ``horizon`` or other ``quantiles``, with the fit facts of its stored body.
    ``ValueError`` when no paths were stored or the horizon is out of range."""
    if stored.samples is None:
        raise ValueError("the stored forecast has no sample paths to re-summarise")
    origin = pd.Timestamp(stored.origin)
    index = pd.date_range(origin, periods=stored.horizon + 1, freq=PANDAS_FREQ[frequency])[1:]
    fc = CountForecast(origin=origin, samples=stored.samples, index=index, model=stored.model_name)
    body = forecast_payload(
        stored.series,
        frequency,
        fc,
        model_name=stored.model_name,
        version=stored.model_version,
        run_id=stored.run_id,
        generated_at=stored.generated_at,
        quantiles=quantiles,
        horizon=horizon,
    )
    return with_fit_facts(body, stored.payload)


def _window_rows(
    samples: np.ndarray,
    frequency: str,
    windows: Sequence[int],
    levels: list[float],
    k_values: Sequence[int],
) -> list[dict[str, Any]]:
    """The ``windows`` entries: totals over the first periods making up each window."""
    rows = []
    for days in windows:
        n = window_periods(frequency, int(days))
        if n is None or not 1 <= n <= samples.shape[1]:
            continue
        total = samples[:, :n].sum(axis=1)
        wq = np.quantile(total, levels, method="inverted_cdf") if levels else []
        rows.append(
            {
                "days": int(days),
                "mean": rounded(total.mean()),
                "quantiles": {level_key(q): int(wq[j]) for j, q in enumerate(levels)},
                "p_at_least": {str(int(k)): rounded((total >= k).mean()) for k in k_values},
            }
        )
    return rows


__all__ = [
    "DEFAULT_K_VALUES",
    "DEFAULT_QUANTILES",
    "DEFAULT_WINDOWS",
    "FIT_FACTS",
    "counts_through",
    "forecast_payload",
    "re_summary",
    "with_fit_facts",
]
