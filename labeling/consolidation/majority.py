"""Majority vote: the most chosen class wins, its share of the votes is the confidence.

Ties go to the class listed first in the job's labels, so the result never depends on the
order in which answers arrived.
"""

import numpy as np

from labeling.consolidation.base import MISSING, register_strategy


class MajorityVote:
    name = "majority"

    def consolidate(
        self, votes: np.ndarray, n_classes: int, worker_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        votes = np.asarray(votes, dtype=np.int64)
        if votes.ndim != 2:
            raise ValueError("votes must be a 2-D array (items x answers)")
        if votes.size and (votes.max() >= n_classes or votes.min() < MISSING):
            raise ValueError("a vote names a class outside 0..n_classes-1")
        counts = np.zeros((votes.shape[0], n_classes), dtype=np.int64)
        rows, cols = np.nonzero(votes != MISSING)
        np.add.at(counts, (rows, votes[rows, cols]), 1)
        totals = counts.sum(axis=1)
        # argmax returns the first maximum: the tie-break by label order.
        winners = counts.argmax(axis=1)
        top = counts[np.arange(votes.shape[0]), winners]
        confidence = np.divide(
            top, totals, out=np.zeros(votes.shape[0], dtype=np.float64), where=totals > 0
        )
        winners = np.where(totals > 0, winners, MISSING)
        return winners, confidence


register_strategy(MajorityVote())
