"""Multi-label consolidation: every class is its own vote.

``multilabel_vote`` keeps a class when more than ``threshold`` of the item's workers chose
it, with the confidence of each class's decision (the share agreeing with it). The image
types call ``consolidate_multilabel``, which keeps a class at ``min_share`` or more (a tie
among an even number of workers keeps the class) and returns the kept indices.
"""

import numpy as np

MULTILABEL_VOTE = "multilabel-vote"
DEFAULT_MIN_SHARE = 0.5


def _checked(chosen: np.ndarray) -> np.ndarray:
    chosen = np.asarray(chosen, dtype=bool)
    if chosen.ndim != 2:
        raise ValueError("chosen must be a 2-D array (workers x classes)")
    return chosen


def multilabel_vote(
    chosen: np.ndarray, *, threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``chosen`` is a boolean ``(n_workers, n_classes)`` array of one item's answers.

    Returns the classes kept (boolean per class), each class's share of votes, and the
    confidence of each class's decision (the share agreeing with it, in [0, 1]).
    """
    chosen = _checked(chosen)
    if chosen.shape[0] == 0:
        empty = np.zeros(chosen.shape[1])
        return empty.astype(bool), empty, empty
    share = chosen.mean(axis=0)
    kept = share > threshold
    confidence = np.where(kept, share, 1.0 - share)
    return kept, share, confidence


def consolidate_multilabel(
    chosen: np.ndarray, *, min_share: float = DEFAULT_MIN_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    """The kept class indices (at least ``min_share`` of the workers picked them; with no
    worker, none is) and the share of each class (all classes)."""
    chosen = _checked(chosen)
    if chosen.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(chosen.shape[1])
    shares = chosen.mean(axis=0)
    return np.flatnonzero(shares >= min_share - 1e-9), shares
