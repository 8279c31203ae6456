"""Series families: one catalog entry expanding into one series per value of a field.

A family entry is a series entry with ``split_by`` (an event column such as ``country``,
``admin1`` or ``event_type``, or a key of the ``extra`` JSON)::

    - name: attacks-by-country
      frequency: W
      split_by: country
      target: {events: {kind: attack}}
      drivers: {retaliation: {kind: retaliation}}
      values: [Iraq, Syria]     # optional: only these values

It expands into one ``SeriesSpec`` per value of ``split_by`` found among the events its
target filter selects, named ``<family>/<value>`` (``attacks-by-country/Iraq``), whose
target is the family's filter with ``split_by`` fixed to that value. Drivers are shared
by every member. Values compare like filters (trimmed, case-insensitive): spellings that
differ only in case or surrounding blanks are one member, named by the spelling that
sorts first. A family name never contains ``/``, so ``family_of`` recovers it from a
member's name even when the value holds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cadence.features.errors import SpecError
from cadence.features.spec import EventFilter, SeriesSpec, apply_filter, field_values

__all__ = ["FAMILY_SEP", "FamilySpec", "family_of", "is_family_entry"]

FAMILY_SEP = "/"
_FAMILY_KEYS = frozenset({"split_by", "values"})


def is_family_entry(entry: object) -> bool:
    """True for a catalog entry that declares a family (it has ``split_by``)."""
    return isinstance(entry, Mapping) and "split_by" in entry


def family_of(series: str) -> str | None:
    """The family of a member's name (the part before the first ``/``), else None."""
    family, sep, _ = series.partition(FAMILY_SEP)
    return family if sep else None


@dataclass(frozen=True)
class FamilySpec:
    """A family: ``template`` holds the shared frequency, target and drivers (its name is
    the family's); ``split_by`` the field; ``values`` an optional allow-list."""

    template: SeriesSpec
    split_by: str
    values: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return self.template.name

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FamilySpec:
        """Parse a family entry: a series entry plus ``split_by`` and optional ``values``.
        Raises ``SpecError`` naming the entry and field."""
        base = {k: v for k, v in d.items() if k not in _FAMILY_KEYS}
        template = SeriesSpec.from_dict(base)
        name = template.name
        if FAMILY_SEP in name:
            raise SpecError(f"family {name!r}, field 'name': expected no {FAMILY_SEP!r}")
        if template.observed:
            raise SpecError(
                f"family {name!r}, field 'target': a family splits events; expected "
                "{events: {...filter}} (ingest counts of many series with a `series` column)"
            )
        split_by = d.get("split_by")
        if not isinstance(split_by, str) or not split_by.strip():
            raise SpecError(
                f"family {name!r}, field 'split_by': expected a field name, got {split_by!r}"
            )
        raw = d.get("values")
        values: tuple[str, ...] | None = None
        if raw is not None:
            if not isinstance(raw, list) or not raw or any(isinstance(v, bool) for v in raw):
                raise SpecError(
                    f"family {name!r}, field 'values': expected a non-empty list, got {raw!r}"
                )
            values = tuple(str(v).strip() for v in raw)
        return cls(template=template, split_by=split_by.strip(), values=values)

    def found_values(self, events: pd.DataFrame) -> list[str]:
        """Values of ``split_by`` among the events the target selects (and ``values``
        allows), one per case-insensitive spelling, sorted. Blank values are left out.
        Raises ``SpecError`` when ``split_by`` is neither a column nor an extra key."""
        if events.empty:
            return []
        selected = events[apply_filter(events, self.template.target)]
        column = field_values(selected, self.split_by)
        if column is None:
            raise SpecError(
                f"family {self.name!r}, field 'split_by': {self.split_by!r} is neither an "
                "event column nor a key of the extra columns"
            )
        text = column.dropna().astype(str).str.strip()
        text = text[text != ""]
        allowed = None if self.values is None else {v.casefold() for v in self.values}
        by_key: dict[str, str] = {}
        for spelling in sorted(set(text)):
            key = spelling.casefold()
            if allowed is not None and key not in allowed:
                continue
            by_key.setdefault(key, spelling)
        return sorted(by_key.values())

    def member(self, value: str) -> SeriesSpec:
        """The member series of ``value``: ``<family>/<value>``, target filter narrowed."""
        t = self.template
        target: EventFilter = {**(t.target or {}), self.split_by: value}
        about = f"{self.split_by} = {value}"
        return SeriesSpec(
            name=f"{t.name}{FAMILY_SEP}{value}",
            frequency=t.frequency,
            observed=False,
            target=target,
            retaliation=t.retaliation,
            statements=t.statements,
            description=f"{t.description} ({about})" if t.description else about,
        )

    def expand(self, events: pd.DataFrame) -> list[SeriesSpec]:
        """One member per value found in ``events`` (``found_values``), in name order."""
        return [self.member(v) for v in self.found_values(events)]
