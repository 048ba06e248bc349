"""Adaptive overlap: which items still need answers, given what their answers say so far.

An item collects at least ``min_workers`` answers; then it stops as soon as its posterior
confidence reaches ``target_confidence``, and keeps collecting while it stays below (workers
disagree) until it has ``max_workers``. Pure, vectorised over items.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OverlapPolicy:
    min_workers: int
    max_workers: int
    target_confidence: float

    def __post_init__(self):
        if not 1 <= self.min_workers <= self.max_workers:
            raise ValueError("need 1 <= min_workers <= max_workers")
        if not 0.0 < self.target_confidence <= 1.0:
            raise ValueError("target_confidence must be in (0, 1]")

    def needs_more(self, answers: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        """True where an item should be offered to one more worker."""
        answers = np.asarray(answers)
        confidence = np.asarray(confidence)
        below_min = answers < self.min_workers
        unsure = (confidence < self.target_confidence) & (answers < self.max_workers)
        return below_min | unsure

    def is_done(self, answers: int, confidence: float) -> bool:
        return not bool(self.needs_more(np.array([answers]), np.array([confidence]))[0])
