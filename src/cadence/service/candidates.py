"""Which model configurations a retrain backtests: from a ``--models`` option or the
``CADENCE_RETRAIN_MODELS`` setting."""

from __future__ import annotations

from cadence.experiments.backtest import ModelConfig
from cadence.jobs.retrain.job import DEFAULT_CANDIDATES
from cadence.models.lookup import available_models

__all__ = ["parse_candidates"]


def parse_candidates(text: str) -> list[ModelConfig]:
    """``default`` (``DEFAULT_CANDIDATES``), ``all`` (every registered model but the
    ensemble, whose members come from a backtest) or comma-separated registry names.
    ``ValueError`` naming the unknown models otherwise."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["default"]:
        return list(DEFAULT_CANDIDATES)
    servable = [n for n in available_models() if n != "ensemble"]
    if names == ["all"]:
        names = servable
    unknown = [n for n in names if n not in servable]
    if unknown or not names:
        raise ValueError(
            f"unknown or unsupported model(s) {unknown}; expected 'default', 'all' or names "
            f"from {', '.join(servable)}"
        )
    return [ModelConfig(n) for n in dict.fromkeys(names)]
