"""Text classification: TF-IDF word and character n-grams with a logistic regression
(multinomial for one label per text, one-vs-rest for a set of labels)."""

import pickle
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from active_learning.learners.base import Heartbeat
from active_learning.learners.linear import LinearModel

MAX_WORD_FEATURES = 200_000
MAX_CHAR_FEATURES = 300_000


class TfidfLogistic:
    """Words (1–2 grams) and characters (2–5 grams within words), then a linear classifier.

    The vocabulary is fitted on every text of the job (no labels are used for it), so words
    seen only in unlabeled items still get weights from their neighbours' n-grams.
    """

    kind = "text-tfidf"
    suffix = "pkl"

    def __init__(self, *, regularization: float = 4.0):
        self.regularization = regularization
        self.words = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=MAX_WORD_FEATURES
        )
        self.chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            sublinear_tf=True,
            min_df=2,
            max_features=MAX_CHAR_FEATURES,
        )
        self.classifier: LinearModel | None = None

    def prepare(self, all_texts: list[str]) -> None:
        self.words.fit(all_texts)
        self.chars.fit(all_texts)

    def _features(self, texts: list[str]) -> sp.csr_matrix:
        return sp.hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()

    def fit(self, inputs: list[str], targets: np.ndarray, classes: int, heartbeat: Heartbeat):
        """``targets``: class indices, or (items × classes) 0/1 rows for a multi-label job."""
        heartbeat()
        self.classifier = LinearModel(regularization=self.regularization)
        self.classifier.fit(self._features(inputs), targets, classes)
        heartbeat()

    def predict_proba(self, inputs: list[str]) -> np.ndarray:
        assert self.classifier is not None
        features = self._features(inputs) if inputs else None
        return self.classifier.predict_proba(features, len(inputs))

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)
