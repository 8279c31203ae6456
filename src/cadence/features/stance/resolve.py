"""Stances for a statements frame: the analyst's code where there is one, else the coder's.

The coder is ``combined.code_statements`` (lexicon cues blended with the calibrated
character n-gram classifier); its rows keep ``stance_source = "extractor"``.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from cadence.columns import (
    CONFIDENCE,
    EXTRACTOR_VERSION,
    LANGUAGE,
    NEUTRAL,
    STANCE,
    STANCE_SOURCE,
    STANCE_SOURCE_ANALYST,
    STANCE_SOURCE_EXTRACTOR,
    TEXT,
)
from cadence.features.stance.combined import EXTRACTOR_VERSION as VERSION
from cadence.features.stance.combined import code_statements
from cadence.features.stance.errors import StatementFrameError, UnsupportedLanguageError
from cadence.features.stance.labels import normalize_stance_label
from cadence.features.stance.text import UNDETERMINED, canonical_language, detect_language

INTENSITY: Final = "intensity"
CUES: Final = "cues"
ANALYST_CONFIDENCE: Final = 1.0
# An analyst codes the direction, not its strength: a coded escalation or de-escalation
# counts in full (1.0, the panel's default weight of a statement without an intensity),
# a coded neutral as 0. Extractor intensities lie in [0, 1), so a statement the
# extractor decided never outweighs one an analyst coded.
ANALYST_INTENSITY: Final = 1.0


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


SUPPORTED_LANGUAGES = (
    "'en' or 'ar' (or a variant such as 'eng', 'ar-IQ', 'Arabic') for a statement the "
    "extractor codes, or a stance given by the analyst for one in another language"
)


def _check_languages(index: pd.Index, pending: list[tuple[int, str | None]]) -> None:
    """``UnsupportedLanguageError`` listing every row the extractor would have to code
    (no analyst stance) whose given language it cannot read."""
    bad = [(index[i], lang) for i, lang in pending if lang is not None]
    bad = [(label, lang) for label, lang in bad if canonical_language(lang) is None]
    if bad:
        shown = ", ".join(f"{label!r} ({lang!r})" for label, lang in bad[:3])
        raise UnsupportedLanguageError(
            f"language: expected {SUPPORTED_LANGUAGES}; rows {shown}"
            + (f" and {len(bad) - 3} more" if len(bad) > 3 else ""),
            rows=tuple(bad),
            expected=SUPPORTED_LANGUAGES,
        )


def resolve_stances(statements: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``statements`` with every row's stance decided and its provenance kept.

    Input: one row per statement with column ``text`` (``cadence.columns.TEXT``; empty
    or missing text is read as ""), and optionally ``stance`` (analyst code: a stance or
    a source label such as ``"pause"``, see ``normalize_stance_label``; blank = none)
    and ``language``. Index and row order are preserved; other columns are untouched.

    Output adds or overwrites:

    - ``stance``: the analyst's code normalised to one of ``STANCES`` where present,
      else the coder's (``combined.code_statements``, "the extractor" below);
    - ``stance_source``: ``"analyst"`` or ``"extractor"``;
    - ``confidence``: 1.0 for analyst rows, the coder's calibrated probability of its
      stance otherwise;
    - ``extractor_version``: ``EXTRACTOR_VERSION`` on extractor rows, None on analyst rows;
    - ``intensity`` (float >= 0): the extractor's on extractor rows; on analyst rows
      ``ANALYST_INTENSITY`` for a coded escalation or de-escalation and 0 for neutral;
    - ``cues`` (tuple of str): the lexicon cues behind the coder's stance (may be empty
      when the classifier decided without one); () on analyst rows;
    - ``language``: filled with the detected language where it was missing.

    Raises ``StatementFrameError`` without a ``text`` column, ``StanceLabelError``
    for an analyst code that maps to no stance, and ``UnsupportedLanguageError`` (with
    every such row in ``rows``) for a row left to the extractor in a language other
    than English or Arabic.
    """
    if TEXT not in statements.columns:
        raise StatementFrameError(
            f"statements: expected a {TEXT!r} column, got columns {list(statements.columns)}"
        )
    n = len(statements)
    coded = statements[STANCE].tolist() if STANCE in statements.columns else [None] * n
    languages = statements[LANGUAGE].tolist() if LANGUAGE in statements.columns else [None] * n
    stances: list[str] = []
    sources: list[str] = []
    confidences: list[float] = []
    versions: list[str | None] = []
    intensities: list[float] = []
    cues: list[tuple[str, ...]] = []
    out_languages: list[object] = []
    bodies = [_text(text) for text in statements[TEXT].tolist()]
    givens = [lang if isinstance(lang, str) and lang.strip() else None for lang in languages]
    analysts = [normalize_stance_label(code if isinstance(code, str) else None) for code in coded]
    pending = [i for i, analyst in enumerate(analysts) if analyst is None]
    _check_languages(statements.index, [(i, givens[i]) for i in pending])
    results = dict(
        zip(
            pending,
            code_statements([bodies[i] for i in pending], [givens[i] for i in pending]),
            strict=True,
        )
    )
    for i, (body, given, analyst) in enumerate(zip(bodies, givens, analysts, strict=True)):
        language = languages[i]
        found: str | None
        if analyst is not None:
            stances.append(analyst)
            sources.append(STANCE_SOURCE_ANALYST)
            confidences.append(ANALYST_CONFIDENCE)
            versions.append(None)
            intensities.append(0.0 if analyst == NEUTRAL else ANALYST_INTENSITY)
            cues.append(())
            found = detect_language(body) if given is None else None
        else:
            result = results[i]
            stances.append(result.stance)
            sources.append(STANCE_SOURCE_EXTRACTOR)
            confidences.append(result.confidence)
            versions.append(VERSION)
            intensities.append(result.intensity)
            cues.append(result.cues)
            found = result.language
        if given is not None:
            out_languages.append(language)
        else:
            out_languages.append(found if found != UNDETERMINED else None)
    out = statements.copy()
    out[STANCE] = pd.Series(stances, index=out.index, dtype=object)
    out[STANCE_SOURCE] = pd.Series(sources, index=out.index, dtype=object)
    out[CONFIDENCE] = pd.Series(confidences, index=out.index, dtype="float64")
    out[EXTRACTOR_VERSION] = pd.Series(versions, index=out.index, dtype=object)
    out[INTENSITY] = pd.Series(intensities, index=out.index, dtype="float64")
    out[CUES] = pd.Series(cues, index=out.index, dtype=object)
    out[LANGUAGE] = pd.Series(out_languages, index=out.index, dtype=object)
    return out
