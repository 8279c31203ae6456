"""Analyst codes override the extractor; source labels map to the three stances."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cadence.columns import (
    CONFIDENCE,
    DE_ESCALATION,
    ESCALATION,
    EXTRACTOR_VERSION,
    LANGUAGE,
    NEUTRAL,
    STANCE,
    STANCE_SOURCE,
    STANCE_SOURCE_ANALYST,
    STANCE_SOURCE_EXTRACTOR,
    TEXT,
)
from cadence.features.stance import (
    ANALYST_INTENSITY,
    CUES,
    INTENSITY,
    StanceLabelError,
    StatementFrameError,
    UnsupportedLanguageError,
    code_statement,
    extract,
    normalize_stance_label,
    resolve_stances,
)
from cadence.features.stance import EXTRACTOR_VERSION as VERSION

ESCALATORY = "We will resume attacks and the enemy will pay a heavy price."


@pytest.fixture
def statements() -> pd.DataFrame:
    """Synthetic statements (not real ones), with a non-default index."""
    return pd.DataFrame(
        {
            TEXT: [ESCALATORY, ESCALATORY, "نعلن تعليق العمليات", None, "The council met."],
            STANCE: ["de-escalation", None, "", "pause (conditional)", float("nan")],
            LANGUAGE: ["en", None, None, None, "en"],
            "actor": ["a", "b", "c", "d", "e"],
        },
        index=[10, 11, 12, 13, 14],
    )


def test_analyst_code_overrides_the_extractor(statements: pd.DataFrame) -> None:
    out = resolve_stances(statements)
    # row 10: the text is plainly escalatory, the analyst said de-escalation: analyst wins
    assert extract(ESCALATORY).stance == ESCALATION
    assert out.loc[10, STANCE] == DE_ESCALATION
    assert out.loc[10, STANCE_SOURCE] == STANCE_SOURCE_ANALYST
    assert out.loc[10, CONFIDENCE] == 1.0
    assert out.loc[10, EXTRACTOR_VERSION] is None
    assert out.loc[10, INTENSITY] == pytest.approx(ANALYST_INTENSITY)
    assert out.loc[10, CUES] == ()
    # row 13: a source label is mapped, even without text
    assert out.loc[13, STANCE] == DE_ESCALATION
    assert out.loc[13, STANCE_SOURCE] == STANCE_SOURCE_ANALYST


def test_uncoded_rows_get_the_coder_stance_with_provenance(statements: pd.DataFrame) -> None:
    out = resolve_stances(statements)
    for row, expected in ((11, ESCALATION), (12, DE_ESCALATION), (14, NEUTRAL)):
        result = code_statement(str(statements.loc[row, TEXT]))
        assert out.loc[row, STANCE] == expected == result.stance
        assert out.loc[row, STANCE_SOURCE] == STANCE_SOURCE_EXTRACTOR
        assert out.loc[row, EXTRACTOR_VERSION] == VERSION
        assert out.loc[row, CONFIDENCE] == pytest.approx(result.confidence)
        assert out.loc[row, INTENSITY] == pytest.approx(result.intensity)
        assert out.loc[row, CUES] == result.cues
    assert out.loc[11, CUES]  # escalation: cues present
    assert out.loc[14, INTENSITY] == 0.0


def test_missing_languages_are_filled_and_given_ones_kept(statements: pd.DataFrame) -> None:
    out = resolve_stances(statements)
    assert out[LANGUAGE].tolist() == ["en", "en", "ar", None, "en"]


def test_input_is_not_modified_and_other_columns_survive(statements: pd.DataFrame) -> None:
    before = statements.copy()
    out = resolve_stances(statements)
    pd.testing.assert_frame_equal(statements, before)
    assert out.index.tolist() == before.index.tolist()
    assert out["actor"].tolist() == before["actor"].tolist()
    assert set(out[STANCE]) <= {ESCALATION, DE_ESCALATION, NEUTRAL}
    assert (out[INTENSITY] >= 0).all()
    assert out[CONFIDENCE].between(0, 1).all()


def test_frame_without_stance_or_language_columns_is_resolved_by_the_extractor() -> None:
    frame = pd.DataFrame({TEXT: ["We announce a ceasefire.", "لا هدنة"]})
    out = resolve_stances(frame)
    assert out[STANCE].tolist() == [DE_ESCALATION, ESCALATION]
    assert out[STANCE_SOURCE].tolist() == [STANCE_SOURCE_EXTRACTOR] * 2
    assert out[LANGUAGE].tolist() == ["en", "ar"]


def test_empty_frame_keeps_its_shape() -> None:
    out = resolve_stances(pd.DataFrame({TEXT: pd.Series([], dtype=object)}))
    assert len(out) == 0
    assert {STANCE, STANCE_SOURCE, CONFIDENCE, EXTRACTOR_VERSION, INTENSITY, CUES} <= set(out)


def test_missing_text_column_is_reported() -> None:
    with pytest.raises(StatementFrameError, match="expected a 'text' column"):
        resolve_stances(pd.DataFrame({STANCE: ["escalation"]}))


def test_an_unknown_analyst_code_is_an_error_not_a_guess() -> None:
    frame = pd.DataFrame({TEXT: ["x"], STANCE: ["unclear"]})
    with pytest.raises(StanceLabelError, match="'unclear'"):
        resolve_stances(frame)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("escalation", ESCALATION),
        ("pause", DE_ESCALATION),
        ("pause (conditional)", DE_ESCALATION),
        ("resumption", ESCALATION),
        ("resumption/escalation", ESCALATION),
        ("continuation (rejects pause)", ESCALATION),
        ("escalation/conditional", ESCALATION),
        ("claim/escalation", ESCALATION),
        ("rhetoric/escalation", ESCALATION),
        ("escalation (revenge vow)", ESCALATION),
        ("denial", NEUTRAL),
        ("De-Escalation", DE_ESCALATION),
        ("neutral", NEUTRAL),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_source_labels_map_to_stances(raw: str | None, expected: str | None) -> None:
    assert normalize_stance_label(raw) == expected


def test_nan_label_is_no_label() -> None:
    assert normalize_stance_label(math.nan) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["unclear", "pause/escalation", "claim"])
def test_unmappable_labels_raise(raw: str) -> None:
    with pytest.raises(StanceLabelError):
        normalize_stance_label(raw)


def test_rows_left_to_the_coder_in_a_language_it_cannot_read_are_all_named() -> None:
    frame = pd.DataFrame(
        {
            TEXT: ["Nous suspendons.", "Wir setzen aus.", "Nous suspendons.", "We suspend."],
            STANCE: [None, None, "de-escalation", None],
            LANGUAGE: ["fr", "de-DE", "fr", "en"],
        },
        index=[10, 11, 12, 13],
    )
    with pytest.raises(UnsupportedLanguageError, match="'en' or 'ar'") as caught:
        resolve_stances(frame)
    # the analyst-coded French row (12) needs no coder; the English one is fine
    assert caught.value.rows == ((10, "fr"), (11, "de-DE"))
    assert "analyst" in caught.value.expected
    out = resolve_stances(frame.loc[[12, 13]])
    assert out[STANCE].tolist()[0] == "de-escalation"
