"""Multi-label answers -> the classes enough workers chose, each with the share that chose it."""

import numpy as np

DEFAULT_MIN_SHARE = 0.5


def consolidate_multilabel(
    chosen: np.ndarray, *, min_share: float = DEFAULT_MIN_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    """``chosen`` is a boolean (n_workers, n_classes) matrix: who picked which class.

    Returns the kept class indices (a class is kept when at least ``min_share`` of the
    workers picked it; with no worker, none is) and the share of each class (all classes).
    """
    chosen = np.asarray(chosen, dtype=bool)
    if chosen.ndim != 2:
        raise ValueError("chosen must be a 2-D array (workers x classes)")
    if chosen.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(chosen.shape[1])
    shares = chosen.mean(axis=0)
    kept = np.flatnonzero(shares >= min_share - 1e-9)
    return kept, shares
