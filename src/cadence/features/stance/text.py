"""Normalisation, tokenisation and language detection of statement text.

Words are reduced to *keys* so that the cue lexicons (``lexicon.py``) and the text are
compared in one form:

- English: lower case, contractions expanded (``won't`` -> ``will not``), a light suffix
  stemmer (``stopping``/``stops``/``stopped`` -> ``stop``; ``resumed``/``resume`` ->
  ``resum``). It over-stems on purpose: text and lexicon go through the same function,
  so only collisions between two different words matter.
- Arabic: Unicode NFKC (presentation forms), diacritics and tatweel removed, alef
  variants (أ إ آ ٱ) -> ا, ى/ی -> ي, ة -> ه, ؤ -> و, ئ -> ي, ک -> ك; then a light
  stemmer in the style of Larkey's *light10*: the conjunction و, the future ``س``, the
  article forms (ال وال بال فال كال لل) or a single proclitic (ب ل ك ف) and common
  suffixes are stripped (a ta marbuta written ت before a pronoun is restored first:
  حملتها -> حمل). An accusative tanween alef (``ثمناً`` -> ``ثمن``) is tried
  as an alternative form of the same word.

A token keeps its character span in the original text, so matched cues are quoted
exactly as written.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

ENGLISH: Final = "en"
ARABIC: Final = "ar"
UNDETERMINED: Final = "und"  # BCP 47 code for "no linguistic content"
LANGUAGES: Final = (ENGLISH, ARABIC)

_LANGUAGE_ALIASES: Final = {
    "en": ENGLISH,
    "eng": ENGLISH,
    "english": ENGLISH,
    "ar": ARABIC,
    "ara": ARABIC,
    "arabic": ARABIC,
}

_ARABIC_MARKS = re.compile(
    "[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]"
)
_TATWEEL: Final = "\u0640"
_ARABIC_FOLD: Final = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",
        "ة": "ه",
        "ؤ": "و",
        "ئ": "ي",
        "ک": "ك",
    }
)
_ARABIC_LETTERS = "\u0621-\u065f\u0670-\u06d3\u06d5-\u06ed\u06fa-\u06ff\ufb50-\ufdff\ufe70-\ufefc"
_TOKEN = re.compile(
    rf"(?P<ar>[{_ARABIC_LETTERS}]+)"
    r"|(?P<en>[A-Za-z]+(?:['’][A-Za-z]+)?(?:-[A-Za-z]+)*)"
    r"|(?P<sentence>[.!?;\n؛؟\u06d4]+)"
    r"|(?P<clause>[,،:—–()\"“”«»]|\s-\s)"
)
_ARABIC_CHAR = re.compile(f"[{_ARABIC_LETTERS}]")
_LATIN_CHAR = re.compile("[A-Za-z]")

_CONTRACTIONS: Final = {
    "won't": ("will", "not"),
    "can't": ("can", "not"),
    "cannot": ("can", "not"),
    "shan't": ("shall", "not"),
}

_AR_ARTICLES: Final = ("وال", "فال", "بال", "كال", "لل", "ال")
_AR_PROCLITICS: Final = ("ب", "ل", "ك", "ف")
_AR_SUFFIXES: Final = ("نا", "هم", "كم", "ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")
_AR_PRONOUNS: Final = frozenset({"نا", "هم", "كم", "ها"})
# Nouns whose light stem would be a cue verb: التواصل ("social media") vs تواصل ("continues").
_AR_KEEP: Final = frozenset({"التواصل", "والتواصل", "بالتواصل", "للتواصل"})


@dataclass(frozen=True, slots=True)
class Token:
    """One word: its candidate keys, its span ``[start, end)`` and where it sits.

    ``sentence`` and ``clause`` count sentence and clause breaks seen before the word,
    so two words share a clause exactly when their ``clause`` numbers are equal.
    """

    keys: tuple[str, ...]
    form: str  # normalised, unstemmed (lower case; Arabic folded)
    start: int
    end: int
    sentence: int
    clause: int


def canonical_language(language: str) -> str | None:
    """``"EN"``, ``"eng"``, ``"ar-IQ"``, ``"Arabic"`` -> ``"en"``/``"ar"``; others -> None."""
    base = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    return _LANGUAGE_ALIASES.get(base)


def detect_language(text: str) -> str:
    """``"ar"`` when Arabic letters outnumber Latin ones, ``"en"`` when Latin ones do.

    Text with neither (empty, digits only) is ``"und"``; ties go to Arabic, the rarer
    script in a mostly English corpus.
    """
    arabic = len(_ARABIC_CHAR.findall(text))
    latin = len(_LATIN_CHAR.findall(text))
    if arabic == 0 and latin == 0:
        return UNDETERMINED
    return ARABIC if arabic >= latin else ENGLISH


def normalize_arabic(text: str) -> str:
    """Fold Arabic spelling variants: NFKC, no diacritics or tatweel, one alef/ya/ha."""
    text = unicodedata.normalize("NFKC", text)
    text = _ARABIC_MARKS.sub("", text).replace(_TATWEEL, "")
    return text.translate(_ARABIC_FOLD)


@functools.lru_cache(maxsize=65536)
def stem_english(word: str) -> str:
    """Light suffix stemmer for lower-case English words (plural, -ing, -ed, final e)."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 4 and w.endswith("ied"):
        w = w[:-3] + "y"
    else:
        for suffix in ("ing", "ed"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                # stopping -> stopp -> stop; but keep "fill", "pass", "buzz"
                if w[-1] == w[-2] and w[-1] not in "lsz":
                    w = w[:-1]
                break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def stem_arabic(word: str) -> str:
    """Light stemmer for a normalised Arabic word (see the module docstring)."""
    w = word
    if w in _AR_KEEP:
        return w
    if len(w) > 3 and w.startswith("و"):
        w = w[1:]
    if len(w) >= 5 and w[0] == "س" and w[1] in "نيتا":
        w = w[1:]  # future prefix: سنواصل -> نواصل
    for article in _AR_ARTICLES:
        if w.startswith(article) and len(w) - len(article) >= 2:
            w = w[len(article) :]
            break
    else:
        if len(w) >= 4 and w[0] in _AR_PROCLITICS:
            w = w[1:]
    for suffix in _AR_SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 2:
            w = w[: -len(suffix)]
            if suffix in _AR_PRONOUNS and w.endswith("ت") and not w.endswith("ات") and len(w) >= 4:
                # ta marbuta is written ت before a pronoun: حملتها -> حملة -> حمل
                w = w[:-1] + "ه"
    return w


@functools.lru_cache(maxsize=65536)
def arabic_keys(word: str) -> tuple[str, ...]:
    """Candidate keys of one Arabic word (normalised): its stem, and the tanween reading."""
    word = normalize_arabic(word)
    keys = [stem_arabic(word)]
    if len(word) >= 4 and word.endswith("ا"):
        alternative = stem_arabic(word[:-1])
        if alternative not in keys:
            keys.append(alternative)
    return tuple(keys)


def english_words(word: str) -> tuple[str, ...]:
    """One written English word -> the lower-case words it stands for (contractions)."""
    w = word.lower().replace("’", "'")
    if w in _CONTRACTIONS:
        return _CONTRACTIONS[w]
    if w.endswith("n't"):
        return (w[:-3], "not")
    if w.endswith("'s"):
        return (w[:-2],)
    return (w,)


def tokenize(text: str) -> list[Token]:
    """Split text into word tokens with keys, spans, sentence and clause numbers."""
    tokens: list[Token] = []
    sentence = clause = 0
    for match in _TOKEN.finditer(text):
        group = match.lastgroup
        if group == "sentence":
            sentence += 1
            clause += 1
        elif group == "clause":
            clause += 1
        elif group == "ar":
            form = normalize_arabic(match.group())
            keys = arabic_keys(form)
            if keys[0]:
                tokens.append(Token(keys, form, match.start(), match.end(), sentence, clause))
        else:
            for word in english_words(match.group()):
                key = stem_english(word)
                tokens.append(Token((key,), word, match.start(), match.end(), sentence, clause))
    return tokens


def phrase_keys(phrase: str) -> tuple[str, ...]:
    """The key sequence of a lexicon phrase (the first candidate key of each word)."""
    return tuple(token.keys[0] for token in tokenize(phrase))
