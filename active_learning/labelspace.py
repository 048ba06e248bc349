"""What a model predicts for a job's items, and how sure it is: one class, or a set of them.

Single-label jobs: the model gives class probabilities (rows sum to one); the prediction is
the most probable class and the confidence its probability.

Multi-label jobs: one-vs-rest, the model gives each label's probability p_k of being in the
item's set, independently. The prediction is the set {k : p_k ≥ 0.5}; the confidence is the
probability that this *whole set* is right, prod_k max(p_k, 1 − p_k) under the models'
independence. It is what the threshold is picked on (validation: exact-set accuracy, with
the same one-sided Clopper–Pearson bound), so if the independence is wrong the bound still
holds: it is measured on the random held-out slice, not assumed. The human queue is ordered
by 1 − that confidence.

Pure numpy: no Django, no learners.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

MULTILABEL_TASK_TYPES = ("text-classification-multilabel", "image-classification-multilabel")
SINGLE_LABEL_TASK_TYPES = ("text-classification", "image-classification")


@dataclass(frozen=True)
class LabelSpace:
    classes: tuple[str, ...]
    multilabel: bool

    @classmethod
    def for_job(cls, task_type: str, labels: list[str]) -> "LabelSpace":
        return cls(tuple(labels), task_type in MULTILABEL_TASK_TYPES)

    # --- human labels -> training targets -------------------------------------------------

    def target(self, label: str, value: dict[str, Any]) -> Any:
        """A consolidated label as a target: a class index (None if unknown), or for
        multi-label a 0/1 row (None if its value names no known classes list)."""
        if not self.multilabel:
            return self.classes.index(label) if label in self.classes else None
        ids = value.get("class_ids") if isinstance(value, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            names = value.get("labels") if isinstance(value, dict) else None
            if not isinstance(names, list):
                return None
            ids = [self.classes.index(n) for n in names if n in self.classes]
        row = np.zeros(len(self.classes), np.int8)
        row[[i for i in ids if 0 <= i < len(self.classes)]] = 1
        return row

    def targets(self, rows: list[Any]) -> np.ndarray:
        if self.multilabel:
            return np.asarray(rows, np.int8).reshape(len(rows), len(self.classes))
        return np.asarray(rows, np.int64)

    def trainable(self, targets: np.ndarray) -> bool:
        """At least two different answers to learn from."""
        if self.multilabel:
            return len(np.unique(targets, axis=0)) >= 2 if len(targets) else False
        return len(set(targets.tolist())) >= 2

    # --- model probabilities -> predictions ---------------------------------------------------

    def predicted(self, probabilities: np.ndarray) -> np.ndarray:
        if self.multilabel:
            return probabilities >= 0.5
        return probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, np.int64)

    def confidence(self, probabilities: np.ndarray) -> np.ndarray:
        if not len(probabilities):
            return np.zeros(0)
        if self.multilabel:
            return np.prod(np.maximum(probabilities, 1.0 - probabilities), axis=1)
        return probabilities.max(axis=1)

    def hits(self, probabilities: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Whether each prediction is right: the class, or the exact set."""
        predicted = self.predicted(probabilities)
        if self.multilabel:
            return (predicted == truth.astype(bool)).all(axis=1)
        return predicted == truth

    def hits_exact(self, given: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Whether two target arrays agree item by item (the class, or the exact set)."""
        if self.multilabel:
            return (given == truth).all(axis=1)
        return given == truth

    def uncertainty(self, probabilities: np.ndarray, strategy, context=None) -> np.ndarray:
        """Human-queue scores in [0, 1]; multi-label: 1 − P(the whole set is right), unless
        the strategy does not read the probabilities (random order). ``context`` (a
        ``QueryContext``) goes to the strategies that ask for it (``uses_context``)."""
        if self.multilabel and not getattr(strategy, "ignores_probabilities", False):
            return 1.0 - self.confidence(probabilities)
        if getattr(strategy, "uses_context", False):
            return strategy.uncertainty(probabilities, context)
        return strategy.uncertainty(probabilities)

    # --- predictions -> stored labels ---------------------------------------------------------

    def text(self, prediction: Any) -> str:
        """The label as one string (AutoLabel, Suggestion): the class, or the set joined by
        commas in the job's label order (the form multi-label consolidated labels take)."""
        if self.multilabel:
            return ",".join(c for c, chosen in zip(self.classes, prediction, strict=True) if chosen)
        return self.classes[int(prediction)]

    def value(self, probabilities_row: np.ndarray) -> dict[str, Any]:
        """A model's label value, shaped like a consolidated human one of the task type."""
        if self.multilabel:
            chosen = [int(k) for k in np.flatnonzero(probabilities_row >= 0.5)]
            return {
                "labels": [self.classes[k] for k in chosen],
                "class_ids": chosen,
                "confidence_map": {str(k): round(float(probabilities_row[k]), 6) for k in chosen},
                # Every label's probability of being in the set (the chosen ones ≥ 0.5).
                "probabilities": {
                    name: round(float(p), 6)
                    for name, p in zip(self.classes, probabilities_row, strict=True)
                },
            }
        k = int(probabilities_row.argmax())
        return {"label": self.classes[k], "class_id": k}


def label_key(label: str, value: dict[str, Any] | None) -> Any:
    """What two labels of an item must share to agree: the class, or the exact set."""
    if isinstance(value, dict) and isinstance(value.get("class_ids"), list):
        return tuple(sorted(int(i) for i in value["class_ids"]))
    return label
