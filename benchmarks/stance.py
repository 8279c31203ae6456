"""Lexicon, classifier and their combination on the frozen stance evaluation set.

    python benchmarks/stance.py [--errors]

The set is ``tests/features/data/stance_eval_frozen.csv`` (SHA-256 pinned in
``tests/features/test_stance_eval_frozen.py``): 16 real Israel-front statements kept out
of the classifier's training (in-sample for the lexicon, whose cues were read against
them) and 60 synthetic paraphrases, 30 English and 30 Arabic, with wording new to both.
Prints accuracy and per-stance precision / recall for

- ``lexicon``: the cue extractor alone (``extract``);
- ``classifier``: the calibrated character n-gram classifier alone;
- ``combination``: the coder used at ingest (``code_statements``);

on English, Arabic, the real rows and all rows; then reliability tables (confidence bins:
mean confidence vs accuracy) of the classifier and the combination, and the time to
train the classifier (first use in a process).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cadence.columns import STANCES, TEXT
from cadence.features.stance import EXTRACTOR_VERSION, code_statements, extract
from cadence.features.stance.classifier import probabilities, trained
from cadence.features.stance.evaluation import reliability_table, stance_scores

ROOT = Path(__file__).resolve().parents[1]
FROZEN = ROOT / "tests" / "features" / "data" / "stance_eval_frozen.csv"


def load_frozen() -> pd.DataFrame:
    return pd.read_csv(FROZEN, comment="#", dtype=str, keep_default_na=False)


def predictions(texts: list[str]) -> dict[str, tuple[list[str], list[float]]]:
    """coder -> (stances, confidences)."""
    lexical = [extract(text) for text in texts]
    proba = probabilities(texts)
    coded = code_statements(texts)
    return {
        "lexicon": ([r.stance for r in lexical], [r.confidence for r in lexical]),
        "classifier": ([STANCES[k] for k in proba.argmax(axis=1)], proba.max(axis=1).tolist()),
        "combination": ([c.stance for c in coded], [c.confidence for c in coded]),
    }


def scores_line(name: str, truth: list[str], predicted: list[str]) -> str:
    scores = stance_scores(truth, predicted)
    cells = [f"{name:<12} acc {scores.accuracy:.3f}"]
    for stance in STANCES:
        row = scores.table.loc[stance]
        cells.append(f"{stance[:6]} P {row['precision']:.2f} R {row['recall']:.2f}")
    return "  ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--errors", action="store_true", help="also list misclassified rows")
    args = parser.parse_args()
    start = time.perf_counter()
    trained()
    train_seconds = time.perf_counter() - start
    frame = load_frozen()
    texts, truth = frame[TEXT].tolist(), frame["stance"].tolist()
    found = predictions(texts)
    print(f"coder {EXTRACTOR_VERSION}; frozen set {FROZEN.name}, n={len(frame)}\n")
    subsets = {
        "English": frame["language"] == "en",
        "Arabic": frame["language"] == "ar",
        "real (English)": frame["synthetic"] == "false",
        "synthetic": frame["synthetic"] == "true",
        "all": pd.Series(True, index=frame.index),
    }
    for title, mask in subsets.items():
        idx = np.flatnonzero(mask.to_numpy())
        print(f"{title} (n={len(idx)})")
        for name, (stances, _) in found.items():
            print("  " + scores_line(name, [truth[i] for i in idx], [stances[i] for i in idx]))
        print()
    for name in ("classifier", "combination"):
        stances, confidence = found[name]
        print(f"reliability, {name} (all {len(frame)} rows)")
        print(f"  {'confidence bin':<16}{'n':>4}{'mean conf':>11}{'accuracy':>10}")
        for b in reliability_table(truth, stances, confidence):
            span = f"[{b.low:.2f}, {b.high:.2f})"
            print(f"  {span:<16}{b.n:>4}{b.mean_confidence:>11.3f}{b.accuracy:>10.3f}")
        print()
    if args.errors:
        stances = found["combination"][0]
        for i, guess in enumerate(stances):
            if guess != truth[i]:
                print(f"  wrong: {frame['id'][i]} {truth[i]} -> {guess}: {texts[i][:90]}")
    print(f"classifier training at first use: {train_seconds:.1f} s (one process, under load)")


if __name__ == "__main__":
    main()
