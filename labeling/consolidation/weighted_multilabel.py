"""Weighted votes for multi-label answers: a label is in when its weighted share reaches half.

Each answer is a 0/1 row over the job's labels; each answer has a weight (a worker's estimated
reliability, or 1). Per item and label, the weighted share of answers that chose the label
is that label's confidence; the label is chosen when the share is at least ``threshold``.
"""

import numpy as np

DEFAULT_THRESHOLD = 0.5
WEIGHTED_MULTILABEL = "weighted-multilabel-vote"
# A worker estimated right this often (or more) weighs as much as one at the cap: an EM
# estimate of 1.0 must not make one worker outvote any number of others.
MAX_RELIABILITY = 0.99


def log_odds_weights(accuracies, *, max_reliability: float = MAX_RELIABILITY) -> np.ndarray:
    """Each worker's vote weight from their estimated accuracy ``p``: ``log(p / (1 - p))``.

    Under a one-coin model (a worker gets each class's yes/no right with probability ``p``,
    independently), summing these weights over the yes votes and comparing with the no votes
    is the most probable decision. A worker at or below chance (``p <= 0.5``) weighs 0.
    """
    p = np.clip(np.asarray(accuracies, dtype=np.float64), 0.5, max_reliability)
    return np.log(p / (1.0 - p))


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


def weighted_item_vote(chosen, weights) -> np.ndarray | None:
    """One item's weighted share per class (``chosen`` is ``(n_workers, n_classes)``), or
    None when no answer carries weight (then the caller votes unweighted)."""
    chosen = np.asarray(chosen, dtype=bool)
    weights = np.asarray(weights, dtype=np.float64)
    if chosen.shape[0] == 0 or weights.shape[0] != chosen.shape[0] or weights.sum() <= 0:
        return None
    _, share = weighted_multilabel(
        np.zeros(chosen.shape[0], dtype=np.int64), chosen, n_items=1, weights=weights
    )
    return share[0]
