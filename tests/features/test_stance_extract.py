"""Behaviour of the stance extractor on synthetic statements (English and Arabic)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import cadence.features.stance as stance_pkg
from cadence.columns import DE_ESCALATION, ESCALATION, NEUTRAL, STANCES
from cadence.features.stance import (
    LEXICON_FINGERPRINT,
    LEXICON_VERSION,
    UnsupportedLanguageError,
    detect_language,
    explain,
    extract,
    normalize_arabic,
)
from cadence.features.stance.evaluation import stance_scores

DATA = Path(__file__).parent / "data"

# The main set has 24 rows per stance, written to exercise every rule of the extractor
# (negation, condition, concession, contrast, denial, Arabic spelling variants). A
# floor of 0.9 allows two misses per stance: one broken rule fails several rows of its
# kind and crosses it. The three held-out sets (12 rows per stance each) were written
# after the lexicons and scored 0.50, 0.53 and 0.50 accuracy on their first runs; the
# lexicons were widened after each, so their current scores are not independent and
# their floor (0.7: about three misses per stance per set) only guards against
# regressions.
MAIN_FLOOR = 0.9
HOLDOUT_FLOOR = 0.7


def _load(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, comment="#", dtype=str)


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    return _load("stance_labelled.csv")


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return pd.concat([_load("stance_holdout.csv"), _load("stance_holdout2.csv")], ignore_index=True)


def test_labelled_set_is_balanced_bilingual_and_synthetic(labelled: pd.DataFrame) -> None:
    assert len(labelled) >= 60
    assert (labelled["language"] == "ar").sum() >= 20
    counts = labelled["stance"].value_counts()
    assert set(counts.index) == set(STANCES)
    assert counts.max() - counts.min() <= 2
    assert (DATA / "stance_labelled.csv").read_text(encoding="utf-8").startswith("# SYNTHETIC")
    assert "synthetic" in (DATA / "README.md").read_text(encoding="utf-8").lower()


@pytest.mark.parametrize(("name", "floor"), [("main", MAIN_FLOOR), ("holdout", HOLDOUT_FLOOR)])
def test_precision_and_recall_per_stance_clear_the_floor(
    name: str, floor: float, labelled: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    frame = labelled if name == "main" else holdout
    predicted = [
        extract(text, language).stance
        for text, language in zip(frame["text"], frame["language"], strict=True)
    ]
    scores = stance_scores(frame["stance"].tolist(), predicted)
    for stance in STANCES:
        row = scores.table.loc[stance]
        assert row["precision"] >= floor, (stance, scores.table)
        assert row["recall"] >= floor, (stance, scores.table)


def test_language_is_detected_per_row(labelled: pd.DataFrame) -> None:
    detected = [extract(text).language for text in labelled["text"]]
    assert detected == labelled["language"].tolist()


def test_cues_are_non_empty_whenever_the_stance_is_not_neutral(
    labelled: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    for text in [*labelled["text"], *holdout["text"]]:
        result = extract(text)
        if result.stance != NEUTRAL:
            assert result.cues, text
            # cues are quoted from the text itself, so an analyst can find them
            assert all(cue in text for cue in result.cues), (text, result.cues)


def test_scores_stay_in_their_documented_ranges(labelled: pd.DataFrame) -> None:
    for text in labelled["text"]:
        result = extract(text)
        assert 0.0 <= result.intensity < 1.0
        assert 0.0 <= result.confidence <= 1.0
        if result.stance == NEUTRAL:
            assert result.intensity == 0.0
        else:
            assert result.intensity > 0.0
            assert result.confidence > 0.5


def test_more_cues_of_one_side_raise_intensity_and_confidence() -> None:
    one = extract("We will resume attacks.")
    two = extract("We will resume attacks and intensify our strikes; revenge is coming.")
    assert one.stance == two.stance == ESCALATION
    assert two.intensity > one.intensity
    assert two.confidence > one.confidence


def test_same_text_gives_the_same_result() -> None:
    text = "لا هدنة ولا تراجع، والرد سيكون موجعاً. We will not stop until the occupation leaves."
    assert extract(text) == extract(text)
    assert explain(text) == explain(text)


def test_results_do_not_depend_on_the_hash_seed(labelled: pd.DataFrame) -> None:
    # Set iteration order changes with PYTHONHASHSEED; results must not.
    script = (
        "import json, sys\n"
        "from cadence.features.stance import extract\n"
        "texts = json.load(sys.stdin)\n"
        "print(json.dumps([[r.stance, r.intensity, r.confidence, list(r.cues)]"
        " for r in map(extract, texts)]))\n"
    )
    texts = labelled["text"].tolist()
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert [row[0] for row in outputs[0]] == [extract(t).stance for t in texts]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We will not stop our operations.", ESCALATION),
        ("No stopping, no truce, no retreat.", ESCALATION),
        ("Attacks will never cease.", ESCALATION),
        ("We announce the suspension of operations.", DE_ESCALATION),
        ("We will not launch any new attacks.", DE_ESCALATION),
        ("There will be no escalation from our side.", DE_ESCALATION),
        ("Hezbollah won't resume attacks.", DE_ESCALATION),
        ("The enemy's aggression will not go unpunished.", ESCALATION),
        ("There is no doubt that we will retaliate.", ESCALATION),
        ("لن نتوقف عن عملياتنا", ESCALATION),
        ("لا هدنة", ESCALATION),
        ("لن نشن أي هجمات", DE_ESCALATION),
        ("عدم التصعيد", DE_ESCALATION),
    ],
)
def test_negation_flips_the_cue_it_governs(text: str, expected: str) -> None:
    result = extract(text)
    assert result.stance == expected, explain(text)


def test_negation_reaches_coordinated_cues_but_not_the_next_clause_of_thought() -> None:
    both = explain("We will not stop or retreat.")
    assert [c.stance for c in both] == [ESCALATION, ESCALATION]
    # "no retreat from the decision to resume operations": only "retreat" is negated
    cues = explain("لا تراجع عن قرار استئناف العمليات")
    assert [(c.stance, "negated" in c.modifiers) for c in cues] == [
        (ESCALATION, True),
        (ESCALATION, False),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The era of restraint is over.", ESCALATION),
        ("The ceasefire has ended.", ESCALATION),
        ("أكد البيان أن زمن ضبط النفس قد انتهى", ESCALATION),
        ("انتهت التهدئة", ESCALATION),
    ],
)
def test_a_state_said_to_be_over_flips_its_cue(text: str, expected: str) -> None:
    result = extract(text)
    assert result.stance == expected, explain(text)
    assert any("ended" in c.modifiers for c in explain(text))


def test_idioms_holding_cue_words_are_not_cues() -> None:
    text = "We have decided to stop targeting the bases, in response to the government's request."
    assert extract(text).stance == DE_ESCALATION
    assert all(c.text != "response" for c in explain(text))
    assert extract("There is no doubt that the truce holds.").stance == DE_ESCALATION


def test_single_arabic_cues_are_not_too_short_to_be_specific() -> None:
    # The light stemmer can fold different words onto one short key (أمان and الأمين both
    # give ام); single-word cues must keep keys of 3+ letters, bar a reviewed few.
    from cadence.features.stance import lexicon
    from cadence.features.stance.text import phrase_keys

    short = {
        phrase
        for phrase, _, _ in lexicon.CUES_AR
        if len(phrase_keys(phrase)) == 1 and len(phrase_keys(phrase)[0]) < 3
    }
    assert short == {"الرد"}


def test_a_denied_resumption_is_neutral_and_quotes_the_denial() -> None:
    text = (
        "The group denied issuing the statement announcing the resumption of attacks "
        "and called it fabricated news."
    )
    result = extract(text)
    assert result.stance == NEUTRAL
    assert "denied" in result.cues
    assert [c.modifiers for c in explain(text)] == [("denied",)]
    assert extract("نفى المتحدث صدور بيان عن استئناف العمليات").stance == NEUTRAL
    assert extract("Reports that the group suspended its operations are false.").stance == NEUTRAL


def test_a_denial_verb_does_not_void_what_came_before_it() -> None:
    result = extract("The group vowed revenge and denied any role in the blast.")
    assert result.stance == ESCALATION


def test_cues_inside_a_condition_do_not_count() -> None:
    # "stops" describes the condition, not the speaker's stance
    text = "There will be no cessation of operations unless the aggression on Gaza stops."
    assert extract(text).stance == ESCALATION
    stops = [c for c in explain(text) if c.text == "stops"]
    assert stops and stops[0].weight == 0.0 and "condition" in stops[0].modifiers


def test_a_conditional_threat_is_escalation_with_less_intensity() -> None:
    plain = extract("We will expand our operations.")
    hedged = extract("If the aggression continues, we will expand our operations.")
    arabic = extract("إذا استمر العدوان سنوسع عملياتنا")
    assert plain.stance == hedged.stance == arabic.stance == ESCALATION
    assert hedged.intensity < plain.intensity


def test_concession_and_contrast_weigh_the_main_point() -> None:
    assert extract("Our operations will continue despite the ceasefire.").stance == ESCALATION
    assert extract("ستستمر عملياتنا رغم وقف إطلاق النار").stance == ESCALATION
    text = "We respect the decision to halt attacks, but our fighters will continue operations."
    assert extract(text).stance == ESCALATION


def test_balanced_mixed_text_is_neutral_and_an_unbalanced_one_is_not() -> None:
    tie = extract("The group announced a truce. The group announced a new phase of operations.")
    assert tie.stance == NEUTRAL
    assert tie.intensity == 0.0
    assert tie.confidence < 0.5  # cues cancelled out: less sure than no cues at all
    lean = extract(
        "The group announced a truce and the suspension of operations; a response may come."
    )
    assert lean.stance == DE_ESCALATION


def test_text_without_cues_is_neutral_with_no_cues() -> None:
    result = extract("The council will meet next week.")
    assert result == extract("The council will meet next week.")
    assert (result.stance, result.intensity, result.cues, result.confidence) == (
        NEUTRAL,
        0.0,
        (),
        0.5,
    )
    assert extract("").language == "und"


def test_arabic_spelling_variants_normalise_to_one_form() -> None:
    assert normalize_arabic("أإآٱ") == "اااا"
    assert normalize_arabic("على") == "علي"
    assert normalize_arabic("هدنة") == "هدنه"
    assert normalize_arabic("نُعْلِنُ") == "نعلن"
    assert normalize_arabic("تعليـــق") == "تعليق"
    assert normalize_arabic("\ufefb") == "لا"  # presentation form of lam-alef


@pytest.mark.parametrize(
    "variant",
    [
        "نُعْلِنُ تَعْلِيقَ العَمَلِيَّاتِ العَسْكَرِيَّةِ",  # full diacritics
        "نعلـــن تعليـــق العمليـــات العسكريـــة",  # tatweel
        "نعلن تعليق العمليات العسكريه",  # ta marbuta written as ha
        "نعلن تعليق العمليات العسكرية",  # plain
    ],
)
def test_arabic_variants_of_one_statement_get_one_stance(variant: str) -> None:
    result = extract(variant)
    assert result.stance == DE_ESCALATION
    assert result.language == "ar"
    reference = extract("نعلن تعليق العمليات العسكرية")
    assert (result.intensity, result.confidence) == (reference.intensity, reference.confidence)


def test_alef_and_ya_variants_match_the_same_cue() -> None:
    for text in ("أوقفت الفصائل هجماتها", "اوقفت الفصائل هجماتها", "إلى التهدئة", "الى التهدئه"):
        assert extract(text).stance == DE_ESCALATION, text


def test_social_media_is_not_read_as_continuation() -> None:
    # التواصل ("social media") shares a light stem with تواصل ("continues")
    assert extract("البيان المتداول على مواقع التواصل").stance == NEUTRAL
    assert extract("المقاومة تواصل عملياتها").stance == ESCALATION


def test_language_argument_is_reported_and_validated() -> None:
    assert extract("We announce a truce.", "ENG").language == "en"
    assert extract("نعلن هدنة", "ar-IQ").language == "ar"
    with pytest.raises(UnsupportedLanguageError, match="got 'fr'"):
        extract("Nous annonçons une trêve.", "fr")
    assert detect_language("نعلن a truce هدنة") == "ar"


def test_version_changes_with_the_lexicons() -> None:
    # If this fails the lexicons or rules changed: bump LEXICON_VERSION and update both.
    assert (LEXICON_VERSION, LEXICON_FINGERPRINT) == ("cues-1.0.0", "a96d7a09a9dc7fd8")


def test_exported_names_exist() -> None:
    for name in stance_pkg.__all__:
        assert hasattr(stance_pkg, name), name
