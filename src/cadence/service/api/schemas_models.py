"""Request and response bodies of the model, scenario and job endpoints, with examples
for the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cadence.features.future import Scenario

MODEL_EXAMPLE = {"name": "hawkes", "version": "4", "run_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}

EFFECTS_EXAMPLE: dict[str, Any] = {
    "series": "us-forces-attacks-sampled",
    "model": MODEL_EXAMPLE,
    "level": 0.95,
    "effects": [
        {"feature": "ret_strike", "irr": 1.31, "lower": 1.02, "upper": 1.69, "p_value": 0.034},
        {
            "feature": "stm_deescalation",
            "irr": 0.62,
            "lower": 0.41,
            "upper": 0.94,
            "p_value": 0.025,
        },
    ],
}

BACKTEST_EXAMPLE: dict[str, Any] = {
    "series": "israel-alerts",
    "frequency": "D",
    "origins": ["2024-05-05", "2024-05-12"],
    "horizon": 28,
    "scores": [
        {
            "model": "climatology",
            "horizon": "all",
            "crps": 21.9,
            "log_score": 4.8,
            "rps": 21.9,
            "mae": 29.5,
            "coverage_50": 0.52,
            "coverage_80": 0.83,
            "coverage_95": 0.96,
            "brier_any_7": 0.01,
            "n": 56,
        }
    ],
    "skill_vs_climatology": {"climatology": 0.0, "hawkes": -0.08},
    "mlflow_run_ids": {"climatology": "9a8b7c6d5e4f30211203f4e5d6c7b8a9"},
    "job_id": "6f1c2d8e-0a7b-4c55-9d0e-2b3c4d5e6f70",
    "generated_at": "2024-07-01T06:00:00+00:00",
    "champion": "climatology",
}


class RetaliationIn(BaseModel):
    type: Literal["retaliation"]
    date: dt.date = Field(description="day of the hypothetical strike (inside the horizon)")
    severity: float = Field(default=0.0, ge=0, le=100, description="analyst severity, 0 = none")
    fatalities: float = Field(default=0.0, ge=0, le=1e6)


class StatementIn(BaseModel):
    type: Literal["statement"]
    date: dt.date = Field(description="day of the hypothetical statement (inside the horizon)")
    stance: Literal["escalation", "de-escalation", "neutral"]
    intensity: float = Field(default=1.0, ge=0, le=100)


ScenarioEvent = Annotated[RetaliationIn | StatementIn, Field(discriminator="type")]


class ScenarioIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {"type": "retaliation", "date": "2024-07-01", "severity": 1},
                        {"type": "statement", "date": "2024-07-03", "stance": "de-escalation"},
                    ],
                    "horizon": 28,
                    "n_samples": 1000,
                    "seed": 0,
                    "quantiles": [0.1, 0.5, 0.9],
                }
            ]
        },
    )

    events: list[ScenarioEvent] = Field(
        min_length=1, max_length=1000, description="hypothetical future events"
    )
    horizon: int | None = Field(
        default=None, ge=1, le=366, description="periods; default: the served horizon"
    )
    n_samples: int = Field(default=1000, ge=1, le=1_000_000, description="sample paths")
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    quantiles: list[float] = Field(
        default=[0.1, 0.5, 0.9], min_length=1, max_length=19, description="levels in (0, 1)"
    )
    driver_futures: Literal["none", "simulated"] | None = Field(
        default=None,
        description="strikes and statements after the origin besides the scenario's events: "
        "none (the deterministic continuation) or simulated from a driver process fitted at "
        "the origin (both forecasts share the same futures); default: as the served "
        "forecast (the service's CADENCE_DRIVER_FUTURES), so the baseline is the served "
        "forecast",
    )
    driver_paths: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description="simulated driver futures (n_samples split); default: the service's",
    )

    def scenario(self) -> Scenario:
        out = Scenario()
        for e in self.events:
            if isinstance(e, RetaliationIn):
                out = out.with_retaliation(e.date, severity=e.severity, fatalities=e.fatalities)
            else:
                out = out.with_statement(e.date, e.stance, intensity=e.intensity)
        return out


_PERIOD = {"date": "2024-07-01", "mean": 31.2, "quantiles": {"0.5": 26}, "p_any": 0.97}
SCENARIO_EXAMPLE: dict[str, Any] = {
    "series": "us-forces-attacks-sampled",
    "origin": "2024-06-30",
    "model": MODEL_EXAMPLE,
    "horizon": 28,
    "n_samples": 1000,
    "seed": 0,
    "uses_drivers": True,
    "note": None,
    "baseline": {"series": "us-forces-attacks-sampled", "periods": [_PERIOD], "windows": []},
    "scenario": {
        "series": "us-forces-attacks-sampled",
        "periods": [{**_PERIOD, "mean": 35.0}],
        "windows": [],
    },
    "difference": {
        "periods": [{"date": "2024-07-01", "mean": 3.8, "p_any": 0.01}],
        "windows": [{"days": 7, "mean": 12.5, "p_at_least": {"1": 0.0, "5": 0.02}}],
    },
    "driver_futures": {"mode": "none"},
}


class RetrainIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"series": ["israel-alerts"]}]}
    )

    series: list[Annotated[str, Field(min_length=1, max_length=256)]] | None = Field(
        default=None, max_length=100, description="series to retrain; omitted: every series"
    )


class JobOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6f1c2d8e-0a7b-4c55-9d0e-2b3c4d5e6f70",
                    "kind": "retrain",
                    "series": "israel-alerts",
                    "status": "succeeded",
                    "created_at": "2024-07-01T06:00:00+00:00",
                    "started_at": "2024-07-01T06:00:00+00:00",
                    "finished_at": "2024-07-01T06:00:21+00:00",
                    "reason": "no eligible candidate beat the champion",
                    "details": {"champion": "climatology", "version": "3", "promoted": False},
                }
            ]
        }
    )

    id: str
    kind: str
    series: str
    status: str = Field(description="running, succeeded or failed")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    reason: str | None
    details: dict[str, Any] | None = Field(
        default=None, description="what the job decided; scores are left out (see /backtest)"
    )


class RetrainOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "jobs": [
                        {
                            "id": "6f1c2d8e-0a7b-4c55-9d0e-2b3c4d5e6f70",
                            "series": "israel-alerts",
                            "status": "running",
                        }
                    ],
                    "refused": [],
                }
            ]
        }
    )

    jobs: list[dict[str, str]] = Field(description="started jobs: id, series, status")
    refused: list[dict[str, str]] = Field(
        description="series not started, with the reason (e.g. a retrain already running)"
    )
