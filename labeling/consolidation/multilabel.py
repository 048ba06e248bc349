"""Multi-label consolidation: every class is its own vote.

A class is in the consolidated answer when more than ``threshold`` of the item's workers
chose it; its confidence is the share of workers who agree with that decision.
"""

import numpy as np

MULTILABEL_VOTE = "multilabel-vote"


def multilabel_vote(
    chosen: np.ndarray, *, threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``chosen`` is a boolean ``(n_workers, n_classes)`` array of one item's answers.

    Returns the classes kept (boolean per class), each class's share of votes, and the
    confidence of each class's decision (the share agreeing with it, in [0, 1]).
    """
    chosen = np.asarray(chosen, dtype=bool)
    if chosen.ndim != 2:
        raise ValueError("chosen must be a 2-D array (workers x classes)")
    if chosen.shape[0] == 0:
        empty = np.zeros(chosen.shape[1])
        return empty.astype(bool), empty, empty
    share = chosen.mean(axis=0)
    kept = share > threshold
    confidence = np.where(kept, share, 1.0 - share)
    return kept, share, confidence
