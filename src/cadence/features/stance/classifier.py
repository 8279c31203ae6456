"""Learned stance classifier: logistic regression on character n-grams, calibrated.

TF-IDF of character n-grams inside word boundaries (``char_wb``, 2 to 5 characters;
works for English and Arabic alike, after ``normalize_text``) -> a multinomial logistic
regression (classes weighted to balance), wrapped in ``CalibratedClassifierCV`` with
temperature scaling fitted on held-out folds (``CV_FOLDS`` stratified folds, fixed
seed), so the predicted probabilities are calibrated.

It is trained on ``training.training_statements()`` (real and synthetic statements
shipped with the package) at first use, deterministically, and cached in the process
(about a second on one core; nothing is downloaded). ``C`` was chosen by grouped
cross-validation on the training statements only (1, 10 and 100 tried), never on the
frozen evaluation set.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from cadence.columns import STANCES
from cadence.features.stance.text import normalize_arabic
from cadence.features.stance.training import training_statements

NGRAM_RANGE: Final = (2, 5)
C: Final = 10.0  # inverse L2 penalty of the logistic regression
CV_FOLDS: Final = 5
SEED: Final = 0
HYPERPARAMETERS: Final = repr(
    (NGRAM_RANGE, C, CV_FOLDS, SEED, "char_wb", "newton-cg", "balanced", "temperature")
)


def normalize_text(text: str) -> str:
    """Lower case, Arabic spelling folded (``text.normalize_arabic``)."""
    return normalize_arabic(text).lower()


def _pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=NGRAM_RANGE,
        preprocessor=normalize_text,
        sublinear_tf=True,
    )
    model = LogisticRegression(C=C, class_weight="balanced", solver="newton-cg", max_iter=1000)
    return Pipeline([("features", chars), ("model", model)])


def untrained() -> Any:
    """The calibrated classifier, not yet fitted."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=SEED)
    return CalibratedClassifierCV(_pipeline(), method="temperature", cv=folds)


@functools.lru_cache(maxsize=1)
def trained() -> Any:
    """``untrained()`` fitted on the shipped training statements (cached in the process)."""
    frame = training_statements()
    with threadpool_limits(limits=1):  # a small problem: BLAS threads only contend
        return untrained().fit(frame["text"].tolist(), frame["stance"].to_numpy())


def probabilities(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """Calibrated probabilities, one row per text, columns in ``STANCES`` order."""
    if not texts:
        return np.zeros((0, len(STANCES)))
    model = trained()
    with threadpool_limits(limits=1):
        proba = np.asarray(model.predict_proba(list(texts)), dtype=np.float64)
    order = [list(model.classes_).index(stance) for stance in STANCES]
    return proba[:, order]
