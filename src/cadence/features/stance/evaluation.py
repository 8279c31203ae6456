"""Accuracy of stance predictions against labels: precision, recall, F1 per stance."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from cadence.columns import STANCES

PRECISION = "precision"
RECALL = "recall"
F1 = "f1"
SUPPORT = "support"


@dataclass(frozen=True)
class StanceScores:
    """``table``: one row per stance (index ``STANCES``), columns precision, recall, f1
    (fractions in [0, 1]; NaN where undefined: no prediction or no label of that stance)
    and support (number of labels of that stance). ``accuracy``: share of exact matches.
    """

    table: pd.DataFrame
    accuracy: float
    n: int


def stance_scores(truth: Sequence[str], predicted: Sequence[str]) -> StanceScores:
    """Score predicted stances against true ones (same length, same order)."""
    if len(truth) != len(predicted):
        raise ValueError(
            f"truth and predicted: expected equal lengths, got {len(truth)} and {len(predicted)}"
        )
    rows = {}
    for stance in STANCES:
        tp = sum(t == stance and p == stance for t, p in zip(truth, predicted, strict=True))
        n_pred = sum(p == stance for p in predicted)
        n_true = sum(t == stance for t in truth)
        precision = tp / n_pred if n_pred else float("nan")
        recall = tp / n_true if n_true else float("nan")
        f1 = (
            2 * precision * recall / (precision + recall)
            if n_pred and n_true and (precision + recall) > 0
            else (0.0 if n_pred and n_true else float("nan"))
        )
        rows[stance] = {PRECISION: precision, RECALL: recall, F1: f1, SUPPORT: n_true}
    table = pd.DataFrame.from_dict(rows, orient="index")
    correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    accuracy = correct / len(truth) if len(truth) else float("nan")
    return StanceScores(table=table, accuracy=accuracy, n=len(truth))


@dataclass(frozen=True)
class ReliabilityBin:
    """Predictions whose confidence lies in ``[low, high)`` (the last bin includes 1)."""

    low: float
    high: float
    n: int
    mean_confidence: float
    accuracy: float


def reliability_table(
    truth: Sequence[str],
    predicted: Sequence[str],
    confidence: Sequence[float],
    edges: Sequence[float] = (1 / 3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
) -> list[ReliabilityBin]:
    """Mean confidence against accuracy per confidence bin (empty bins left out).

    A calibrated coder has ``accuracy`` close to ``mean_confidence`` in every bin.
    """
    if not len(truth) == len(predicted) == len(confidence):
        raise ValueError(
            f"truth, predicted and confidence: expected equal lengths, got {len(truth)}, "
            f"{len(predicted)} and {len(confidence)}"
        )
    bins = []
    for k, (low, high) in enumerate(itertools.pairwise(edges)):
        last = k == len(edges) - 2
        members = [
            i
            for i, c in enumerate(confidence)
            if (low <= c < high) or (last and c == high) or (k == 0 and c < low)
        ]
        if not members:
            continue
        bins.append(
            ReliabilityBin(
                low=low,
                high=high,
                n=len(members),
                mean_confidence=sum(confidence[i] for i in members) / len(members),
                accuracy=sum(truth[i] == predicted[i] for i in members) / len(members),
            )
        )
    return bins
