"""Column names and period conventions shared by every layer.

Strings live here once so that a DataFrame written by ``store`` is read by ``features``
and ``models`` without scattered literals. This module imports nothing of the project.

Time convention: a period is labelled by its first day (``D`` daily, ``W`` weeks starting
Monday, ``M`` calendar months); intervals are half-open ``[start, end)``.
"""

from __future__ import annotations

from typing import Final, Literal

# --- events -------------------------------------------------------------------------
DATE: Final = "date"
TIME: Final = "time"
KIND: Final = "kind"
THEATRE: Final = "theatre"
COUNTRY: Final = "country"
ADMIN1: Final = "admin1"
LOCATION: Final = "location"
LATITUDE: Final = "latitude"
LONGITUDE: Final = "longitude"
ACTOR: Final = "actor"
TARGET: Final = "target"
WEAPON: Final = "weapon"
FATALITIES: Final = "fatalities"
INJURIES: Final = "injuries"
NOTES: Final = "notes"
SOURCE: Final = "source"
SOURCE_ID: Final = "source_id"
EXTRA: Final = "extra"
INGESTED_AT: Final = "ingested_at"

EVENT_COLUMNS: Final = (
    DATE,
    TIME,
    KIND,
    THEATRE,
    COUNTRY,
    ADMIN1,
    LOCATION,
    LATITUDE,
    LONGITUDE,
    ACTOR,
    TARGET,
    WEAPON,
    FATALITIES,
    INJURIES,
    NOTES,
    SOURCE,
    SOURCE_ID,
)

KIND_ATTACK: Final = "attack"
KIND_RETALIATION: Final = "retaliation"

# --- statements -----------------------------------------------------------------------
LANGUAGE: Final = "language"
TEXT: Final = "text"
STANCE: Final = "stance"
STANCE_SOURCE: Final = "stance_source"
EXTRACTOR_VERSION: Final = "extractor_version"
CONFIDENCE: Final = "confidence"

STATEMENT_COLUMNS: Final = (DATE, ACTOR, LANGUAGE, TEXT, STANCE, SOURCE, SOURCE_ID)

Stance = Literal["escalation", "de-escalation", "neutral"]
ESCALATION: Final = "escalation"
DE_ESCALATION: Final = "de-escalation"
NEUTRAL: Final = "neutral"
STANCES: Final = (ESCALATION, DE_ESCALATION, NEUTRAL)
STANCE_SOURCE_ANALYST: Final = "analyst"
STANCE_SOURCE_EXTRACTOR: Final = "extractor"

# --- observations (counts that arrive aggregated) -----------------------------------------
SERIES: Final = "series"
START: Final = "start"
END: Final = "end"  # exclusive
COUNT: Final = "count"

# --- frequencies ---------------------------------------------------------------------------
Frequency = Literal["D", "W", "M"]
FREQUENCIES: Final = ("D", "W", "M")
PANDAS_FREQ: Final = {"D": "D", "W": "W-MON", "M": "MS"}

# --- feature panel ---------------------------------------------------------------------------
# Panel columns are grouped by prefix. Models build their own autoregressive terms from
# COUNT (so multi-step simulation can feed simulated counts back) and use the exogenous
# groups, whose future values are known at the origin or supplied by a scenario.
PREFIX_COUNT_FEATURE: Final = "cnt_"
PREFIX_RETALIATION: Final = "ret_"
PREFIX_STATEMENT: Final = "stm_"
PREFIX_CALENDAR: Final = "cal_"
# A series observed through interval totals may carry a thinned, dated view of the same
# events (``sampled`` in the catalog): its per-period count of matching events. Not an
# exogenous group (no model reads it by prefix scan); ``LocalLevel`` reads it by name.
PREFIX_SAMPLED: Final = "smp_"
SAMPLED_COUNT: Final = "smp_count"
EXOGENOUS_PREFIXES: Final = (PREFIX_RETALIATION, PREFIX_STATEMENT, PREFIX_CALENDAR)
