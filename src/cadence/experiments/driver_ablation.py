"""Do the drivers help the served model? The with/without ablation a retrain records.

After a retrain chooses and refits its model, the same configuration without its
retaliation and statement columns (``covariates`` = the columns it used, less the
``ret_``/``stm_`` ones) is backtested on the same origins with the same seed, and the
two are compared on daily CRPS and 7-day-total CRPS. A model that used no driver is
recorded as such: there is nothing to ablate, and the product says so.

The record (JSON, in the job details, under the served ``/backtest`` body and as metrics
of the ablation's MLflow run)::

    {"used": [column, ...], "ablated": bool, "with": {"crps", "crps_7d"} | null,
     "without": {...} | null, "helps": bool | null, "note": str}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cadence.columns import PREFIX_RETALIATION, PREFIX_STATEMENT
from cadence.experiments.backtest import BacktestResult, ModelConfig, run_backtest
from cadence.experiments.data import SeriesData
from cadence.models import lookup

__all__ = ["ABLATION_SUFFIX", "ablation_config", "driver_ablation", "drivers_used"]

ABLATION_SUFFIX = "[without drivers]"


def drivers_used(model: object) -> list[str]:
    """The retaliation and statement columns a fitted model recorded (``covariates_``)."""
    used = getattr(model, "covariates_", None) or []
    return [str(c) for c in used if str(c).startswith((PREFIX_RETALIATION, PREFIX_STATEMENT))]


def ablation_config(config: ModelConfig, model: object) -> ModelConfig | None:
    """``config`` without the drivers its fitted ``model`` used, or None when it used
    none or its family takes no named ``covariates``."""
    used = drivers_used(model)
    if not used or "covariates" not in lookup.model_class(config.name)._get_param_names():
        return None
    kept = [c for c in getattr(model, "covariates_", []) if c not in set(used)]
    return ModelConfig(
        config.name, {**config.params, "covariates": kept}, alias=config.key + ABLATION_SUFFIX
    )


def _scores(result: BacktestResult, key: str, origins: Sequence[pd.Timestamp]) -> dict[str, Any]:
    def mean(po: pd.DataFrame | None) -> float | None:
        if po is None or po.empty:
            return None
        rows = po[(po["model"] == key) & po["origin"].isin(origins)]
        vals = rows["crps"].to_numpy(dtype=float)
        vals = vals[np.isfinite(vals)]
        return float(vals.mean()) if vals.size else None

    return {"crps": mean(result.per_origin), "crps_7d": mean(result.total_per_origin.get(7))}


def driver_ablation(
    data: SeriesData,
    result: BacktestResult,
    config: ModelConfig,
    model: object,
    *,
    horizon: int,
    n_samples: int,
    seed: int,
) -> tuple[dict[str, Any], BacktestResult | None, ModelConfig | None]:
    """The record of the module docstring, the ablation's backtest and its configuration
    (None, None when there was nothing to ablate). ``result`` is the retrain's backtest,
    which scored ``config``; the ablation runs on its origins."""
    used = drivers_used(model)
    ablated = ablation_config(config, model)
    if ablated is None:
        note = (
            "the served model uses no retaliation or statement driver"
            if not used
            else f"{config.name} takes no named covariates: its drivers cannot be ablated"
        )
        return (
            {
                "used": used,
                "ablated": False,
                "with": None,
                "without": None,
                "helps": None,
                "note": note,
            },
            None,
            None,
        )
    without = run_backtest(
        data,
        [ablated],
        origins=result.origins,
        horizon=horizon,
        n_samples=n_samples,
        seed=seed,
    )
    origins = list(result.origins)
    with_s = _scores(result, config.key, origins)
    without_s = _scores(without, ablated.key, origins)
    helps = None
    if with_s["crps"] is not None and without_s["crps"] is not None:
        helps = bool(with_s["crps"] < without_s["crps"])
    if helps is None:
        note = "the backtest could not compare the model with and without its drivers"
    elif helps:
        note = (
            f"the drivers help: daily CRPS {with_s['crps']:.4g} with them, "
            f"{without_s['crps']:.4g} without, on the same origins"
        )
    else:
        note = (
            f"the drivers do not help: daily CRPS {with_s['crps']:.4g} with them, "
            f"{without_s['crps']:.4g} without, on the same origins"
        )
    return (
        {
            "used": used,
            "ablated": True,
            "with": with_s,
            "without": without_s,
            "helps": helps,
            "note": note,
        },
        without,
        ablated,
    )
