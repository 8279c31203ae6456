"""The series catalog: YAML entries validated as ``SeriesSpec`` and stored by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from cadence.features.spec import SeriesSpec
from cadence.store.errors import InputFileError
from cadence.store.series_repo import apply_series


def read_catalog(path: Path) -> list[SeriesSpec]:
    """Parse and validate every entry (``series:`` list) of a catalog file."""
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputFileError(f"{path}: cannot read the series catalog: {exc}") from exc
    entries = doc.get("series") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise InputFileError(f"{path}: expected a mapping with a `series:` list of entries")
    specs = [SeriesSpec.from_dict(e) for e in entries]
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputFileError(f"{path}: series declared more than once: {', '.join(dupes)}")
    return specs


def apply_catalog_file(engine: Engine, path: Path) -> dict[str, str]:
    """Create or update every series of the file in one transaction; name -> status."""
    specs = read_catalog(path)
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
