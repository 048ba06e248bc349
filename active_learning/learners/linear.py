"""Logistic regression for one label per item (multinomial) or a set of them (one-vs-rest).

Both return an (items × classes) array: class probabilities that sum to one, or for a set
each label's own probability of being in it. A label every training item has (or none has)
gets its training frequency, smoothed, instead of a model that could not be fitted.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression


class LinearModel:
    def __init__(self, *, regularization: float):
        self.regularization = regularization
        self.classes = 0
        self.multilabel = False
        self.single: LogisticRegression | None = None
        self.per_label: list[LogisticRegression | float] = []

    def fit(self, features, targets: np.ndarray, classes: int) -> None:
        self.classes = classes
        self.multilabel = targets.ndim == 2
        if not self.multilabel:
            self.single = LogisticRegression(C=self.regularization, max_iter=2000)
            self.single.fit(features, targets)
            return
        self.per_label = []
        for k in range(classes):
            column = np.asarray(targets[:, k], np.int64)
            if column.min() == column.max():
                self.per_label.append((column.sum() + 0.5) / (len(column) + 1.0))
                continue
            model = LogisticRegression(C=self.regularization, max_iter=2000)
            model.fit(features, column)
            self.per_label.append(model)

    def predict_proba(self, features, count: int) -> np.ndarray:
        out = np.zeros((count, self.classes))
        if not count:
            return out
        if not self.multilabel:
            assert self.single is not None
            out[:, self.single.classes_] = self.single.predict_proba(features)
            return out
        for k, model in enumerate(self.per_label):
            out[:, k] = model if isinstance(model, float) else model.predict_proba(features)[:, 1]
        return out
