"""The labelled statements the stance classifier is trained on, all shipped with the package.

Three parts, in ``cadence/features/stance/data``:

- ``training_real.csv``: **real** statements (``synthetic=False``), copied verbatim from
  the repository's ``data/`` files with their source and analyst label: the 18 rows of
  ``us_forces_attacks_news_transcribed/militia_statements.csv`` and the full text of the
  2024-02-09 Islamic Resistance in Iraq statement. The Israel-front statements of
  ``data/israel-fronts-key-events`` are deliberately left out: they belong to the frozen
  evaluation set.
- ``synthetic_handwritten.csv``: the 180 **synthetic** hand-written statements of the
  lexicon's test sets (``synthetic=True``).
- the **synthetic** statements generated from ``synthetic_templates.csv``
  (``synthetic.py``; ``synthetic=True``).

Everything is read from the package, never downloaded; the same files give the same
frame, and ``training_fingerprint`` hashes them for the coder's version.
"""

from __future__ import annotations

import hashlib
from typing import Final

import pandas as pd

from cadence.columns import STANCES
from cadence.features.stance.synthetic import (
    COLUMNS,
    TEMPLATES_FILE,
    read_data_csv,
    read_data_text,
    synthetic_statements,
)

REAL_FILE: Final = "training_real.csv"
HANDWRITTEN_FILE: Final = "synthetic_handwritten.csv"


def _shipped(name: str, synthetic: bool) -> pd.DataFrame:
    frame = pd.DataFrame(read_data_csv(name))
    flags = frame["synthetic"].map({"true": True, "false": False})
    if flags.isna().any() or (flags != synthetic).any():
        bad = frame.loc[flags.isna() | (flags != synthetic), "id"].tolist()
        raise ValueError(
            f"{name}: expected synthetic={str(synthetic).lower()} on every row, got rows {bad}"
        )
    unknown = sorted(set(frame["stance"]) - set(STANCES))
    if unknown:
        raise ValueError(f"{name}, column 'stance': expected one of {STANCES}, got {unknown}")
    frame["synthetic"] = synthetic
    return frame[list(COLUMNS)]


def training_statements() -> pd.DataFrame:
    """Real and synthetic labelled statements: columns ``id, language, stance, synthetic,
    source, text``, real rows first; ids unique."""
    frame = pd.concat(
        [
            _shipped(REAL_FILE, synthetic=False),
            _shipped(HANDWRITTEN_FILE, synthetic=True),
            synthetic_statements(),
        ],
        ignore_index=True,
    )
    if not frame["id"].is_unique:
        raise ValueError("training statements: expected unique ids across the shipped files")
    return frame


def training_fingerprint() -> str:
    """A hash of the shipped training files (16 hex digits)."""
    digest = hashlib.sha256()
    for name in (REAL_FILE, HANDWRITTEN_FILE, TEMPLATES_FILE):
        digest.update(read_data_text(name).encode("utf-8"))
    return digest.hexdigest()[:16]
