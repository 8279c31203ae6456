"""Response body of ``GET /v1/series/{name}/events``: a series' timeline markers."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EVENTS_EXAMPLE: dict[str, Any] = {
    "series": "israel-alerts",
    "start": "2024-04-01",
    "end": "2024-04-30",
    "markers": [
        {
            "date": "2024-04-01",
            "kind": "retaliation",
            "stance": None,
            "actor": "Israel (attributed)",
            "text": "Air strike on Iranian consulate building in Damascus kills IRGC Quds "
            "Force commander Mohammad Reza Zahedi; Iran's ambassador vows harsh response",
            "fatalities": None,
            "source": "israel-fronts-key-events",
        },
        {
            "date": "2024-04-14",
            "kind": "statement",
            "stance": "de-escalation",
            "actor": "Iran (UN mission)",
            "text": "Iran's UN mission says it deems the matter concluded while warning of a "
            "more severe response to any new Israeli 'mistake'",
            "fatalities": None,
            "source": "israel-fronts-key-events",
        },
    ],
}


class MarkerOut(BaseModel):
    date: date
    kind: Literal["retaliation", "statement"] = Field(
        description="a retaliation event or a statement, as the series' driver filters select"
    )
    stance: Literal["escalation", "de-escalation", "neutral"] | None = Field(
        description="a statement's stance (None for retaliation events)"
    )
    actor: str | None
    text: str = Field(description="a short description, at most 240 characters")
    fatalities: int | None = Field(description="reported fatalities of a retaliation event")
    source: str


class MarkersOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EVENTS_EXAMPLE]})

    series: str
    start: date | None = Field(description="first day included (None: from the first row)")
    end: date | None = Field(description="last day included (None: to the last row)")
    markers: list[MarkerOut] = Field(description="oldest first; on one day, events first")
