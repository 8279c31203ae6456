"""The stance coder used at ingest: the lexicon's cues and the learned classifier together.

``code_statements(texts)`` blends the calibrated probabilities ``p(s)`` of the character
n-gram classifier (``classifier.py``) with the lexicon's decision ``l`` read as a noisy
witness whose reliability is what the lexicon showed on wording it had not seen:

    P(s | text) proportional to p(s) * P(lexicon says l | true stance s)

``FIRST_LOOK`` holds those counts: the lexicon's confusion on the three synthetic held-out
sets at their first runs, before the lexicons were widened on them (36 statements each;
reconstructed from the precision/recall table of ``tests/features/data/README.md``, which
determines every cell because neutral recall was 1.00, 0.92 and 1.00). One is added to
every cell. So a lexicon escalation (``P = 6/36`` if true, ``1/36`` if neutral) is strong
evidence, while a lexicon neutral, its fallback for unfamiliar wording, is weak. The
counts come from data older than this coder; the frozen evaluation set played no part.

Output per statement:

- ``stance``: the most probable stance; a text without letters is neutral;
- ``confidence``: the blended probability of that stance, in ``[1/3, 1]`` (see the
  reliability table of ``benchmarks/stance.py`` for how well it is calibrated);
- ``intensity``: the lexicon's intensity when the lexicon decided the same stance; for a
  stance the classifier found against or without the cues, that of one standard cue
  (``1 - exp(-1 / INTENSITY_SCALE)``, 0.39) times the confidence; 0 for neutral;
- ``cues``: the lexicon's cues for the decided stance, quoted as written; empty when the
  classifier decided without a cue on that side;
- ``probabilities``: the three calibrated probabilities, in ``STANCES`` order.

``EXTRACTOR_VERSION`` names the lexicon and the classifier; ``CODER_FINGERPRINT`` hashes
the lexicon, the training files and the hyperparameters, so a test catches a change that
forgot the version.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from cadence.columns import NEUTRAL, STANCES
from cadence.features.stance.classifier import HYPERPARAMETERS, probabilities
from cadence.features.stance.extractor import (
    INTENSITY_SCALE,
    LEXICON_FINGERPRINT,
    LEXICON_VERSION,
    explain,
    extract,
)
from cadence.features.stance.text import UNDETERMINED
from cadence.features.stance.training import training_fingerprint

CLASSIFIER_VERSION: Final = "charlr-1.0.0"
EXTRACTOR_VERSION: Final = f"{LEXICON_VERSION}+{CLASSIFIER_VERSION}"
ONE_CUE_INTENSITY: Final = 1.0 - math.exp(-1.0 / INTENSITY_SCALE)
# FIRST_LOOK[true stance][lexicon's stance], stances in STANCES order (escalation,
# de-escalation, neutral); each row sums to 36: 12 statements per stance in each of the
# three sets.
FIRST_LOOK: Final = ((6, 4, 26), (2, 14, 20), (0, 1, 35))
SMOOTHING: Final = 1.0
CODER_FINGERPRINT: Final = hashlib.sha256(
    f"{LEXICON_FINGERPRINT}|{training_fingerprint()}|{HYPERPARAMETERS}|{FIRST_LOOK}".encode()
).hexdigest()[:16]


def lexicon_likelihood() -> npt.NDArray[np.float64]:
    """``P(lexicon says column | true stance row)`` from ``FIRST_LOOK``, smoothed."""
    counts = np.asarray(FIRST_LOOK, dtype=np.float64) + SMOOTHING
    return counts / counts.sum(axis=1, keepdims=True)


def blend(
    classifier: npt.NDArray[np.float64], lexicon_stances: Sequence[str]
) -> npt.NDArray[np.float64]:
    """Rows of classifier probabilities times the lexicon's likelihood, renormalised."""
    likelihood = lexicon_likelihood()
    columns = [STANCES.index(stance) for stance in lexicon_stances]
    joint = classifier * likelihood[:, columns].T
    return np.asarray(joint / joint.sum(axis=1, keepdims=True), dtype=np.float64)


@dataclass(frozen=True)
class CodedStatement:
    """The coder's decision on one statement (fields: see the module docstring).

    ``lexicon_stance`` is what the cue extractor alone decided, kept for auditing.
    """

    stance: str
    intensity: float
    confidence: float
    cues: tuple[str, ...]
    language: str
    probabilities: tuple[float, float, float]
    lexicon_stance: str


def _side_cues(text: str, stance: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.text for c in explain(text) if c.stance == stance and c.weight))


def code_statements(
    texts: Sequence[str], languages: Sequence[str | None] | None = None
) -> list[CodedStatement]:
    """Code each text (``languages``: optional codes as for ``extractor.extract``)."""
    langs = list(languages) if languages is not None else [None] * len(texts)
    if len(langs) != len(texts):
        raise ValueError(f"languages: expected one per text ({len(texts)}), got {len(langs)}")
    lexical = [extract(text, lang) for text, lang in zip(texts, langs, strict=True)]
    proba = blend(probabilities(list(texts)), [lex.stance for lex in lexical])
    out: list[CodedStatement] = []
    for text, lex, row in zip(texts, lexical, proba, strict=True):
        p = tuple(float(v) for v in row)
        k = max(range(len(STANCES)), key=lambda i: (p[i], -i))
        stance = STANCES[k] if lex.language != UNDETERMINED else NEUTRAL
        confidence = p[STANCES.index(stance)]
        if stance == lex.stance:
            intensity, cues = lex.intensity, lex.cues
        elif stance == NEUTRAL:
            intensity, cues = 0.0, ()
        else:
            intensity, cues = ONE_CUE_INTENSITY * confidence, _side_cues(text, stance)
        out.append(
            CodedStatement(
                stance=stance,
                intensity=intensity,
                confidence=confidence,
                cues=cues,
                language=lex.language,
                probabilities=(p[0], p[1], p[2]),
                lexicon_stance=lex.stance,
            )
        )
    return out


def code_statement(text: str, language: str | None = None) -> CodedStatement:
    """``code_statements`` for one text."""
    return code_statements([text], [language])[0]
