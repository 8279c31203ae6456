"""Leftmost-longest matching of lexicon phrases in tokenised text.

Every lexicon entry (``lexicon.py``) becomes a ``Pattern``: its key sequence (see
``text.phrase_keys``), its kind (a stance cue or a marker such as a negator) and, for
cues, a stance and weight. ``find_matches`` scans the tokens left to right and takes,
at each word, the longest pattern that matches there (then the heavier one). A cue
phrase may skip up to ``MAX_GAP`` words between its words, within one clause, but never
a word where another pattern matches ("will continue striking" is not "will strike").

Arabic words match more loosely than English ones, because verbs inflect at both ends:
a cue key of 4+ letters also matches a word with up to ``ARABIC_SUFFIX_SLACK`` more final
letters (أوقف ~ أوقفت), and a word of 5+ letters also stands without its imperfect
person prefix (تتوقف ~ توقف).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cadence.features.stance import lexicon
from cadence.features.stance.text import Token, phrase_keys

MAX_GAP: Final = 2
ARABIC_SUFFIX_SLACK: Final = 2
_IMPERFECT_PREFIXES: Final = "نيتا"


class Kind(enum.Enum):
    """What a pattern is: a stance cue or one of the markers that modify cues."""

    CUE = "cue"
    NEGATOR = "negator"
    CONDITION = "condition"
    UNTIL = "until"
    CONCESSIVE = "concessive"
    CONTRAST = "contrast"
    DENIAL = "denial"
    DENIAL_VERB = "denial verb"
    INERT = "inert"


@dataclass(frozen=True, slots=True)
class Pattern:
    """One compiled lexicon entry; ``stance`` and ``weight`` only for cues."""

    keys: tuple[str, ...]
    kind: Kind
    stance: str | None
    weight: float
    max_gap: int


@dataclass(frozen=True, slots=True)
class Match:
    """A pattern found at tokens ``first..last`` (inclusive indices)."""

    pattern: Pattern
    first: int
    last: int


def _compile() -> dict[str, tuple[Pattern, ...]]:
    entries: list[Pattern] = []
    for phrase, stance, weight in lexicon.CUES_EN + lexicon.CUES_AR:
        entries.append(Pattern(phrase_keys(phrase), Kind.CUE, stance, weight, MAX_GAP))
    markers: tuple[tuple[Kind, Iterable[str]], ...] = (
        (Kind.NEGATOR, lexicon.NEGATORS_EN + lexicon.NEGATORS_AR),
        (Kind.CONDITION, lexicon.CONDITIONS_EN + lexicon.CONDITIONS_AR),
        (Kind.UNTIL, lexicon.UNTILS_EN + lexicon.UNTILS_AR),
        (Kind.CONCESSIVE, lexicon.CONCESSIVES_EN + lexicon.CONCESSIVES_AR),
        (Kind.CONTRAST, lexicon.CONTRASTS_EN + lexicon.CONTRASTS_AR),
        (Kind.DENIAL, lexicon.DENIALS_EN + lexicon.DENIALS_AR),
        (Kind.DENIAL_VERB, lexicon.DENIAL_VERBS_EN + lexicon.DENIAL_VERBS_AR),
        (Kind.INERT, lexicon.INERT_EN + lexicon.INERT_AR),
    )
    for kind, phrases in markers:
        entries.extend(Pattern(phrase_keys(p), kind, None, 0.0, 0) for p in phrases)
    index: dict[str, list[Pattern]] = {}
    for pattern in entries:
        index.setdefault(pattern.keys[0], []).append(pattern)
    # Longer phrases first, then heavier: the first hit for a key is its best.
    return {
        key: tuple(sorted(patterns, key=lambda p: (-len(p.keys), -p.weight)))
        for key, patterns in index.items()
    }


INDEX: Final = _compile()


def index_payload() -> str:
    """A stable text form of the compiled lexicon, for fingerprinting."""
    return repr(
        sorted(
            (key, [(p.keys, p.kind.value, p.stance, p.weight) for p in patterns])
            for key, patterns in INDEX.items()
        )
    ) + repr((MAX_GAP, ARABIC_SUFFIX_SLACK, _IMPERFECT_PREFIXES))


def _candidates(token: Token) -> frozenset[str]:
    """Keys a word can match: its own, plus the Arabic relaxations of the module doc."""
    keys = set(token.keys)
    for key in token.keys:
        if key.isascii():
            continue
        bases = [key]
        if len(key) >= 5 and key[0] in _IMPERFECT_PREFIXES:
            bases.append(key[1:])
        for base in bases:
            keys.add(base)
            for cut in range(1, ARABIC_SUFFIX_SLACK + 1):
                if len(base) - cut >= 4:
                    keys.add(base[:-cut])
    return frozenset(keys)


def _match_end(
    tokens: Sequence[Token], cands: Sequence[frozenset[str]], first: int, pattern: Pattern
) -> int | None:
    """Index of the last word of ``pattern`` matched from ``first``, or None."""
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
        for pattern in INDEX.get(key, ())
    )


def find_matches(tokens: Sequence[Token]) -> list[Match]:
    """Non-overlapping pattern matches, left to right (leftmost-longest)."""
    cands = [_candidates(token) for token in tokens]
    matches: list[Match] = []
    i = 0
    while i < len(tokens):
        best: Match | None = None
        for key in sorted(cands[i]):  # sorted: ties resolve the same way in every process
            for pattern in INDEX.get(key, ()):
                last = _match_end(tokens, cands, i, pattern)
                if last is None:
                    continue
                if best is None or (len(pattern.keys), pattern.weight) > (
                    len(best.pattern.keys),
                    best.pattern.weight,
                ):
                    best = Match(pattern, i, last)
                break
        if best is None:
            i += 1
        else:
            matches.append(best)
            i = best.last + 1
    return matches
