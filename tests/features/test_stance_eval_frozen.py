"""The frozen stance evaluation set: unchanged, labelled, and its real rows really from data/."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from cadence.columns import STANCES

HERE = Path(__file__).resolve().parent
FROZEN = HERE / "data" / "stance_eval_frozen.csv"
ISRAEL = HERE.parents[1] / "data" / "israel-fronts-key-events" / "events_2023-10_2024-06.csv"
# Recorded when the set was committed, before any classifier was trained or tuned. If this
# fails, the evaluation set changed: restore it. A new set needs a new file and a new hash,
# and the figures measured on this one stay as they are.
FROZEN_SHA256 = "47c912757c6d49110211634d616a91d59bd523f6c2723267caaea4de0a7b3951"


def load_frozen() -> pd.DataFrame:
    return pd.read_csv(FROZEN, comment="#", dtype=str, keep_default_na=False)


def test_the_evaluation_set_is_unchanged() -> None:
    assert hashlib.sha256(FROZEN.read_bytes()).hexdigest() == FROZEN_SHA256


def test_the_evaluation_set_is_labelled_and_marks_what_is_synthetic() -> None:
    frame = load_frozen()
    assert list(frame.columns) == ["id", "language", "stance", "synthetic", "source", "text"]
    assert frame["id"].is_unique
    assert set(frame["stance"]) == set(STANCES)
    assert set(frame["language"]) == {"en", "ar"}
    assert set(frame["synthetic"]) == {"true", "false"}
    synthetic = frame[frame["synthetic"] == "true"]
    # 10 paraphrases per stance and language
    assert synthetic.groupby(["language", "stance"]).size().tolist() == [10] * 6
    assert (frame.loc[frame["synthetic"] == "false", "language"] == "en").all()


def test_its_real_rows_are_the_israel_front_statements_verbatim() -> None:
    frame = load_frozen()
    real = frame[frame["synthetic"] == "false"]
    events = pd.read_csv(ISRAEL, dtype=str)
    events = events[events["kind"] == "statement"]
    assert real["text"].tolist() == events["summary"].tolist()
    assert real["stance"].tolist() == events["stance"].tolist()
    assert all(src.startswith("data/israel-fronts-key-events/") for src in real["source"])
