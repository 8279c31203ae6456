"""Summaries of many series: how often each model beats Climatology, and by how much.

Skill is ``1 - CRPS_model / CRPS_climatology`` (``BacktestResult.skill_vs_climatology``);
a model *beats* Climatology on a series when its skill there is above 0 (lower mean
CRPS over the origins and horizons both scored).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["retrain_summary", "skill_summary"]

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


def retrain_summary(outcomes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Summary of retrain outcomes (``RetrainOutcome.as_dict`` shapes): ``skill_summary``
    over the candidates' skills, ``statuses`` (status -> number of series) and
    ``failed`` (series and reason)."""
    failed = [o for o in outcomes if o.get("status") == "failed"]
    skills = {
        str(o["series"]): dict(o.get("skill_vs_climatology") or {})
        for o in outcomes
        if o.get("status") != "failed"
    }
    out = skill_summary(skills, failed=[str(o["series"]) for o in failed])
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[str(o.get("status"))] = statuses.get(str(o.get("status")), 0) + 1
    out["statuses"] = statuses
    out["failed"] = [{"series": o["series"], "error": o.get("reason")} for o in failed]
    return out
