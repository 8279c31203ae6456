"""The driver ablation a retrain records: the served configuration with and without its
retaliation and statement columns on the same origins. Synthetic series only (every
event drawn by code in tests/experiments/test_backtest.py)."""

from __future__ import annotations

import json

from cadence.experiments.backtest import (
    ModelConfig,
    default_origins,
    fit_and_forecast,
    run_backtest,
)
from cadence.experiments.data import SeriesData
from cadence.experiments.driver_ablation import (
    ABLATION_SUFFIX,
    ablation_config,
    driver_ablation,
    drivers_used,
)
from tests.experiments.test_backtest import synthetic_data


def _setup(config: ModelConfig) -> tuple[SeriesData, object, object]:
    data = synthetic_data(days=200, seed=4)
    origins = default_origins(data, every="14D", horizon=7)
    result = run_backtest(data, [config], origins=origins, horizon=7, n_samples=200, seed=1)
    model, _ = fit_and_forecast(data, config, origins[-1], 7, n_samples=50, seed=1)
    return data, result, model


def test_a_model_with_drivers_is_compared_with_itself_without_them() -> None:
    config = ModelConfig("negbin_glm")
    data, result, model = _setup(config)
    used = drivers_used(model)
    assert used and all(c.startswith(("ret_", "stm_")) for c in used)
    ablated = ablation_config(config, model)
    assert ablated is not None and ablated.key == "negbin_glm" + ABLATION_SUFFIX
    kept = ablated.params["covariates"]
    assert not set(kept) & set(used)  # calendar columns stay, drivers go
    record, without, cfg = driver_ablation(
        data, result, config, model, horizon=7, n_samples=200, seed=1
    )
    assert cfg == ablated and without is not None
    assert without.origins == result.origins
    assert record["used"] == used and record["ablated"] is True
    w, wo = record["with"]["crps"], record["without"]["crps"]
    assert w == result.scores.set_index(["model", "horizon"]).loc[("negbin_glm", "all"), "crps"]
    assert record["helps"] == (w < wo)
    assert ("drivers help" if record["helps"] else "drivers do not help") in record["note"]
    json.dumps(record, allow_nan=False)


def test_a_model_without_drivers_says_so_and_runs_nothing() -> None:
    config = ModelConfig("local_level")
    data, result, model = _setup(config)
    assert drivers_used(model) == []
    record, without, cfg = driver_ablation(
        data, result, config, model, horizon=7, n_samples=200, seed=1
    )
    assert (without, cfg) == (None, None)
    assert record["ablated"] is False and record["helps"] is None
    assert record["note"] == "the served model uses no retaliation or statement driver"
