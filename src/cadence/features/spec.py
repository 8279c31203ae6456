"""Series definitions and event filters.

A *series* is a named forecast target (see the YAML catalog): its counts come either from
events matching a filter or from observations ingested under its name, and its drivers
are retaliation events and statements matching two more filters.

A *filter* (``EventFilter``) maps a field name to a value or a list of values. A row
matches when, for every field, its value equals one of the listed values after
``str.strip().casefold()`` on both sides (exact match, case-insensitive). Fields are
combined with AND, listed values with OR; an empty filter matches every row. A field that
is not a column of the frame is looked up in the ``extra`` column (dicts of additional
source fields) when the frame has one; otherwise it is a ``SpecError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from cadence.columns import EXTRA, FREQUENCIES
from cadence.features.errors import SpecError

__all__ = ["EventFilter", "SeriesSpec", "apply_filter", "field_values"]

EventFilter = dict[str, str | list[str]]

_TOP_KEYS = frozenset(
    {"name", "frequency", "target", "sampled", "drivers", "description", "week_start"}
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DRIVER_KEYS = frozenset({"retaliation", "statements"})


def field_values(frame: pd.DataFrame, name: str) -> pd.Series | None:
    """The values of field ``name``: the column, else the key in ``extra``, else None.

    ``extra`` cells may be dicts or JSON objects as text; rows whose ``extra`` lacks the
    key get None. Index aligned to ``frame``.
    """
    if name in frame.columns:
        return frame[name]
    if EXTRA in frame.columns:
        # One lookup per event row (not per day); extras are small dicts.
        values = [_extra_dict(d).get(name) for d in frame[EXTRA]]
        return pd.Series(values, index=frame.index, dtype=object)
    return None


def _extra_dict(cell: object) -> Mapping[str, Any]:
    if isinstance(cell, Mapping):
        return cell
    if isinstance(cell, str) and cell.lstrip().startswith("{"):
        try:
            parsed = json.loads(cell)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def apply_filter(frame: pd.DataFrame, filt: EventFilter | None) -> np.ndarray:
    """Boolean mask of shape ``(len(frame),)``: rows matching every field of ``filt``.

    ``None`` or ``{}`` matches every row. Raises ``SpecError`` naming a field that is
    neither a column nor found in the ``extra`` column.
    """
    mask = np.ones(len(frame), dtype=bool)
    if not filt:
        return mask
    for name, wanted in filt.items():
        values = field_values(frame, name)
        if values is None:
            raise SpecError(
                f"filter field {name!r}: expected a column of the frame or a key of "
                f"{EXTRA!r}, got columns {sorted(map(str, frame.columns))}"
            )
        options = [wanted] if isinstance(wanted, str) else list(wanted)
        targets = sorted({str(o).strip().casefold() for o in options})
        text = values.astype("string").str.strip().str.casefold()
        mask &= text.isin(targets).fillna(False).to_numpy(dtype=bool)
    return mask


def _parse_filter(entry: str, field: str, raw: object) -> EventFilter:
    if not isinstance(raw, Mapping):
        raise SpecError(
            f"series {entry!r}, field {field!r}: expected a mapping of field to value(s), "
            f"got {type(raw).__name__} {raw!r}"
        )
    out: EventFilter = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.strip():
            raise SpecError(
                f"series {entry!r}, field {field!r}: expected field names as strings, got {key!r}"
            )
        if isinstance(value, bool) or value is None:
            raise SpecError(
                f"series {entry!r}, field {field}.{key}: expected a string or a list of "
                f"strings, got {value!r}"
            )
        if isinstance(value, str | int | float):
            out[key] = str(value)
        elif isinstance(value, list | tuple):
            if not value or any(
                isinstance(v, bool) or not isinstance(v, str | int | float) for v in value
            ):
                raise SpecError(
                    f"series {entry!r}, field {field}.{key}: expected a non-empty list of "
                    f"strings, got {value!r}"
                )
            out[key] = [str(v) for v in value]
        else:
            raise SpecError(
                f"series {entry!r}, field {field}.{key}: expected a string or a list of "
                f"strings, got {type(value).__name__} {value!r}"
            )
    return out


@dataclass(frozen=True)
class SeriesSpec:
    """One forecast target and its drivers.

    ``observed`` series take their counts from observations ingested under ``name``
    (``target`` is None); the others count events matching ``target``. ``retaliation``
    and ``statements`` are driver filters; None means the series has no such driver and
    the panel carries no ``ret_`` / ``stm_`` columns. ``sampled`` (observed series only)
    filters the events that are a thinned, dated view of the same events the observations
    count (a news list of attacks beside official tallies); the panel then carries their
    count per period as ``smp_count``.
    """

    name: str
    frequency: Literal["D", "W", "M"]
    observed: bool
    target: EventFilter | None
    retaliation: EventFilter | None
    statements: EventFilter | None
    description: str = ""
    sampled: EventFilter | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError(f"series name: expected a non-empty string, got {self.name!r}")
        if self.frequency not in FREQUENCIES:
            raise SpecError(
                f"series {self.name!r}, field 'frequency': expected one of "
                f"{', '.join(FREQUENCIES)}, got {self.frequency!r}"
            )
        if self.observed and self.target is not None:
            raise SpecError(
                f"series {self.name!r}, field 'target': an observed series has no event filter"
            )
        if not self.observed and self.target is None:
            raise SpecError(
                f"series {self.name!r}, field 'target': expected an event filter for a "
                "series that is not observed"
            )
        if self.sampled is not None and not self.observed:
            raise SpecError(
                f"series {self.name!r}, field 'sampled': only a series with target "
                "{observations: true} can declare a sampled view; an event series already "
                "counts its events"
            )
        if self.sampled is not None and not self.sampled:
            raise SpecError(
                f"series {self.name!r}, field 'sampled': expected a non-empty event filter "
                "(an empty one would match every event of every source)"
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SeriesSpec:
        """Parse one catalog entry.

        Shape: ``{name, frequency, target: {observations: true} | {events: {filter}},
        sampled: {filter}, drivers: {retaliation: {filter}, statements: {filter}},
        description, week_start}``; ``sampled`` (observed series only), ``drivers``,
        ``description`` and ``week_start`` (the weekday a weekly series' counts count their
        weeks from, for ingest; panels' weeks start Monday) are optional.
        Raises ``SpecError`` naming the entry and field.
        """
        if not isinstance(d, Mapping):
            raise SpecError(f"series entry: expected a mapping, got {type(d).__name__}")
        name = d.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SpecError(
                f"series entry, field 'name': expected a non-empty string, got {name!r}"
            )
        unknown = sorted(set(map(str, d)) - _TOP_KEYS)
        if unknown:
            raise SpecError(
                f"series {name!r}: unknown field(s) {unknown}; expected {sorted(_TOP_KEYS)}"
            )
        frequency = d.get("frequency")
        if frequency not in FREQUENCIES:
            raise SpecError(
                f"series {name!r}, field 'frequency': expected one of "
                f"{', '.join(FREQUENCIES)}, got {frequency!r}"
            )
        week_start = d.get("week_start")
        if week_start is not None and (frequency != "W" or week_start not in _WEEKDAYS):
            raise SpecError(
                f"series {name!r}, field 'week_start': expected a lower-case weekday "
                f"(monday .. sunday) on a weekly series (frequency W), got {week_start!r} "
                f"on frequency {frequency}"
            )
        target = d.get("target")
        observed: bool
        target_filter: EventFilter | None
        if not isinstance(target, Mapping) or len(target) != 1:
            raise SpecError(
                f"series {name!r}, field 'target': expected {{observations: true}} or "
                f"{{events: {{...filter}}}}, got {target!r}"
            )
        if "observations" in target:
            if target["observations"] is not True:
                raise SpecError(
                    f"series {name!r}, field 'target.observations': expected true, "
                    f"got {target['observations']!r}"
                )
            observed, target_filter = True, None
        elif "events" in target:
            observed, target_filter = False, _parse_filter(name, "target.events", target["events"])
        else:
            raise SpecError(
                f"series {name!r}, field 'target': expected key 'observations' or 'events', "
                f"got {sorted(map(str, target))}"
            )
        drivers = d.get("drivers") or {}
        if not isinstance(drivers, Mapping):
            raise SpecError(
                f"series {name!r}, field 'drivers': expected a mapping, got {drivers!r}"
            )
        unknown = sorted(set(map(str, drivers)) - _DRIVER_KEYS)
        if unknown:
            raise SpecError(
                f"series {name!r}, field 'drivers': unknown driver(s) {unknown}; "
                f"expected {sorted(_DRIVER_KEYS)}"
            )
        retaliation = (
            _parse_filter(name, "drivers.retaliation", drivers["retaliation"])
            if drivers.get("retaliation") is not None
            else None
        )
        statements = (
            _parse_filter(name, "drivers.statements", drivers["statements"])
            if drivers.get("statements") is not None
            else None
        )
        sampled = (
            _parse_filter(name, "sampled", d["sampled"]) if d.get("sampled") is not None else None
        )
        description = d.get("description", "")
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise SpecError(
                f"series {name!r}, field 'description': expected a string, got {description!r}"
            )
        return cls(
            name=name,
            frequency=cast(Literal["D", "W", "M"], frequency),
            observed=observed,
            target=target_filter,
            retaliation=retaliation,
            statements=statements,
            description=description,
            sampled=sampled,
        )

    def to_dict(self) -> dict[str, Any]:
        """The catalog entry; ``SeriesSpec.from_dict(spec.to_dict()) == spec``."""
        target: dict[str, Any] = (
            {"observations": True} if self.observed else {"events": _copy(self.target)}
        )
        drivers: dict[str, Any] = {}
        if self.retaliation is not None:
            drivers["retaliation"] = _copy(self.retaliation)
        if self.statements is not None:
            drivers["statements"] = _copy(self.statements)
        out: dict[str, Any] = {"name": self.name, "frequency": self.frequency, "target": target}
        if self.sampled is not None:
            out["sampled"] = _copy(self.sampled)
        if drivers:
            out["drivers"] = drivers
        if self.description:
            out["description"] = self.description
        return out


def _copy(filt: EventFilter | None) -> EventFilter:
    return {k: (list(v) if isinstance(v, list) else v) for k, v in (filt or {}).items()}
