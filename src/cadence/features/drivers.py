"""Retaliation (``ret_``) and statement (``stm_``) features.

Drivers are reduced to dated marks before any feature is computed, so real rows and a
scenario's hypothetical ones go through the same code:

* a retaliation mark is a day and a *severity weight*
  ``w = 1 + ln(1 + fatalities) + severity`` where ``fatalities`` is the events'
  ``fatalities`` column (missing = 0) and ``severity`` an optional numeric field (a column
  or a key of ``extra``, missing = 0) for what the data says beyond deaths (a leader
  killed, many targets struck). An unremarkable strike weighs 1;
* a statement mark is a day, a stance (+1 escalation, -1 de-escalation, 0 neutral; a
  missing stance is neutral) and an intensity (optional numeric ``intensity`` field,
  missing = 1).

Features at period t use marks dated on or before the last day of t. They are computed
on a grid that starts at the earliest mark, then cut to the requested periods, and every
kernel here is exact under leading empty periods, so values do not depend on where a
panel starts.

*Announced pause.* ``stm_pause`` is 1 when the latest de-escalation statement dated on
or before the end of period t is later than the latest escalation statement: a
de-escalation statement starts a pause, a later escalation statement ends it, neutral
statements change nothing. An escalation and a de-escalation on the same day leave no
pause in force (the resumption is read as the operative message).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cadence.columns import (
    DE_ESCALATION,
    ESCALATION,
    FATALITIES,
    NEUTRAL,
    PREFIX_RETALIATION,
    PREFIX_STATEMENT,
    STANCE,
    Frequency,
)
from cadence.features.counts import bin_days, matching_days
from cadence.features.errors import InputError
from cadence.features.kernels import decayed_sum, periods_since, rolling_sum
from cadence.features.periods import PROFILES, to_ordinals
from cadence.features.spec import EventFilter, field_values

__all__ = [
    "INTENSITY",
    "SEVERITY",
    "RetaliationMarks",
    "StatementMarks",
    "retaliation_features",
    "retaliation_marks",
    "statement_features",
    "statement_marks",
]

SEVERITY = "severity"
INTENSITY = "intensity"
_STANCE_CODE = {ESCALATION: 1, DE_ESCALATION: -1, NEUTRAL: 0}
_NEVER = np.iinfo(np.int64).min


@dataclass(frozen=True)
class RetaliationMarks:
    """Days (int64, days since 1970-01-01) and severity weights (float, >= 1)."""

    days: np.ndarray
    weights: np.ndarray

    def __add__(self, other: RetaliationMarks) -> RetaliationMarks:
        return RetaliationMarks(
            np.concatenate([self.days, other.days]),
            np.concatenate([self.weights, other.weights]),
        )


@dataclass(frozen=True)
class StatementMarks:
    """Days (int64), stance codes (+1 / -1 / 0) and intensities (float, >= 0)."""

    days: np.ndarray
    stance: np.ndarray
    intensity: np.ndarray

    def __add__(self, other: StatementMarks) -> StatementMarks:
        return StatementMarks(
            np.concatenate([self.days, other.days]),
            np.concatenate([self.stance, other.stance]),
            np.concatenate([self.intensity, other.intensity]),
        )


def _numeric(frame: pd.DataFrame, name: str, default: float, what: str) -> np.ndarray:
    """Optional non-negative numeric field; missing column or value -> ``default``."""
    values = field_values(frame, name)
    if values is None:
        return np.full(len(frame), default)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    unparsed = np.flatnonzero(np.isnan(numbers) & values.notna().to_numpy())
    if unparsed.size:
        i = int(unparsed[0])
        raise InputError(
            f"{what} row {i}, field {name!r}: expected a number, got {values.iloc[i]!r}"
        )
    negative = np.flatnonzero(numbers < 0)
    if negative.size:
        i = int(negative[0])
        raise InputError(f"{what} row {i}, field {name!r}: expected >= 0, got {numbers[i]:g}")
    return np.where(np.isnan(numbers), default, numbers)


def severity_weight(fatalities: np.ndarray, severity: np.ndarray) -> np.ndarray:
    """``1 + ln(1 + fatalities) + severity`` (dimensionless, >= 1)."""
    return 1.0 + np.log1p(fatalities) + severity


def retaliation_marks(
    events: pd.DataFrame, filt: EventFilter | None, as_of_day: int | None
) -> RetaliationMarks:
    """Marks of events matching ``filt`` dated on or before ``as_of_day``."""
    days, mask = matching_days(events, filt, as_of_day, "events")
    chosen = events[mask]
    fatalities = _numeric(chosen, FATALITIES, 0.0, "events")
    severity = _numeric(chosen, SEVERITY, 0.0, "events")
    return RetaliationMarks(days, severity_weight(fatalities, severity))


def stance_codes(values: pd.Series, what: str) -> np.ndarray:
    """+1 / -1 / 0 per stance; missing is neutral, anything else raises ``InputError``."""
    text = values.astype("string").str.strip().str.casefold()
    codes = text.map(_STANCE_CODE)
    unknown = np.flatnonzero((codes.isna() & text.notna()).to_numpy())
    if unknown.size:
        i = int(unknown[0])
        raise InputError(
            f"{what} row {i}, field {STANCE!r}: expected one of "
            f"{', '.join(_STANCE_CODE)}, got {values.iloc[i]!r}"
        )
    return codes.fillna(0).to_numpy(dtype=np.int64)


def statement_marks(
    statements: pd.DataFrame, filt: EventFilter | None, as_of_day: int | None
) -> StatementMarks:
    """Marks of statements matching ``filt`` dated on or before ``as_of_day``."""
    days, mask = matching_days(statements, filt, as_of_day, "statements")
    chosen = statements[mask]
    stance = (
        stance_codes(chosen[STANCE], "statements")
        if STANCE in chosen.columns
        else np.zeros(len(chosen), dtype=np.int64)
    )
    intensity = _numeric(chosen, INTENSITY, 1.0, "statements")
    return StatementMarks(days, stance, intensity)


def _grid_start(days: np.ndarray, frequency: Frequency, first: int) -> int:
    return min(first, int(to_ordinals(days, frequency).min())) if days.size else first


def retaliation_features(
    marks: RetaliationMarks, frequency: Frequency, first: int, last: int
) -> dict[str, np.ndarray]:
    """``ret_`` columns (float arrays) for period ordinals ``first..last``."""
    profile = PROFILES[frequency]
    g0 = _grid_start(marks.days, frequency, first)
    count = bin_days(marks.days, frequency, g0, last)[:, None]
    weight = bin_days(marks.days, frequency, g0, last, marks.weights)[:, None]
    u, p = profile.unit, PREFIX_RETALIATION
    out: dict[str, np.ndarray] = {}
    for w in profile.windows:
        out[f"{p}count_{w}{u}"] = rolling_sum(count, w)
    for h in profile.half_lives:
        out[f"{p}decay_{h}{u}"] = decayed_sum(count, h)
    for h in profile.half_lives:
        out[f"{p}sev_decay_{h}{u}"] = decayed_sum(weight, h)
    out[f"{p}since_last"] = periods_since(count, profile.since_cap)
    return {k: v[first - g0 :, 0] for k, v in out.items()}


def statement_features(
    marks: StatementMarks, frequency: Frequency, first: int, last: int
) -> dict[str, np.ndarray]:
    """``stm_`` columns (float arrays) for period ordinals ``first..last``."""
    profile = PROFILES[frequency]
    g0 = _grid_start(marks.days, frequency, first)
    n = last - g0 + 1
    esc = marks.stance > 0
    de = marks.stance < 0
    esc_w = bin_days(marks.days[esc], frequency, g0, last, marks.intensity[esc])[:, None]
    de_w = bin_days(marks.days[de], frequency, g0, last, marks.intensity[de])[:, None]
    any_count = bin_days(marks.days, frequency, g0, last)[:, None]
    u, p = profile.unit, PREFIX_STATEMENT
    out: dict[str, np.ndarray] = {}
    for h in profile.half_lives:
        out[f"{p}esc_decay_{h}{u}"] = decayed_sum(esc_w, h)
    for h in profile.half_lives:
        out[f"{p}deesc_decay_{h}{u}"] = decayed_sum(de_w, h)
    last_esc = _last_day(marks.days[esc], frequency, g0, n)
    last_de = _last_day(marks.days[de], frequency, g0, n)
    out[f"{p}pause"] = (last_de > last_esc).astype(np.float64)[:, None]
    out[f"{p}since_last"] = periods_since(any_count, profile.since_cap)
    return {k: v[first - g0 :, 0] for k, v in out.items()}


def _last_day(days: np.ndarray, frequency: Frequency, g0: int, n: int) -> np.ndarray:
    """Latest mark day on or before the end of each period (``_NEVER`` before any)."""
    latest = np.full(n, _NEVER, dtype=np.int64)
    ords = to_ordinals(days, frequency) - g0
    keep = (ords >= 0) & (ords < n)
    np.maximum.at(latest, ords[keep], days[keep])
    return np.maximum.accumulate(latest)
