"""The learned stance classifier, its training data and its blend with the lexicon."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cadence.columns import DE_ESCALATION, ESCALATION, NEUTRAL, STANCES
from cadence.features.stance import code_statement, code_statements, extract
from cadence.features.stance.classifier import normalize_text, probabilities, untrained
from cadence.features.stance.combined import (
    CODER_FINGERPRINT,
    EXTRACTOR_VERSION,
    FIRST_LOOK,
    ONE_CUE_INTENSITY,
    blend,
    lexicon_likelihood,
)
from cadence.features.stance.evaluation import reliability_table, stance_scores
from cadence.features.stance.synthetic import read_data_csv
from cadence.features.stance.training import training_statements

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data"
MILITIA = DATA / "us_forces_attacks_news_transcribed" / "militia_statements.csv"
IRI = DATA / "statements" / "iri_full_resumption_2024-02-09.txt"
FROZEN = HERE / "data" / "stance_eval_frozen.csv"
# Synthetic test strings (not real statements).
NO_CUE_THREAT_AR = "سنجعل القواعد مقبرة للغزاة"


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return training_statements()


@pytest.fixture(scope="module")
def frozen() -> pd.DataFrame:
    return pd.read_csv(FROZEN, comment="#", dtype=str, keep_default_na=False)


def test_real_training_rows_are_the_militia_statements_verbatim(training: pd.DataFrame) -> None:
    real = training[~training["synthetic"]]
    militia = pd.read_csv(MILITIA, dtype=str)
    assert real["text"].tolist() == [*militia["summary_or_quote"], IRI.read_text("utf-8")]
    raw = [row["raw_label"] for row in read_data_csv("training_real.csv")]
    assert raw[:-1] == militia["stance"].tolist()
    assert all(src.startswith("data/") for src in real["source"])


def test_handwritten_synthetic_rows_are_the_lexicon_test_sets(training: pd.DataFrame) -> None:
    names = ["stance_labelled.csv", *(f"stance_holdout{s}.csv" for s in ("", "2", "3"))]
    sets = [pd.read_csv(HERE / "data" / n, comment="#", dtype=str) for n in names]
    expected = pd.concat(sets, ignore_index=True)
    copied = training[training["source"].str.startswith("tests/features/data/")]
    assert copied["text"].tolist() == expected["text"].tolist()
    assert copied["stance"].tolist() == expected["stance"].tolist()
    assert copied["synthetic"].all()


def test_generated_rows_are_marked_synthetic_and_name_their_template(
    training: pd.DataFrame,
) -> None:
    generated = training[training["source"].str.startswith("synthetic_templates.csv")]
    assert len(generated) == 288  # 72 templates x 4 fillings
    assert generated["synthetic"].all()
    assert not generated["text"].str.contains("{", regex=False).any()
    assert generated.groupby(["language", "stance"]).size().tolist() == [48] * 6
    assert training["id"].is_unique
    assert set(training["stance"]) == set(STANCES)


def test_nothing_of_the_frozen_evaluation_set_is_trained_on(
    training: pd.DataFrame, frozen: pd.DataFrame
) -> None:
    seen = {normalize_text(t) for t in training["text"]}
    assert not seen & {normalize_text(t) for t in frozen["text"]}


def test_training_is_deterministic() -> None:
    frame = training_statements()
    texts = ["We will resume attacks.", "نعلن تعليق العمليات", "The council met."]
    fits = [untrained().fit(frame["text"].tolist(), frame["stance"].to_numpy()) for _ in (0, 1)]
    first, second = (fit.predict_proba(texts) for fit in fits)
    np.testing.assert_allclose(first, second, rtol=0, atol=1e-9)
    order = [list(fits[0].classes_).index(stance) for stance in STANCES]
    np.testing.assert_allclose(probabilities(texts), first[:, order], atol=1e-9)


def test_probabilities_are_distributions_in_stance_order() -> None:
    proba = probabilities(["We announce a ceasefire.", "سنواصل عملياتنا ضد قوات الاحتلال", "x"])
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[0].argmax() == STANCES.index(DE_ESCALATION)
    assert proba[1].argmax() == STANCES.index(ESCALATION)
    assert probabilities([]).shape == (0, 3)


def test_the_lexicon_is_weighed_by_its_first_look_reliability() -> None:
    likelihood = lexicon_likelihood()
    np.testing.assert_allclose(likelihood.sum(axis=1), 1.0)
    assert [sum(row) for row in FIRST_LOOK] == [36, 36, 36]
    flat = np.full((1, 3), 1 / 3)
    # a lexicon escalation is strong evidence, a lexicon neutral (its fallback) weak
    assert blend(flat, [ESCALATION])[0].argmax() == STANCES.index(ESCALATION)
    assert blend(flat, [ESCALATION])[0].max() == pytest.approx(7 / 11)  # (6+1) / (7+3+1)
    assert blend(flat, [NEUTRAL])[0].max() == pytest.approx(36 / 84)  # 36 / (27+21+36)
    confident = np.array([[0.9, 0.05, 0.05]])
    assert blend(confident, [NEUTRAL])[0].argmax() == STANCES.index(ESCALATION)


def test_the_combination_beats_the_lexicon_on_the_frozen_set(frozen: pd.DataFrame) -> None:
    # Measured once on the frozen set (benchmarks/stance.py): combination 0.882 (English
    # 0.935, Arabic 0.800) against the lexicon's 0.684 (0.848, 0.433). Floors allow one
    # more miss per language.
    texts, truth = frozen["text"].tolist(), frozen["stance"].tolist()
    lexicon = [extract(text).stance for text in texts]
    combined = [c.stance for c in code_statements(texts)]
    for language, floor in (("en", 0.91), ("ar", 0.76)):
        idx = [i for i, lang in enumerate(frozen["language"]) if lang == language]
        ours = stance_scores([truth[i] for i in idx], [combined[i] for i in idx]).accuracy
        theirs = stance_scores([truth[i] for i in idx], [lexicon[i] for i in idx]).accuracy
        assert ours >= floor
        assert ours > theirs


def test_coded_fields_follow_the_lexicon_when_it_agrees() -> None:
    text = "We will resume attacks and the enemy will pay a heavy price."
    coded, lexical = code_statement(text), extract(text)
    assert coded.stance == lexical.stance == coded.lexicon_stance == ESCALATION
    assert (coded.intensity, coded.cues) == (lexical.intensity, lexical.cues)
    assert coded.confidence == pytest.approx(max(coded.probabilities))
    assert 1 / 3 <= coded.confidence <= 1.0


def test_a_stance_found_without_cues_counts_as_at_most_one_cue() -> None:
    coded = code_statement(NO_CUE_THREAT_AR)
    assert extract(NO_CUE_THREAT_AR).stance == NEUTRAL
    assert coded.stance == ESCALATION
    assert coded.cues == ()
    assert coded.intensity == pytest.approx(ONE_CUE_INTENSITY * coded.confidence)
    assert coded.language == "ar"


def test_text_without_letters_is_neutral_and_languages_must_match_texts() -> None:
    assert code_statement("12345").stance == NEUTRAL
    assert code_statement("").intensity == 0.0
    with pytest.raises(ValueError, match="expected one per text"):
        code_statements(["a", "b"], ["en"])


def test_coder_version_changes_with_lexicon_training_data_or_hyperparameters() -> None:
    # If this fails, the lexicon, the training files, the hyperparameters or the blend
    # changed: bump CLASSIFIER_VERSION (or LEXICON_VERSION) and update both.
    assert (EXTRACTOR_VERSION, CODER_FINGERPRINT) == ("cues-1.0.0+charlr-1.0.0", "8804a5f5bcb7cc4e")


def test_reliability_table_bins_confidence_against_accuracy() -> None:
    truth = [ESCALATION, ESCALATION, NEUTRAL, NEUTRAL]
    predicted = [ESCALATION, NEUTRAL, NEUTRAL, NEUTRAL]
    bins = reliability_table(truth, predicted, [0.55, 0.58, 0.95, 1.0])
    assert [(b.low, b.high, b.n) for b in bins] == [(0.5, 0.6, 2), (0.9, 1.0, 2)]
    assert bins[0].accuracy == 0.5
    assert bins[0].mean_confidence == pytest.approx(0.565)
    assert bins[1].accuracy == 1.0
    with pytest.raises(ValueError, match="equal lengths"):
        reliability_table(truth, predicted, [0.5])
