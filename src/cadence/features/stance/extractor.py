"""Stance of a statement from its text: cues found, modified, weighed.

``extract(text)`` returns a ``StanceResult``. The algorithm, in order:

1. Tokenise and normalise (``text.py``); English and Arabic cues are both looked up,
   so a quotation in the other language still counts.
2. Match lexicon phrases (``lexicon.py``) leftmost-longest (``matching.py``); a phrase
   may skip up to ``matching.MAX_GAP`` words but never crosses a clause break (comma,
   colon, quote mark) nor skips a word where another lexicon entry matches.
3. Modify each cue:
   - *negation*: a negator ("not", "no", "never", "reject", لا لن لم عدم ...) flips the
     first cue starting at most ``NEG_WINDOW`` words after it in the same clause, and
     cues coordinated with that one ("will not stop or retreat"): "will not stop" and
     "no truce" are escalation, "will not launch attacks" and "لا نسعى إلى التصعيد"
     are de-escalation. Fixed phrases that hold a negator or cue word ("no doubt",
     "لا بد", "in response to") count as nothing; double negatives are cues of their
     own ("will not go unpunished");
   - *condition*: cues inside an "if"/"unless"/"until" clause (إذا لو ما لم حتى) describe
     the condition, not the speaker's stance, and count 0 ("no cessation unless the
     aggression stops" is escalation). The clause ends at a comma or at the main
     clause's opening ("will", "then", an Arabic future verb سـ or a فـ answer). The rest
     of a sentence holding "if"/"unless" is a hedged threat or promise and counts
     ``CONDITIONAL_FACTOR``;
   - *ended*: a word saying the cue's state is over, right after it or (Arabic) right
     before it, flips it too: "the era of restraint is over" is escalation;
   - *concession*: cues in a "despite"/"although"/رغم clause count ``CONCESSIVE_FACTOR``
     ("operations will continue despite the ceasefire" is escalation);
   - *contrast*: cues before a "but"/"however"/لكن in the same sentence count
     ``CONTRAST_FACTOR`` ("respects the suspension, but will continue operations");
   - *denial*: cues after a denial verb ("denied", نفى) in its sentence, and every cue
     of a sentence calling something false ("fabricated", "false", مفبرك, عن الصحة),
     count 0 for both stances. Decision: a denial of a reported resumption (or of a
     reported pause) is **neutral**, not the opposite stance: it retracts a signal but
     commits to nothing, which is how analysts code such statements (``denial``).
4. Sum effective weights per direction: ``E`` (escalation) and ``D`` (de-escalation).
   With ``margin = |E - D|`` the stance is the larger side, unless the text is mixed
   and near balanced (``margin < MIN_MARGIN`` or ``margin < TIE_SHARE * (E + D)``),
   the larger side holds only weak cues (base weight below ``DECISIVE_WEIGHT``: "talks"
   alone does not make a statement de-escalatory), or there is no cue: then neutral.

Scores (dimensionless):

- ``intensity = 1 - exp(-margin / INTENSITY_SCALE)`` in ``[0, 1)``; 0 for neutral. One
  standard cue gives 0.39, one strong cue (weight 2) 0.63, two strong cues 0.86.
- ``confidence`` in ``[0, 1]``, a monotone heuristic (not a calibrated probability):
  with ``evidence = 1 - exp(-(E + D) / INTENSITY_SCALE)`` and
  ``agreement = margin / (E + D)``, a non-neutral stance has
  ``0.5 + 0.5 * agreement * evidence`` (more and more one-sided cues -> closer to 1);
  neutral has 0.5 without cues, ``DENIAL_CONFIDENCE`` when a denial decided it, and
  ``0.5 - 0.25 * evidence`` when cues cancelled out.

``LEXICON_VERSION`` changes whenever the lexicons or these rules change;
``LEXICON_FINGERPRINT`` (a hash of the lexicons and constants) lets tests catch a
change that forgot the version.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cadence.columns import DE_ESCALATION, ESCALATION, NEUTRAL
from cadence.features.stance import lexicon
from cadence.features.stance.errors import UnsupportedLanguageError
from cadence.features.stance.matching import Kind, Match, find_matches, index_payload
from cadence.features.stance.text import (
    Token,
    canonical_language,
    detect_language,
    normalize_arabic,
    tokenize,
)

LEXICON_VERSION: Final = "cues-1.0.0"

NEG_WINDOW: Final = 3  # words allowed between a negator and the cue it flips
CONDITIONAL_FACTOR: Final = 0.75
CONCESSIVE_FACTOR: Final = 0.25
CONTRAST_FACTOR: Final = 0.5
MIN_MARGIN: Final = 0.5
DECISIVE_WEIGHT: Final = 1.0  # weak cues (below this) only tip a balance, never decide alone
TIE_SHARE: Final = 0.2
INTENSITY_SCALE: Final = 2.0
DENIAL_CONFIDENCE: Final = 0.75
_ENDED_AFTER: Final = frozenset(
    [*lexicon.ENDED_AFTER_EN, *(normalize_arabic(w) for w in lexicon.ENDED_AR)]
)
_ENDED_BEFORE: Final = frozenset(normalize_arabic(w) for w in lexicon.ENDED_AR)
_ENDED_WINDOW: Final = 2  # words allowed between a cue and its "is over" / انتهى
_COORDINATORS: Final = frozenset({"or", "nor", "and", "او", "ولا"})
_APODOSIS_EN: Final = frozenset({"then", "will", "shall"})
_APODOSIS_AR: Final = ("سن", "سي", "ست", "ان", "لن", "لا")  # after ف: فسنرد فإننا فلن


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
    the modifiers listed in ``modifiers`` (``"negated"``, ``"ended"``, ``"condition"``,
    ``"conditional"``, ``"concession"``, ``"contrasted"``, ``"denied"``).
    """

    text: str
    stance: str
    weight: float
    base_weight: float
    modifiers: tuple[str, ...]


def _fingerprint() -> str:
    payload = index_payload() + repr(
        (
            NEG_WINDOW,
            CONDITIONAL_FACTOR,
            CONCESSIVE_FACTOR,
            CONTRAST_FACTOR,
            MIN_MARGIN,
            DECISIVE_WEIGHT,
            TIE_SHARE,
            INTENSITY_SCALE,
            DENIAL_CONFIDENCE,
            sorted(_ENDED_AFTER),
            sorted(_ENDED_BEFORE),
            _ENDED_WINDOW,
            sorted(_COORDINATORS),
            sorted(_APODOSIS_EN),
            _APODOSIS_AR,
        )
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


LEXICON_FINGERPRINT: Final = _fingerprint()


def _opposite(stance: str) -> str:
    return DE_ESCALATION if stance == ESCALATION else ESCALATION


def explain(text: str) -> tuple[CueMatch, ...]:
    """Every cue found in ``text``, in text order, with its direction and effective weight."""
    cues, _ = _analyse(text)
    return cues


def _is_apodosis(token: Token) -> bool:
    """Does this word open the main clause after a condition ("we *will* respond")?"""
    form = token.form
    if form.isascii():
        return form in _APODOSIS_EN
    if len(form) >= 4 and form[0] == "س" and form[1] in "نيتا":
        return True  # future verb: سنرد
    return len(form) >= 3 and form[0] == "ف" and form[1:3] in _APODOSIS_AR


def _negations(tokens: Sequence[Token], matches: Sequence[Match]) -> dict[int, Match]:
    """Cue match index -> the negator that flips it.

    A negator flips the first cue that starts at most ``NEG_WINDOW`` words after it in
    the same clause, and further cues in that window only when joined to the previous
    one by coordinators alone ("will not stop or retreat"), never across a contrast.
    """
    flipped: dict[int, Match] = {}
    for n, negator in enumerate(matches):
        if negator.pattern.kind is not Kind.NEGATOR:
            continue
        clause = tokens[negator.first].clause
        previous: Match | None = None
        for k in range(n + 1, len(matches)):
            match = matches[k]
            if tokens[match.first].clause != clause or match.pattern.kind is Kind.CONTRAST:
                break
            if match.pattern.kind is not Kind.CUE:
                continue
            if match.first - negator.last - 1 > NEG_WINDOW:
                break
            if previous is not None:
                between = tokens[previous.last + 1 : match.first]
                if not between or not all(t.form in _COORDINATORS for t in between):
                    break
            flipped.setdefault(k, negator)
            previous = match
    return flipped


def _ended(tokens: Sequence[Token], match: Match) -> int | None:
    """Index of a word saying the cue's state has ended ("restraint is over"), if any."""
    clause = tokens[match.first].clause
    last = min(match.last + 1 + _ENDED_WINDOW, len(tokens) - 1)
    for j in range(match.last + 1, last + 1):
        if tokens[j].clause != clause:
            break
        if tokens[j].form in _ENDED_AFTER:
            return j
    before = match.first - 1
    if before >= 0 and tokens[before].clause == clause and tokens[before].form in _ENDED_BEFORE:
        return before
    return None


def _analyse(text: str) -> tuple[tuple[CueMatch, ...], tuple[str, ...]]:
    """Cue matches and the quoted denial markers of ``text``."""
    tokens = tokenize(text)
    matches = find_matches(tokens)
    negated = _negations(tokens, matches)
    markers = [m for m in matches if m.pattern.kind is not Kind.CUE]
    apodoses = [i for i, token in enumerate(tokens) if _is_apodosis(token)]
    conditional_sentences = {
        tokens[m.first].sentence for m in markers if m.pattern.kind is Kind.CONDITION
    }
    denials = tuple(
        text[tokens[m.first].start : tokens[m.last].end]
        for m in markers
        if m.pattern.kind in (Kind.DENIAL, Kind.DENIAL_VERB)
    )
    found: list[CueMatch] = []
    for k, match in enumerate(matches):
        pattern = match.pattern
        if pattern.kind is not Kind.CUE or pattern.stance is None:
            continue
        head = tokens[match.first]
        start = head.start
        stance = pattern.stance
        weight = pattern.weight
        modifiers: list[str] = []
        if k in negated:
            stance = _opposite(stance)
            start = tokens[negated[k].first].start
            modifiers.append("negated")
        end = tokens[match.last].end
        ended = _ended(tokens, match)
        if ended is not None:
            stance = _opposite(stance)
            start = min(start, tokens[ended].start)
            end = max(end, tokens[ended].end)
            modifiers.append("ended")
        for marker in markers:
            kind = marker.pattern.kind
            marker_head = tokens[marker.first]
            before = marker.last < match.first
            same_clause = marker_head.clause == head.clause
            same_sentence = marker_head.sentence == head.sentence
            denies = same_sentence and (
                kind is Kind.DENIAL or (kind is Kind.DENIAL_VERB and before)
            )
            if kind in (Kind.CONDITION, Kind.UNTIL) and before and same_clause:
                if not any(marker.last < i <= match.first for i in apodoses):
                    weight = 0.0
                    modifiers.append("condition")
            elif kind is Kind.CONCESSIVE and before and same_clause:
                weight *= CONCESSIVE_FACTOR
                modifiers.append("concession")
            elif kind is Kind.CONTRAST and same_sentence and marker.first > match.last:
                weight *= CONTRAST_FACTOR
                modifiers.append("contrasted")
            elif denies and "denied" not in modifiers:
                weight = 0.0
                modifiers.append("denied")
        if head.sentence in conditional_sentences and "condition" not in modifiers:
            weight *= CONDITIONAL_FACTOR
            modifiers.append("conditional")
        found.append(
            CueMatch(
                text=text[start:end],
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
    leader = ESCALATION if escalation > de_escalation else DE_ESCALATION
    decisive = any(c.stance == leader and c.base_weight >= DECISIVE_WEIGHT for c in counted)
    if total > 0 and margin >= MIN_MARGIN and margin >= TIE_SHARE * total and decisive:
        stance = leader
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
