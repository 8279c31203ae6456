"""Response bodies (pydantic), with examples for the OpenAPI document."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SeriesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "israel-alerts",
                    "frequency": "D",
                    "observed": True,
                    "description": "Daily Home Front Command alert rows in Israel",
                    "definition": {
                        "name": "israel-alerts",
                        "frequency": "D",
                        "target": {"observations": True},
                    },
                }
            ]
        }
    )

    name: str
    frequency: str = Field(description="D (daily), W (weeks from Monday) or M (months)")
    observed: bool = Field(description="counts come from ingested observations, not events")
    description: str | None = None
    definition: dict[str, Any]


class ObservationOut(BaseModel):
    start: date = Field(description="first day of the period")
    end: date = Field(description="day after the last day of the period (exclusive)")
    count: int
    source: str


class ObservationsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "series": "israel-alerts",
                    "observations": [
                        {
                            "start": "2024-06-29",
                            "end": "2024-06-30",
                            "count": 31,
                            "source": "oref-dleshem-commitlog",
                        }
                    ],
                }
            ]
        }
    )

    series: str
    observations: list[ObservationOut]


class HealthOut(BaseModel):
    status: str = Field(examples=["ok"])


class ReadyOut(BaseModel):
    status: str = Field(examples=["ready"])
    checks: dict[str, Any]
