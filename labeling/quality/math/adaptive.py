"""Adaptive overlap: which items still need answers, given what their answers say so far.

An item collects at least ``min_workers`` answers; then it stops as soon as its posterior
confidence reaches ``target_confidence``, and keeps collecting while it stays below (workers
disagree) until it has ``max_workers``. Pure, vectorised over items.

The confidence is always a posterior under a model of the workers, whatever method labels
the job: each worker's confusion matrix from the last re-estimation (``WorkerEstimates``), or,
for a worker not estimated yet (and for every worker before the first re-estimation), a
worker right ``DEFAULT_ACCURACY`` of the time with errors spread evenly. Two agreeing answers
out of four classes are then 0.94 sure, not the 100 % a vote share would say. The submit path
(``labeling/quality/services/scoring.py``) and ``bench/adaptive_overlap.py`` both decide through
:func:`item_posteriors` and :meth:`OverlapPolicy.needs_more`.
"""

from dataclasses import dataclass

import numpy as np

from labeling.consolidation.dawid_skene import posteriors_from_confusions

# A worker without an estimate yet is taken to be right this often (errors spread evenly).
DEFAULT_ACCURACY = 0.7


@dataclass(frozen=True)
class OverlapPolicy:
    min_workers: int
    max_workers: int
    target_confidence: float

    def __post_init__(self):
        if not 1 <= self.min_workers <= self.max_workers:
            raise ValueError("need 1 <= min_workers <= max_workers")
        if not 0.0 <= self.target_confidence <= 1.0:
            raise ValueError("target_confidence must be in [0, 1]")

    def needs_more(self, answers: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        """True where an item should be offered to one more worker."""
        answers = np.asarray(answers)
        confidence = np.asarray(confidence)
        below_min = answers < self.min_workers
        unsure = (confidence < self.target_confidence) & (answers < self.max_workers)
        return below_min | unsure

    def is_done(self, answers: int, confidence: float) -> bool:
        return not bool(self.needs_more(np.array([answers]), np.array([confidence]))[0])


@dataclass(frozen=True)
class WorkerEstimates:
    """What a re-estimation stored: a confusion matrix per worker and the class priors.

    ``known`` is False for a worker with no stored matrix; they count as the default worker.
    """

    confusions: np.ndarray  # (n_workers, K true, K answered), rows sum to 1
    known: np.ndarray  # (n_workers,) bool
    priors: np.ndarray | None = None  # (K,), None: every class alike


def default_confusion(n_classes: int, accuracy: float = DEFAULT_ACCURACY) -> np.ndarray:
    """A worker right ``accuracy`` of the time, errors spread evenly over the other classes."""
    off = (1.0 - accuracy) / max(n_classes - 1, 1)
    matrix = np.full((n_classes, n_classes), off)
    np.fill_diagonal(matrix, accuracy)
    return matrix


def item_posteriors(
    items,
    workers,
    answers,
    *,
    n_items: int,
    n_classes: int,
    n_workers: int,
    estimates: WorkerEstimates | None,
) -> np.ndarray:
    """``(n_items, K)`` class posteriors of items from their answers under stored estimates.

    ``workers`` index ``estimates.confusions``; with no estimates at all every worker is the
    default worker and every class equally likely a priori.
    """
    items = np.asarray(items, dtype=np.int64)
    workers = np.asarray(workers, dtype=np.int64)
    answers = np.asarray(answers, dtype=np.int64)
    default = default_confusion(n_classes)
    if estimates is None:
        confusions = np.broadcast_to(default, (max(n_workers, 1), n_classes, n_classes))
        priors = np.full(n_classes, 1.0 / n_classes)
    else:
        known = np.asarray(estimates.known, dtype=bool)[:, None, None]
        confusions = np.where(known, estimates.confusions, default)
        priors = estimates.priors
        if priors is None or len(priors) != n_classes:
            priors = np.full(n_classes, 1.0 / n_classes)
        priors = np.asarray(priors, dtype=np.float64) / np.sum(priors)
    # A stored matrix may hold exact zeros after rounding: keep every log finite.
    confusions = np.clip(confusions, 1e-6, None)
    return posteriors_from_confusions(
        items, workers, answers, n_items=n_items, confusions=confusions, priors=priors
    )
