"""The series catalog: YAML entries validated as ``SeriesSpec`` and stored by name.

Entries with ``split_by`` declare families (``cadence.features.families``): applying
the catalog expands each into one series per value found in the stored events, so
applying it again after new data arrives adds the new members (members are never
removed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from cadence.features.families import FamilySpec, is_family_entry
from cadence.features.spec import SeriesSpec
from cadence.store.errors import InputFileError
from cadence.store.reads import events_frame
from cadence.store.series_repo import apply_series


def read_catalog(path: Path) -> list[SeriesSpec]:
    """Parse and validate every series entry (``series:`` list) of a catalog file;
    family entries are left to ``read_families``."""
    return _read(path)[0]


def read_families(path: Path) -> list[FamilySpec]:
    """The family entries (``split_by``) of a catalog file."""
    return _read(path)[1]


def _read(path: Path) -> tuple[list[SeriesSpec], list[FamilySpec]]:
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputFileError(f"{path}: cannot read the series catalog: {exc}") from exc
    entries = doc.get("series") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise InputFileError(f"{path}: expected a mapping with a `series:` list of entries")
    specs = [SeriesSpec.from_dict(e) for e in entries if not is_family_entry(e)]
    families = [FamilySpec.from_dict(e) for e in entries if is_family_entry(e)]
    names = [s.name for s in specs] + [f.name for f in families]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputFileError(f"{path}: series declared more than once: {', '.join(dupes)}")
    return specs, families


def apply_catalog_file(engine: Engine, path: Path) -> dict[str, str]:
    """Create or update every series of the file in one transaction; name -> status.
    Families are expanded over the events stored now (members in name order)."""
    specs, families = _read(path)
    if families:
        events = events_frame(engine)
        specs = specs + [m for f in families for m in f.expand(events)]
    out: dict[str, str] = {}
    with engine.begin() as conn:
        for spec in specs:
            out[spec.name] = apply_series(
                conn,
                spec.name,
                spec.frequency,
                observed=spec.observed,
                definition=spec.to_dict(),
                description=spec.description or None,
            )
    return out
