"""Statement stance: English/Arabic text -> escalation / de-escalation / neutral.

A versioned, deterministic cue extractor (pure Python): ``extract`` reads one text,
``resolve_stances`` decides a frame of statements with the analyst's code taking
precedence, ``normalize_stance_label`` maps source labels (``"pause"``) to stances.
"""

from __future__ import annotations

from cadence.features.stance.errors import (
    StanceError,
    StanceLabelError,
    StatementFrameError,
    UnsupportedLanguageError,
)
from cadence.features.stance.extractor import (
    EXTRACTOR_VERSION,
    LEXICON_FINGERPRINT,
    CueMatch,
    StanceResult,
    explain,
    extract,
)
from cadence.features.stance.labels import normalize_stance_label
from cadence.features.stance.resolve import ANALYST_INTENSITY, CUES, INTENSITY, resolve_stances
from cadence.features.stance.text import detect_language, normalize_arabic

__all__ = [
    "ANALYST_INTENSITY",
    "CUES",
    "EXTRACTOR_VERSION",
    "INTENSITY",
    "LEXICON_FINGERPRINT",
    "CueMatch",
    "StanceError",
    "StanceLabelError",
    "StanceResult",
    "StatementFrameError",
    "UnsupportedLanguageError",
    "detect_language",
    "explain",
    "extract",
    "normalize_arabic",
    "normalize_stance_label",
    "resolve_stances",
]
