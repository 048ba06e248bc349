"""Text classification: TF-IDF word and character n-grams with a logistic regression."""

import pickle
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from active_learning.learners.base import Heartbeat

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
        self.classifier: LogisticRegression | None = None
        self.classes = 0
        self.present: np.ndarray | None = None

    def prepare(self, all_texts: list[str]) -> None:
        self.words.fit(all_texts)
        self.chars.fit(all_texts)

    def _features(self, texts: list[str]) -> sp.csr_matrix:
        return sp.hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()

    def fit(self, inputs: list[str], targets: np.ndarray, classes: int, heartbeat: Heartbeat):
        self.classes = classes
        heartbeat()
        self.classifier = LogisticRegression(C=self.regularization, max_iter=2000)
        self.classifier.fit(self._features(inputs), targets)
        self.present = self.classifier.classes_
        heartbeat()

    def predict_proba(self, inputs: list[str]) -> np.ndarray:
        assert self.classifier is not None and self.present is not None
        out = np.zeros((len(inputs), self.classes))
        if inputs:
            out[:, self.present] = self.classifier.predict_proba(self._features(inputs))
        return out

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)
