"""Stance of a statement from its text: cues found, modified, weighed.

``extract(text)`` returns a ``StanceResult``. The algorithm, in order:

1. Tokenise and normalise (``text.py``); English and Arabic cues are both looked up,
   so a quotation in the other language still counts.
2. Match lexicon phrases (``lexicon.py``) leftmost-longest; a phrase may skip up to
   ``MAX_GAP`` words but never crosses a clause break (comma, colon, quote mark) nor
   skips a word where another lexicon entry matches.
3. Modify each cue:
   - *negation*: a negator ("not", "no", "never", "reject", لا لن لم عدم ...) at most
     ``NEG_WINDOW`` words before the cue, in the same clause, flips its direction:
     "will not stop" and "no truce" are escalation, "will not launch attacks" and
     "لا نسعى إلى التصعيد" are de-escalation;
   - *condition*: cues inside an "if"/"unless"/"until" clause (إذا لو ما لم حتى) describe
     the condition, not the speaker's stance, and count 0 ("no cessation unless the
     aggression stops" is escalation); the rest of a sentence holding "if"/"unless" is
     a hedged threat or promise and counts ``CONDITIONAL_FACTOR``;
   - *concession*: cues in a "despite"/"although"/رغم clause count ``CONCESSIVE_FACTOR``
     ("operations will continue despite the ceasefire" is escalation);
   - *contrast*: cues before a "but"/"however"/لكن in the same sentence count
     ``CONTRAST_FACTOR`` ("respects the suspension, but will continue operations");
   - *denial*: a sentence holding a denial ("denied", "fabricated", "false", نفى مفبرك)
     counts 0 for both stances. Decision: a denial of a reported resumption (or of a
     reported pause) is **neutral**, not the opposite stance: it retracts a signal but
     commits to nothing, which is how analysts code such statements (``denial``).
4. Sum effective weights per direction: ``E`` (escalation) and ``D`` (de-escalation).
   With ``margin = |E - D|`` the stance is the larger side, unless the text is mixed
   and near balanced (``margin < MIN_MARGIN`` or ``margin < TIE_SHARE * (E + D)``), or
   has no cue: then it is neutral.

Scores (dimensionless):

- ``intensity = 1 - exp(-margin / INTENSITY_SCALE)`` in ``[0, 1)``; 0 for neutral. One
  standard cue gives 0.39, one strong cue (weight 2) 0.63, two strong cues 0.86.
- ``confidence`` in ``[0, 1]``, a monotone heuristic (not a calibrated probability):
  with ``evidence = 1 - exp(-(E + D) / INTENSITY_SCALE)`` and
  ``agreement = margin / (E + D)``, a non-neutral stance has
  ``0.5 + 0.5 * agreement * evidence`` (more and more one-sided cues -> closer to 1);
  neutral has 0.5 without cues, ``DENIAL_CONFIDENCE`` when a denial decided it, and
  ``0.5 - 0.25 * evidence`` when cues cancelled out.

``EXTRACTOR_VERSION`` changes whenever the lexicons or these rules change;
``LEXICON_FINGERPRINT`` (a hash of the lexicons and constants) lets tests catch a
change that forgot the version.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cadence.columns import DE_ESCALATION, ESCALATION, NEUTRAL
from cadence.features.stance import lexicon
from cadence.features.stance.errors import UnsupportedLanguageError
from cadence.features.stance.text import (
    Token,
    canonical_language,
    detect_language,
    phrase_keys,
    tokenize,
)

EXTRACTOR_VERSION: Final = "cues-1.0.0"

MAX_GAP: Final = 2
NEG_WINDOW: Final = 3
CONDITIONAL_FACTOR: Final = 0.75
CONCESSIVE_FACTOR: Final = 0.25
CONTRAST_FACTOR: Final = 0.5
MIN_MARGIN: Final = 0.5
TIE_SHARE: Final = 0.2
INTENSITY_SCALE: Final = 2.0
DENIAL_CONFIDENCE: Final = 0.75
_ARABIC_PREFIX_SLACK: Final = 2  # an Arabic cue key of >= 4 letters may lack up to 2 final letters


class _Kind(enum.Enum):
    CUE = "cue"
    NEGATOR = "negator"
    CONDITION = "condition"
    UNTIL = "until"
    CONCESSIVE = "concessive"
    CONTRAST = "contrast"
    DENIAL = "denial"


@dataclass(frozen=True, slots=True)
class _Pattern:
    keys: tuple[str, ...]
    kind: _Kind
    stance: str | None
    weight: float
    max_gap: int


@dataclass(frozen=True, slots=True)
class _Match:
    pattern: _Pattern
    first: int  # token indices, inclusive
    last: int


@dataclass(frozen=True)
class StanceResult:
    """What the extractor decided for one statement.

    ``stance``: one of ``cadence.columns.STANCES``. ``intensity``: strength of the
    decided stance in ``[0, 1)``, 0 for neutral. ``confidence``: in ``[0, 1]``, see the
    module docstring. ``cues``: the phrases that decided it, quoted as written (a
    negated cue includes its negator, e.g. ``"will not stop"`` -> ``"not stop"``), in
    text order; never empty unless the stance is neutral. ``language``: ``"en"``,
    ``"ar"`` or ``"und"`` (no letters).
    """

    stance: str
    intensity: float
    confidence: float
    cues: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class CueMatch:
    """One matched cue, for auditing: how it was read and how much it counted.

    ``stance`` is the direction after negation; ``weight`` the effective weight after
    the modifiers listed in ``modifiers`` (``"negated"``, ``"condition"``,
    ``"conditional"``, ``"concession"``, ``"contrasted"``, ``"denied"``).
    """

    text: str
    stance: str
    weight: float
    base_weight: float
    modifiers: tuple[str, ...]


def _compile() -> dict[str, tuple[_Pattern, ...]]:
    entries: list[_Pattern] = []
    for phrase, stance, weight in lexicon.CUES_EN + lexicon.CUES_AR:
        entries.append(_Pattern(phrase_keys(phrase), _Kind.CUE, stance, weight, MAX_GAP))
    markers: tuple[tuple[_Kind, Iterable[str]], ...] = (
        (_Kind.NEGATOR, lexicon.NEGATORS_EN + lexicon.NEGATORS_AR),
        (_Kind.CONDITION, lexicon.CONDITIONS_EN + lexicon.CONDITIONS_AR),
        (_Kind.UNTIL, lexicon.UNTILS_EN + lexicon.UNTILS_AR),
        (_Kind.CONCESSIVE, lexicon.CONCESSIVES_EN + lexicon.CONCESSIVES_AR),
        (_Kind.CONTRAST, lexicon.CONTRASTS_EN + lexicon.CONTRASTS_AR),
        (_Kind.DENIAL, lexicon.DENIALS_EN + lexicon.DENIALS_AR),
    )
    for kind, phrases in markers:
        entries.extend(_Pattern(phrase_keys(p), kind, None, 0.0, 0) for p in phrases)
    index: dict[str, list[_Pattern]] = {}
    for pattern in entries:
        index.setdefault(pattern.keys[0], []).append(pattern)
    # Longer phrases first, then heavier: leftmost-longest matching takes the first hit.
    return {
        key: tuple(sorted(patterns, key=lambda p: (-len(p.keys), -p.weight)))
        for key, patterns in index.items()
    }


_INDEX: Final = _compile()


def _fingerprint() -> str:
    payload = repr(
        (
            sorted(
                (k, [(p.keys, p.kind.value, p.stance, p.weight) for p in v])
                for k, v in _INDEX.items()
            ),
            MAX_GAP,
            NEG_WINDOW,
            CONDITIONAL_FACTOR,
            CONCESSIVE_FACTOR,
            CONTRAST_FACTOR,
            MIN_MARGIN,
            TIE_SHARE,
            INTENSITY_SCALE,
            DENIAL_CONFIDENCE,
        )
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


LEXICON_FINGERPRINT: Final = _fingerprint()


def _candidates(token: Token) -> frozenset[str]:
    keys = set(token.keys)
    for key in token.keys:
        if not key.isascii():
            for cut in range(1, _ARABIC_PREFIX_SLACK + 1):
                if len(key) - cut >= 4:
                    keys.add(key[:-cut])
    return frozenset(keys)


def _match_end(
    tokens: Sequence[Token], cands: Sequence[frozenset[str]], first: int, pattern: _Pattern
) -> int | None:
    last = first
    clause = tokens[first].clause
    for key in pattern.keys[1:]:
        found = None
        for j in range(last + 1, min(last + 2 + pattern.max_gap, len(tokens))):
            if tokens[j].clause != clause:
                break
            if key in cands[j]:
                found = j
                break
            if _starts_match(tokens, cands, j):
                break  # a gap never swallows another cue or marker
        if found is None:
            return None
        last = found
    return last


def _starts_match(tokens: Sequence[Token], cands: Sequence[frozenset[str]], j: int) -> bool:
    return any(
        _match_end(tokens, cands, j, pattern) is not None
        for key in cands[j]
        for pattern in _INDEX.get(key, ())
    )


def _find_matches(tokens: Sequence[Token]) -> list[_Match]:
    cands = [_candidates(token) for token in tokens]
    matches: list[_Match] = []
    i = 0
    while i < len(tokens):
        best: _Match | None = None
        for key in sorted(cands[i]):
            for pattern in _INDEX.get(key, ()):
                last = _match_end(tokens, cands, i, pattern)
                if last is None:
                    continue
                if best is None or (len(pattern.keys), pattern.weight) > (
                    len(best.pattern.keys),
                    best.pattern.weight,
                ):
                    best = _Match(pattern, i, last)
                break  # patterns are sorted: the first hit for this key is its best
        if best is None:
            i += 1
        else:
            matches.append(best)
            i = best.last + 1
    return matches


def _opposite(stance: str) -> str:
    return DE_ESCALATION if stance == ESCALATION else ESCALATION


def explain(text: str) -> tuple[CueMatch, ...]:
    """Every cue found in ``text``, in text order, with its direction and effective weight."""
    cues, _ = _analyse(text)
    return cues


def _analyse(text: str) -> tuple[tuple[CueMatch, ...], tuple[str, ...]]:
    """Cue matches and the quoted denial markers of ``text``."""
    tokens = tokenize(text)
    matches = _find_matches(tokens)
    markers = [m for m in matches if m.pattern.kind is not _Kind.CUE]
    denial_sentences = {tokens[m.first].sentence for m in markers if m.pattern.kind is _Kind.DENIAL}
    conditional_sentences = {
        tokens[m.first].sentence for m in markers if m.pattern.kind is _Kind.CONDITION
    }
    denials = tuple(
        text[tokens[m.first].start : tokens[m.last].end]
        for m in markers
        if m.pattern.kind is _Kind.DENIAL
    )
    found: list[CueMatch] = []
    for match in matches:
        pattern = match.pattern
        if pattern.kind is not _Kind.CUE or pattern.stance is None:
            continue
        head = tokens[match.first]
        start = head.start
        stance = pattern.stance
        weight = pattern.weight
        modifiers: list[str] = []
        for marker in markers:
            before = marker.last < match.first
            same_clause = tokens[marker.first].clause == head.clause
            kind = marker.pattern.kind
            if kind is _Kind.NEGATOR and before and same_clause:
                if match.first - marker.last - 1 < NEG_WINDOW and "negated" not in modifiers:
                    stance = _opposite(stance)
                    start = min(start, tokens[marker.first].start)
                    modifiers.append("negated")
            elif kind in (_Kind.CONDITION, _Kind.UNTIL) and before and same_clause:
                weight = 0.0
                modifiers.append("condition")
            elif kind is _Kind.CONCESSIVE and before and same_clause:
                weight *= CONCESSIVE_FACTOR
                modifiers.append("concession")
            elif (
                kind is _Kind.CONTRAST
                and marker.first > match.last
                and tokens[marker.first].sentence == head.sentence
            ):
                weight *= CONTRAST_FACTOR
                modifiers.append("contrasted")
        if head.sentence in conditional_sentences and "condition" not in modifiers:
            weight *= CONDITIONAL_FACTOR
            modifiers.append("conditional")
        if head.sentence in denial_sentences:
            weight = 0.0
            modifiers.append("denied")
        found.append(
            CueMatch(
                text=text[start : tokens[match.last].end],
                stance=stance,
                weight=weight,
                base_weight=pattern.weight,
                modifiers=tuple(modifiers),
            )
        )
    return tuple(found), denials


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def extract(text: str, language: str | None = None) -> StanceResult:
    """Stance, intensity, confidence and deciding cues of one statement.

    ``text``: the statement in English or Arabic (mixed is fine). ``language``: an
    optional code (``"en"``, ``"ar"``, also ``"eng"``, ``"ar-IQ"``, ``"Arabic"``) that is
    reported instead of the detected one; both lexicons are matched either way, since
    their scripts cannot collide. Raises ``UnsupportedLanguageError`` for other codes.
    Deterministic: the same text and version always give the same result.
    """
    if language is None:
        lang = detect_language(text)
    else:
        canonical = canonical_language(language)
        if canonical is None:
            raise UnsupportedLanguageError(
                f"language: expected one of 'en', 'ar' (or a variant such as 'eng', "
                f"'ar-IQ'), got {language!r}"
            )
        lang = canonical
    cues, denials = _analyse(text)
    escalation = sum(c.weight for c in cues if c.stance == ESCALATION)
    de_escalation = sum(c.weight for c in cues if c.stance == DE_ESCALATION)
    total = escalation + de_escalation
    margin = abs(escalation - de_escalation)
    evidence = 1.0 - math.exp(-total / INTENSITY_SCALE)
    counted = [c for c in cues if c.weight > 0]
    if total > 0 and margin >= MIN_MARGIN and margin >= TIE_SHARE * total:
        stance = ESCALATION if escalation > de_escalation else DE_ESCALATION
        return StanceResult(
            stance=stance,
            intensity=1.0 - math.exp(-margin / INTENSITY_SCALE),
            confidence=0.5 + 0.5 * (margin / total) * evidence,
            cues=_unique(c.text for c in counted if c.stance == stance),
            language=lang,
        )
    if denials:
        confidence = DENIAL_CONFIDENCE
    elif total > 0:
        confidence = 0.5 - 0.25 * evidence
    else:
        confidence = 0.5
    return StanceResult(
        stance=NEUTRAL,
        intensity=0.0,
        confidence=confidence,
        cues=_unique([*denials, *(c.text for c in counted)]),
        language=lang,
    )
