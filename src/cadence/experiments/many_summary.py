"""Summaries of many series: how often each model beats Climatology, and by how much.

Skill is ``1 - CRPS_model / CRPS_climatology`` (``BacktestResult.skill_vs_climatology``);
a model *beats* Climatology on a series when its skill there is above 0 (lower mean
CRPS over the origins and horizons both scored).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["skill_summary"]

_REFERENCE = "climatology"


def skill_summary(
    skills: Mapping[str, Mapping[str, float | None]],
    failed: Iterable[str] = (),
) -> dict[str, Any]:
    """Per model, over the series where its skill is finite: ``n_series``,
    ``share_beating_climatology`` (fraction in [0, 1] with skill > 0),
    ``mean_skill`` and ``median_skill``; None where no series scored it.

    ``skills``: series -> model -> skill (None/NaN = not scored). ``failed``: series that
    produced no result. Climatology, the reference, is left out of ``models``.
    Returns ``{"n_series", "n_failed", "models": {model: {...}}}``.
    """
    values: dict[str, list[float]] = {}
    for per_model in skills.values():
        for model, v in per_model.items():
            if model == _REFERENCE:
                continue
            bucket = values.setdefault(model, [])
            if v is not None and math.isfinite(v):
                bucket.append(float(v))
    models: dict[str, dict[str, float | int | None]] = {}
    for model, vs in values.items():
        n = len(vs)
        ordered = sorted(vs)
        median = (
            None
            if not n
            else ordered[n // 2]
            if n % 2
            else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])
        )
        models[model] = {
            "n_series": n,
            "share_beating_climatology": sum(v > 0 for v in vs) / n if n else None,
            "mean_skill": sum(vs) / n if n else None,
            "median_skill": median,
        }
    return {"n_series": len(skills), "n_failed": len(list(failed)), "models": models}
