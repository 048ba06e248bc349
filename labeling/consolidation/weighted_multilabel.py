"""Weighted votes for multi-label answers: a label is in when its weighted share reaches half.

Each answer is a 0/1 row over the job's labels; each answer has a weight (a worker's estimated
reliability, or 1). Per item and label, the weighted share of answers that chose the label
is that label's confidence; the label is chosen when the share is at least ``threshold``.
"""

import numpy as np

DEFAULT_THRESHOLD = 0.5


def weighted_multilabel(
    items,
    chosen,
    *,
    n_items: int,
    weights=None,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(selected, share)``, both ``(n_items, n_labels)``.

    ``items`` (n_answers,) says whose item each answer is; ``chosen`` (n_answers, n_labels)
    holds 0/1; ``weights`` (n_answers,) defaults to ones. An item with no answers gets no
    label and a share of 0.
    """
    items = np.asarray(items, dtype=np.int64)
    chosen = np.asarray(chosen, dtype=np.float64)
    if chosen.ndim != 2 or chosen.shape[0] != items.shape[0]:
        raise ValueError("chosen must be (n_answers, n_labels), one row per answer")
    weights = np.ones(items.shape[0]) if weights is None else np.asarray(weights, np.float64)
    if (weights < 0).any():
        raise ValueError("weights must not be negative")
    n_labels = chosen.shape[1]
    weighted_yes = np.zeros((n_items, n_labels))
    np.add.at(weighted_yes, items, chosen * weights[:, None])
    weight_total = np.bincount(items, weights=weights, minlength=n_items)
    share = np.divide(
        weighted_yes,
        weight_total[:, None],
        out=np.zeros_like(weighted_yes),
        where=weight_total[:, None] > 0,
    )
    return share >= threshold, share
