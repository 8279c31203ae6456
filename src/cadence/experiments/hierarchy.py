"""Bottom-up reconciliation: a parent's forecast as the sum of its children's.

Regions of a country forecast separately need not add up to the country's own forecast.
Bottom-up reconciliation replaces the parent's forecast by the sum of its children's
sample paths, drawn path by path (path ``i`` of the parent is the sum of path ``i`` of
every child). Children fitted separately draw independently, so this is the predictive
distribution of the sum *under independence of the children*; positively correlated
regions (a country-wide surge) make it too narrow, which the scores show.

``compare_bottom_up`` scores both against the parent's truth on the origins and models
that the parent and every child forecast: whether reconciliation improves the parent's
scores is an empirical question per hierarchy, answered with the same proper scores and
seeds as the backtests. Inputs are ``BacktestResult`` objects that kept their forecasts
(``run_backtest``, or ``ManySettings(keep_forecasts=True)``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cadence.experiments.backtest import BacktestResult, origin_seed
from cadence.experiments.scoring import score_paths
from cadence.models.forecast import CountForecast

__all__ = ["bottom_up", "compare_bottom_up"]


def bottom_up(children: Sequence[CountForecast]) -> CountForecast:
    """The path-wise sum of ``children`` (same origin, periods and number of paths);
    ``model`` and ``meta`` say it was reconciled."""
    if not children:
        raise ValueError("bottom_up: expected at least one child forecast")
    first = children[0]
    for c in children[1:]:
        if c.samples.shape != first.samples.shape or not c.index.equals(first.index):
            raise ValueError(
                "bottom_up: children must share origin, periods and number of paths, got "
                f"shapes {first.samples.shape} and {c.samples.shape}"
            )
    total = np.asarray(np.sum([c.samples for c in children], axis=0, dtype=np.int64))
    return CountForecast(
        origin=first.origin,
        samples=total,
        index=first.index,
        model=f"bottom_up({first.model})",
        meta={"reconciled": "bottom_up", "children": len(children)},
    )


def compare_bottom_up(
    parent: BacktestResult, children: Sequence[BacktestResult], *, seed: int = 0
) -> pd.DataFrame:
    """Per model: the parent's own CRPS against the bottom-up CRPS, averaged over the
    (origin, horizon) pairs both scored, where the parent and every child have a
    forecast. Columns ``model``, ``n``, ``crps_own``, ``crps_bottom_up``, ``skill``
    (``1 - bottom_up / own``: above 0 means reconciling improves the parent),
    ``coverage_80_own``, ``coverage_80_bottom_up``. One row per model of the parent."""
    own = {(f.model, f.origin): f for f in parent.forecasts if f.forecast is not None}
    kids = [
        {(f.model, f.origin): f.forecast for f in c.forecasts if f.forecast is not None}
        for c in children
    ]
    daily = parent.frequency == "D"
    rows = []
    for model in parent.models:
        frames = []
        for origin in parent.origins:
            mine = own.get((model, origin))
            parts = [k.get((model, origin)) for k in kids]
            if mine is None or mine.forecast is None or any(p is None for p in parts):
                continue
            summed = bottom_up([p for p in parts if p is not None])
            salt = zlib.crc32(b"bottom_up")
            a = score_paths(
                mine.forecast.samples,
                mine.truth,
                rng=np.random.default_rng(origin_seed(seed + salt, model, origin)),
                daily=daily,
            )
            b = score_paths(
                summed.samples,
                mine.truth,
                rng=np.random.default_rng(origin_seed(seed + salt, model, origin)),
                daily=daily,
            )
            frames.append(
                pd.DataFrame(
                    {
                        "crps_own": a["crps"],
                        "crps_bottom_up": b["crps"],
                        "coverage_80_own": a["coverage_80"],
                        "coverage_80_bottom_up": b["coverage_80"],
                    }
                )
            )
        both = pd.concat(frames, ignore_index=True).dropna() if frames else pd.DataFrame()
        n = len(both)
        own_crps = float(both["crps_own"].mean()) if n else float("nan")
        bu_crps = float(both["crps_bottom_up"].mean()) if n else float("nan")
        rows.append(
            {
                "model": model,
                "n": n,
                "crps_own": own_crps,
                "crps_bottom_up": bu_crps,
                "skill": 1.0 - bu_crps / own_crps if n and own_crps > 0 else float("nan"),
                "coverage_80_own": float(both["coverage_80_own"].mean()) if n else float("nan"),
                "coverage_80_bottom_up": float(both["coverage_80_bottom_up"].mean())
                if n
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)
