"""The registry of feature columns: name, group, what, unit and window, per frequency.

Names are stable: models, saved panels and the CLI refer to them. They are built from
``periods.PROFILES`` exactly as the feature code builds its columns, and a test checks
that every column a panel holds is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadence.columns import (
    FREQUENCIES,
    PREFIX_CALENDAR,
    PREFIX_COUNT_FEATURE,
    PREFIX_RETALIATION,
    PREFIX_STATEMENT,
    Frequency,
)
from cadence.features.calendar import DOW_NAMES
from cadence.features.periods import PROFILES, check_frequency

__all__ = ["GROUPS", "FeatureDef", "feature_definitions"]

GROUPS = {
    PREFIX_COUNT_FEATURE: "count",
    PREFIX_RETALIATION: "retaliation",
    PREFIX_STATEMENT: "statements",
    PREFIX_CALENDAR: "calendar",
}
_PERIOD = {"D": "day", "W": "week", "M": "month"}


@dataclass(frozen=True)
class FeatureDef:
    """One feature column.

    ``group`` is one of ``count``, ``retaliation``, ``statements``, ``calendar``;
    ``window`` says how far back the value looks ("28 days", "half-life 7 days",
    "all history", "none").
    """

    name: str
    group: str
    frequency: Frequency
    description: str
    unit: str
    window: str


def _defs(frequency: Frequency) -> list[FeatureDef]:
    prof = PROFILES[frequency]
    u, per = prof.unit, _PERIOD[frequency]
    pers = f"{per}s"
    cap = f"periods ({pers}), capped at {prof.since_cap}"
    out: list[FeatureDef] = []

    def add(name: str, group_prefix: str, description: str, unit: str, window: str) -> None:
        out.append(FeatureDef(name, GROUPS[group_prefix], frequency, description, unit, window))

    c, r, s, k = PREFIX_COUNT_FEATURE, PREFIX_RETALIATION, PREFIX_STATEMENT, PREFIX_CALENDAR
    for lag in prof.lags:
        add(f"{c}lag_{lag}", c, f"Count {lag} {per}(s) earlier (NaN if unknown).",
            f"events per {per}", f"{lag} {pers} back")  # fmt: skip
    for w in prof.windows:
        add(f"{c}sum_{w}{u}", c, f"Sum of known counts over the last {w} {pers}, this one "
            "included.", "events", f"{w} {pers}")  # fmt: skip
    for h in prof.half_lives:
        add(f"{c}ewm_{h}{u}", c, f"Exponentially weighted mean count, weights halving every "
            f"{h} {pers}.", f"events per {per}", f"half-life {h} {pers}")  # fmt: skip
    add(f"{c}since_last", c, f"{pers.capitalize()} since the last {per} with a known event "
        f"(0 if this one; {prof.since_cap} before any).", cap, "all history")  # fmt: skip
    for w in prof.windows:
        add(f"{r}count_{w}{u}", r, f"Retaliation events in the last {w} {pers}.", "events",
            f"{w} {pers}")  # fmt: skip
    for h in prof.half_lives:
        add(f"{r}decay_{h}{u}", r, "Decayed retaliation intensity: each event counts 1, halving "
            f"every {h} {pers}.", "events (decayed)", f"half-life {h} {pers}")  # fmt: skip
    for h in prof.half_lives:
        add(f"{r}sev_decay_{h}{u}", r, "Severity-weighted decayed retaliation intensity: each "
            "event weighs 1 + ln(1 + fatalities) + severity, halving every "
            f"{h} {pers}.", "severity weight (decayed)", f"half-life {h} {pers}")  # fmt: skip
    add(f"{r}since_last", r, f"{pers.capitalize()} since the last retaliation event.", cap,
        "all history")  # fmt: skip
    for h in prof.half_lives:
        add(f"{s}esc_decay_{h}{u}", s, "Decayed escalation signal: escalation statements weighted "
            f"by intensity (default 1), halving every {h} {pers}.", "intensity (decayed)",
            f"half-life {h} {pers}")  # fmt: skip
    for h in prof.half_lives:
        add(f"{s}deesc_decay_{h}{u}", s, "Decayed de-escalation signal: de-escalation statements "
            f"weighted by intensity (default 1), halving every {h} {pers}.",
            "intensity (decayed)", f"half-life {h} {pers}")  # fmt: skip
    add(f"{s}pause", s, "1 while an announced pause is in force: the latest de-escalation "
        "statement is later than the latest escalation statement (same day: no pause).",
        "indicator 0/1", "all history")  # fmt: skip
    add(f"{s}since_last", s, f"{pers.capitalize()} since the last statement of any stance.",
        cap, "all history")  # fmt: skip
    if frequency == "D":
        for name in DOW_NAMES[1:]:
            add(f"{k}dow_{name}", k, f"1 on {name.capitalize()} (Monday is the baseline).",
                "indicator 0/1", "none")  # fmt: skip
    add(f"{k}year_sin", k, "sin(2 pi (day of year - 1) / 365.25) of the period's first day.",
        "dimensionless [-1, 1]", "none")  # fmt: skip
    add(f"{k}year_cos", k, "cos(2 pi (day of year - 1) / 365.25) of the period's first day.",
        "dimensionless [-1, 1]", "none")  # fmt: skip
    if frequency == "M":
        add(f"{k}days", k, "Number of days in the month (exposure).", "days", "none")
    return out


def feature_definitions(frequency: Frequency | None = None) -> list[FeatureDef]:
    """Every feature column a panel of ``frequency`` can hold (all frequencies if None).

    Order: count, retaliation, statements, calendar, as in panels.
    """
    if frequency is None:
        return [d for f in FREQUENCIES for d in _defs(f)]
    return _defs(check_frequency(frequency))
