"""Statement stance: English/Arabic text -> escalation / de-escalation / neutral.

Two coders: a versioned, deterministic cue extractor (pure Python; ``extract`` reads one
text, ``explain`` lists its cues) and the coder used at ingest, ``code_statements``,
which combines those cues with a calibrated character n-gram classifier trained at
first use on statements shipped with the package. ``resolve_stances`` decides a frame of
statements with the analyst's code taking precedence; ``normalize_stance_label`` maps
source labels (``"pause"``) to stances.
"""

from __future__ import annotations

from cadence.features.stance.combined import (
    EXTRACTOR_VERSION,
    CodedStatement,
    code_statement,
    code_statements,
)
from cadence.features.stance.errors import (
    StanceError,
    StanceLabelError,
    StatementFrameError,
    UnsupportedLanguageError,
)
from cadence.features.stance.extractor import (
    LEXICON_FINGERPRINT,
    LEXICON_VERSION,
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
    "LEXICON_VERSION",
    "CodedStatement",
    "CueMatch",
    "StanceError",
    "StanceLabelError",
    "StanceResult",
    "StatementFrameError",
    "UnsupportedLanguageError",
    "code_statement",
    "code_statements",
    "detect_language",
    "explain",
    "extract",
    "normalize_arabic",
    "normalize_stance_label",
    "resolve_stances",
]
